"""The one adapter over llama.cpp (transcripts/llama_model.py): built from llama.cpp's C API with the parameters wgbot
needs, and a loud failure when an upgraded llama-cpp-python no longer has a function the adapter or the decoder
calls (instead of a crash in the middle of a meeting)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from transcripts import llama_model
from transcripts.llama_model import LlamaLoadError, LlamaModel
from transcripts.model_files import llm_model_path

TINY = "smollm2-135m-q8_0"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    loaded = LlamaModel(llm_model_path(TINY), n_ctx=1024, n_batch=128, n_ubatch=128, threads=1, n_seq_max=4)
    yield loaded
    loaded.close()


def test_the_context_has_the_sequences_and_the_size_asked_for(model):
    assert model.n_seq_max == 4 and model.n_ctx == 1024 and model.n_batch == 128
    assert model.n_vocab > 1000


def test_text_survives_tokenize_and_detokenize_and_the_chat_template_is_read(model):
    text = "Alice will send the invite on Monday — ünïcode too."
    tokens = model.tokenize(text.encode(), add_bos=False, special=False)
    assert len(tokens) > 5 and model.detokenize(tokens).decode() == text
    assert "{%" in model.metadata("tokenizer.chat_template")
    assert model.metadata("no.such.key") is None
    assert model.token_text(model.eos)  # the end-of-sequence token has a name the chat template uses


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(LlamaLoadError, match="could not load"):
        LlamaModel(fake, n_ctx=256, n_batch=32, n_ubatch=32, threads=1, n_seq_max=1)


def test_every_llama_cpp_function_wgbot_calls_exists_in_the_installed_bindings():
    called: set[str] = set()
    for module in ("transcripts/llama_model.py", "transcripts/decoding.py", "transcripts/llama_backend.py"):
        called |= set(re.findall(r"\blib\.(llama_\w+|LLAMA_\w+)", (ROOT / module).read_text()))
    assert len(called) > 15  # the scan found the calls
    missing = sorted(name for name in called if not hasattr(llama_cpp, name))
    assert not missing, f"llama-cpp-python {llama_cpp.__version__} lacks {missing}: update transcripts/llama_model.py"


def test_llama_cpps_own_messages_go_to_the_log_not_the_console(caplog):
    """What llama.cpp prints while loading (buffer sizes, vocabulary notes) is detail for the log file: nothing
    reaches a one-shot command's console, which shows warnings and errors only."""
    import logging

    with caplog.at_level(logging.DEBUG, logger="llama.cpp"):
        LlamaModel(llm_model_path(TINY), n_ctx=512, n_batch=64, n_ubatch=64, threads=1, n_seq_max=1).close()
    ours = [r for r in caplog.records if r.name == "llama.cpp"]
    assert ours, "llama.cpp's messages are routed into Python logging"
    assert all(r.levelno < logging.WARNING for r in ours), [r.getMessage() for r in ours if r.levelno >= 30]


def test_the_ggml_functions_that_load_a_portable_builds_cpu_backend_exist():
    """The portable build (Docker) loads its CPU variant through these two libggml functions."""
    from transcripts import llama_backend

    lib = llama_backend._libggml()
    for name in ("ggml_backend_reg_count", "ggml_backend_load_all_from_path"):
        assert hasattr(lib, name), name
    assert llama_backend.ensure_cpu_backend() >= 1  # this build links its CPU backend in


def _resident_kib(path: Path) -> int:
    """The kernel's count of the file's pages this process holds (/proc/self/smaps, Rss of each mapping of it)."""
    total, ours = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            ours = len(fields) == 6 and fields[5] == str(path.resolve())
        elif ours and fields[0] == "Rss:":
            total += int(fields[1])
    return total


def _next_token_logits(model: LlamaModel, text: str) -> np.ndarray:
    return _logits_after(model, model.tokenize(text.encode(), add_bos=True, special=False))


def _logits_after(model: LlamaModel, tokens: list[int]) -> np.ndarray:
    """The logits after `tokens`, read after what the context holds (one token: the 1-row kernels)."""
    array = (llama_cpp.llama_token * len(tokens))(*tokens)
    assert llama_cpp.llama_decode(model.ctx, llama_cpp.llama_batch_get_one(array, len(tokens))) == 0
    return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(model.ctx, -1), shape=(model.n_vocab,)).copy()


def _logits_at_every_position(model: LlamaModel, tokens: list[int]) -> np.ndarray:
    """Logits after each token, all tokens in one batch (so llama.cpp's 4-row matrix kernels do the work)."""
    batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
    try:
        for i, token in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, i, 1, True
            batch.seq_id[i][0] = 0
        batch.n_tokens = len(tokens)
        assert llama_cpp.llama_decode(model.ctx, batch) == 0
        rows = [
            np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(model.ctx, i), shape=(model.n_vocab,))
            for i in range(len(tokens))
        ]
        return np.array(rows)
    finally:
        llama_cpp.llama_batch_free(batch)


def test_the_weights_repacked_for_this_cpu_compute_what_llama_cpps_plain_path_computes(caplog):
    """With its extra buffer types llama.cpp repacks the Q8_0 weights for the CPU: AMX where there is AMX, otherwise
    wgbot's AVX2 kernels for x86, with AVX-512 VNNI's dot product where there is one
    (scripts/llama-cpp-q8_0-x86-repack.patch). Without them the same weights
    go through llama.cpp's plain path (its own dot products, which wgbot did not touch): the reference. A prompt
    read in one batch (the 4-row kernel) and one token after it (the 1-row kernel) must give the plain path's logits
    within quantization noise, and its next token wherever its choice is clear. The noise: every layer quantizes
    its input to int8 again, so a different order of float sums flips some roundings and the logits move by up to
    about 1 (llama.cpp's own generic kernels for this layout move them as much; a wrong scale or row order moves
    them by tens)."""
    import logging

    said = (
        "Alice will send the invite on Monday. Bob, could you review the pull request before Friday? Sure, I can do "
        "that. We agreed to move the meeting to Thursdays."
    )
    prompt = f"Minutes of the call: {said} Again, word for word: {said}"  # the repeat's next tokens are clear
    logits = {}
    for repacked in (True, False):
        with caplog.at_level(logging.DEBUG, logger="llama.cpp"):
            caplog.clear()
            loaded = LlamaModel(
                llm_model_path(TINY),
                n_ctx=256,
                n_batch=128,
                n_ubatch=128,
                threads=2,
                n_seq_max=1,
                extra_buffers=repacked,
            )
        buffers = " ".join(r.getMessage() for r in caplog.records if "model buffer size" in r.getMessage())
        assert (("CPU_REPACK" in buffers) or ("AMX" in buffers)) is repacked, buffers
        try:
            tokens = loaded.tokenize(prompt.encode(), add_bos=True, special=False)
            # an odd number of 4-row groups: the x86 kernel's 8-row tiles and its 4-row tile both run
            assert len(tokens) // 4 % 2 == 1, len(tokens)
            batched = _logits_at_every_position(loaded, tokens)
            after = _logits_after(loaded, [int(np.argmax(batched[-1]))])
            logits[repacked] = np.vstack([batched, after])
        finally:
            loaded.close()
    repacked, plain = logits[True], logits[False]
    spread = plain.max(axis=1) - plain.min(axis=1)
    assert np.all(np.abs(repacked - plain).max(axis=1) < 0.08 * spread)
    top_two = np.sort(plain, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 2.5
    assert clear.sum() >= 10
    np.testing.assert_array_equal(repacked[clear].argmax(axis=1), plain[clear].argmax(axis=1))


def test_the_mapped_file_is_given_back_during_the_load_and_the_weights_stay_whole(tmp_path, monkeypatch):
    """llama.cpp maps the file with every page faulted in; the loader gives the pages back as it reads them (the
    repacked tensors are copies, the others fault back in where used), so the file is not held resident beside
    the weights. The model computes the same logits as one loaded with the pages kept."""
    path = tmp_path / "model.gguf"  # a file no other test's model has mapped
    shutil.copyfile(llm_model_path(TINY), path)
    size_kib = path.stat().st_size // 1024
    prompt = "The working group agreed to ship the release on"
    loaded = LlamaModel(path, n_ctx=256, n_batch=64, n_ubatch=64, threads=1, n_seq_max=1)
    try:
        assert _resident_kib(path) < size_kib // 10
        released = _next_token_logits(loaded, prompt)
    finally:
        loaded.close()

    monkeypatch.setattr(llama_model, "_page_releaser", lambda path: None)
    kept = LlamaModel(path, n_ctx=256, n_batch=64, n_ubatch=64, threads=1, n_seq_max=1)
    try:
        assert _resident_kib(path) > size_kib * 9 // 10  # what the load holds without giving pages back
        np.testing.assert_array_equal(_next_token_logits(kept, prompt), released)
    finally:
        kept.close()


def test_a_parameter_the_installed_llama_cpp_lacks_is_an_error_not_ignored():
    from transcripts.llama_model import _set_fields

    params = llama_cpp.llama_model_default_params()
    with pytest.raises(LlamaLoadError, match="no llama_model_params field use_mmap"):
        _set_fields(params, n_gpu_layers=0, use_mmap=False)
