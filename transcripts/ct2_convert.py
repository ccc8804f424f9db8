"""Convert a CTranslate2 Whisper model (model.bin) to an openai-whisper checkpoint, once, offline.

The offline Whisper weights ship only in CTranslate2's format. openai-whisper loads a torch file
``{"dims": {...}, "model_state_dict": {...}}``; the weights are the same numbers under other names, except that
CTranslate2 fuses attention projections (self-attention: query|key|value in one matrix; cross-attention:
key|value) and gives the key projection a zero bias that openai-whisper does not have. The fused matrices are split
back here. Weights are stored as float32 (openai-whisper on CPU computes in fp32).

    path = openai_checkpoint("base")     # cached in model_files.cache_dir()
    model = whisper.load_model(str(path))

The CTranslate2 file format (model_spec.py `_serialize`, binary version 6): uint32 version, string spec name,
uint32 revision, uint32 variable count, then per variable: string name, uint8 rank, uint32 dims, uint8 dtype id,
uint32 byte count, raw bytes; then uint32 alias count and (alias, target) string pairs. Strings are a uint16
length (including a trailing NUL) and the UTF-8 bytes.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np

from .errors import EngineError

log = logging.getLogger(__name__)

# CTranslate2's DataType enum order (include/ctranslate2/types.h)
_DTYPES: dict[int, type[np.generic] | Literal["bfloat16"]] = {
    0: np.float32,
    1: np.int8,
    2: np.int16,
    3: np.int32,
    4: np.float16,
    5: "bfloat16",
}
_CONVERTER_VERSION = 1  # bump when the output changes, so cached conversions are redone


def read_ct2_variables(model_bin: str | Path) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model.bin as numpy arrays (aliases resolved)."""
    model_bin = Path(model_bin)
    data = memoryview(model_bin.read_bytes())
    pos = 0

    def take(fmt: str):
        nonlocal pos
        value = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return value[0]

    def string() -> str:
        nonlocal pos
        length = take("<H")
        text = bytes(data[pos : pos + length - 1]).decode("utf-8")
        pos += length
        return text

    try:
        version = take("<I")
        if version < 5 or version > 6:
            raise EngineError(f"{model_bin}: CTranslate2 binary version {version} is not supported (5 or 6)")
        spec = string()
        if spec != "WhisperSpec":
            raise EngineError(f"{model_bin}: a {spec}, not a Whisper model")
        take("<I")  # revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(take("<I")):
            name = string()
            shape = [take("<I") for _ in range(take("<B"))]
            dtype_id = take("<B")
            size = take("<I")
            raw = data[pos : pos + size]
            pos += size
            dtype = _DTYPES.get(dtype_id)
            if dtype is None:
                raise EngineError(f"{model_bin}: variable {name} has unknown dtype id {dtype_id}")
            if dtype == "bfloat16":
                bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=dtype)
            variables[name] = array.reshape(shape) if shape else array.reshape(())
        for _ in range(take("<I")):
            alias, target = string(), string()
            variables[alias] = variables[target]
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise EngineError(f"{model_bin}: not a readable CTranslate2 model ({exc})") from None
    return variables


def _weight(v: dict[str, np.ndarray], scope: str) -> np.ndarray:
    """A float32 weight, de-quantized when CTranslate2 stored it as int8/int16 with per-row scales."""
    weight = v[f"{scope}/weight"]
    if weight.dtype in (np.int8, np.int16):
        scale = v[f"{scope}/weight_scale"].astype(np.float32)
        return weight.astype(np.float32) / scale.reshape(-1, *([1] * (weight.ndim - 1)))
    return weight.astype(np.float32)


def ct2_to_openai_state(variables: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """(dims, state_dict as numpy float32) for openai-whisper from CTranslate2 Whisper variables."""
    v = variables
    state: dict[str, np.ndarray] = {}

    def linear(dest: str, scope: str) -> None:
        state[f"{dest}.weight"] = _weight(v, scope)
        if f"{scope}/bias" in v:
            state[f"{dest}.bias"] = v[f"{scope}/bias"].astype(np.float32)

    def norm(dest: str, scope: str) -> None:
        state[f"{dest}.weight"] = v[f"{scope}/gamma"].astype(np.float32)
        state[f"{dest}.bias"] = v[f"{scope}/beta"].astype(np.float32)

    def split(dest: str, scope: str, names: list[str]) -> None:
        weight = _weight(v, scope)
        bias = v[f"{scope}/bias"].astype(np.float32)
        for i, (w, b) in enumerate(zip(np.split(weight, len(names)), np.split(bias, len(names)))):
            state[f"{dest}.{names[i]}.weight"] = w
            if names[i] != "key":  # openai-whisper's key projection has no bias (CTranslate2 stores zeros)
                state[f"{dest}.{names[i]}.bias"] = b

    def count(prefix: str) -> int:
        n = 0
        while f"{prefix}/layer_{n}/ffn/linear_0/weight" in v:
            n += 1
        return n

    n_audio_layer, n_text_layer = count("encoder"), count("decoder")
    if not n_audio_layer or not n_text_layer:
        raise EngineError("not a Whisper model: no encoder or decoder layers found")

    # encoder
    for i in (1, 2):
        state[f"encoder.conv{i}.weight"] = _weight(v, f"encoder/conv{i}")
        state[f"encoder.conv{i}.bias"] = v[f"encoder/conv{i}/bias"].astype(np.float32)
    state["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"].astype(np.float32)
    for i in range(n_audio_layer):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        split(f"{dst}.attn", f"{src}/self_attention/linear_0", ["query", "key", "value"])
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("encoder.ln_post", "encoder/layer_norm")

    # decoder
    state["decoder.token_embedding.weight"] = _weight(v, "decoder/embeddings")
    state["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"].astype(np.float32)
    for i in range(n_text_layer):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        split(f"{dst}.attn", f"{src}/self_attention/linear_0", ["query", "key", "value"])
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        split(f"{dst}.cross_attn", f"{src}/attention/linear_1", ["key", "value"])
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")

    audio_pos = state["encoder.positional_embedding"]
    text_pos = state["decoder.positional_embedding"]
    dims = {
        "n_mels": int(state["encoder.conv1.weight"].shape[1]),
        "n_audio_ctx": int(audio_pos.shape[0]),
        "n_audio_state": int(audio_pos.shape[1]),
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": int(state["decoder.token_embedding.weight"].shape[0]),
        "n_text_ctx": int(text_pos.shape[0]),
        "n_text_state": int(text_pos.shape[1]),
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return dims, state


def convert(ct2_dir: str | Path, dest: str | Path) -> Path:
    """Write an openai-whisper checkpoint for the CTranslate2 model folder `ct2_dir` to `dest` (atomically)."""
    import torch

    ct2_dir, dest = Path(ct2_dir), Path(dest)
    model_bin = ct2_dir / "model.bin"
    if not model_bin.is_file():
        raise EngineError(f"{ct2_dir}: no model.bin (not a CTranslate2 model folder)")
    dims, state = ct2_to_openai_state(read_ct2_variables(model_bin))
    alignment_heads = None
    config = ct2_dir / "config.json"
    if config.is_file():
        alignment_heads = json.loads(config.read_text()).get("alignment_heads")
    checkpoint = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in state.items()},
        # not part of openai-whisper's format (load_model ignores it); our engine applies it after loading, so word
        # timestamps use the same attention heads as faster-whisper
        "alignment_heads": alignment_heads,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    os.close(fd)
    try:
        torch.save(checkpoint, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("converted %s to an openai-whisper checkpoint at %s", ct2_dir, dest)
    return dest


def openai_checkpoint(model: str) -> Path:
    """The openai-whisper checkpoint for `model` (a name `model_files.whisper_model_dir` knows, or a CT2 folder).

    Converted on first use and cached in `model_files.cache_dir()`; redone when the source model.bin changes.
    """
    from .model_files import cache_dir, whisper_model_dir

    source = Path(whisper_model_dir(model))
    if not (source / "model.bin").is_file():
        raise EngineError(
            f"openai-whisper engine: model {model!r} is not available offline as a CTranslate2 folder "
            f"(give tiny.en, base, or a folder with model.bin)"
        )
    stat = (source / "model.bin").stat()
    stamp = f"v{_CONVERTER_VERSION}-{stat.st_size}-{stat.st_mtime_ns}"
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in (model if "/" not in model else source.name))
    dest = cache_dir() / f"openai-whisper-{safe}.pt"
    marker = dest.with_name(dest.name + ".source")
    if dest.exists() and marker.exists() and marker.read_text() == stamp:
        return dest
    convert(source, dest)
    marker.write_text(stamp)
    return dest
