"""A GGUF model, its context and its batch, built through llama.cpp's C API (llama-cpp-python's low-level bindings,
the documented `llama_cpp.llama_cpp` functions): the one module that holds llama.cpp handles.

wgbot needs what the high-level `llama_cpp.Llama` has no option for: several sequences in one unified KV cache (for
answers decoded side by side, `transcripts.decoding`), on an AMX CPU with a llama.cpp that is not fixed no
repacked weights, and a load that gives the mapped file's pages back as it reads them. Building the three objects
here takes those as arguments: no private attribute of `Llama` is read and nothing in the library is patched."""

from __future__ import annotations

import ctypes
import logging
import mmap
import os
import sys
import threading
import weakref
from pathlib import Path

from transcripts.llama_backend import ensure_cpu_backend

_backend_lock = threading.Lock()
_backend_ready = False
_log_callback = None  # kept referenced: llama.cpp calls it for as long as the process lives
llama_log = logging.getLogger("llama.cpp")
# ggml's log levels (ggml.h): 1 debug, 2 info, 3 warning, 4 error, 5 continues the previous message. Its warnings
# are about model files and buffers (e.g. a vocabulary quirk of the shipped Qwen), nothing a user can act on: they
# go to the log file with its info lines; its errors reach the console.
_LOG_LEVELS = {1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.ERROR}
_CONTINUATION = 5


class LlamaLoadError(RuntimeError):
    """The model file could not be loaded, or llama.cpp refused the context."""


def _lib():
    import llama_cpp

    return llama_cpp


def _route_llama_logs() -> None:
    """llama.cpp's own messages go to Python logging ("llama.cpp"), not straight to the console."""
    global _log_callback
    lib = _lib()

    previous = [logging.DEBUG]

    @lib.llama_log_callback
    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if level != _CONTINUATION:
            previous[0] = _LOG_LEVELS.get(level, logging.DEBUG)  # llama.cpp's info lines are detail for the log
        message = text.decode("utf-8", errors="replace").rstrip()
        if message:
            llama_log.log(previous[0], "%s", message)

    _log_callback = forward
    lib.llama_log_set(forward, ctypes.c_void_p(0))


def _init_backend() -> None:
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            _route_llama_logs()
            _lib().llama_backend_init()
            _backend_ready = True
    if not ensure_cpu_backend():
        raise LlamaLoadError("llama.cpp found no CPU backend for this machine (its libggml-cpu-* files are missing)")


def _set_fields(params: ctypes.Structure, **values) -> None:
    """Set fields of a llama.cpp parameter struct. Assigning a name the struct lacks would only add a Python
    attribute that llama.cpp never sees (so it was when `use_mmap` became `load_mode`): refuse it."""
    known = {field[0] for field in type(params)._fields_}
    unknown = sorted(set(values) - known)
    if unknown:
        raise LlamaLoadError(f"this llama-cpp-python has no {type(params).__name__} field {', '.join(unknown)}")
    for name, value in values.items():
        setattr(params, name, value)


def _free(batch, ctx, model) -> None:
    lib = _lib()
    if batch is not None:
        lib.llama_batch_free(batch)
    if ctx:
        lib.llama_free(ctx)  # the context before its model
    if model:
        lib.llama_model_free(model)


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    """The address ranges where this process maps `path` (/proc/self/maps)."""
    wanted = os.path.realpath(path)
    ranges = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.rstrip("\n").split(maxsplit=5)
            if len(fields) == 6 and fields[5] == wanted:
                start, end = fields[0].split("-")
                ranges.append((int(start, 16), int(end, 16)))
    return ranges


def _page_releaser(path: Path):
    """A load progress callback that gives the mapped model file's pages back as llama.cpp reads them.

    llama.cpp maps the file with every page faulted in, then copies the tensors it repacks (AMX) into buffers of
    their own and uses the others in place. Left alone, the whole file stays resident beside the copies until the
    load ends; reading the file instead of mapping it holds every row of the token embeddings, though a meeting
    uses a few thousand of them. The mapping is shared and read-only, so a released page is not lost: it faults
    back in from the page cache where a tensor used in place is read. Linux only (elsewhere: no callback)."""
    if not sys.platform.startswith("linux"):
        return None
    lib, libc = _lib(), ctypes.CDLL(None, use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

    @lib.llama_progress_callback
    def release(progress: float, user_data: ctypes.c_void_p) -> bool:
        for start, end in _mapped_ranges(path):
            libc.madvise(start, end - start, mmap.MADV_DONTNEED)
        return True

    return release


class LlamaVocab:
    """A GGUF model's tokenizer and metadata only: llama.cpp's `vocab_only` load reads no weights, so it takes a
    fraction of a second and little memory. Enough to count tokens and build prompts (`LlamaModel` adds the rest)."""

    def __init__(self, path: Path) -> None:
        self._load(path, vocab_only=True)
        self._close = weakref.finalize(self, _free, None, None, self.model)

    def _load(self, path: Path, **params) -> None:
        lib = _lib()
        _init_backend()
        model_params = lib.llama_model_default_params()
        _set_fields(model_params, **params)
        self.model = lib.llama_model_load_from_file(str(path).encode("utf-8"), model_params)
        if not self.model:
            raise LlamaLoadError(f"llama.cpp could not load {path} (not a GGUF model, or a damaged file)")
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self.vocab))

    def close(self) -> None:
        self._close()

    # ---- tokens -----------------------------------------------------------------------------------------------

    def tokenize(self, text: bytes, *, add_bos: bool, special: bool) -> list[int]:
        lib = _lib()
        room = max(16, len(text) + 8)  # a token is at least one byte, plus BOS and specials
        tokens = (lib.llama_token * room)()
        n = lib.llama_tokenize(self.vocab, text, len(text), tokens, room, add_bos, special)
        if n < 0:  # -n tokens are needed
            room = -n
            tokens = (lib.llama_token * room)()
            n = lib.llama_tokenize(self.vocab, text, len(text), tokens, room, add_bos, special)
        if n < 0:
            raise LlamaLoadError(f"llama.cpp could not tokenize a text of {len(text)} bytes")
        return list(tokens[:n])

    def detokenize(self, tokens: list[int]) -> bytes:
        lib = _lib()
        size = 64
        buffer = (ctypes.c_char * size)()
        out = bytearray()
        for token in tokens:
            n = lib.llama_token_to_piece(self.vocab, lib.llama_token(token), buffer, size, 0, False)
            if n < 0:  # a piece longer than the buffer: -n bytes are needed
                size = -n
                buffer = (ctypes.c_char * size)()
                n = lib.llama_token_to_piece(self.vocab, lib.llama_token(token), buffer, size, 0, False)
            out += bytes(buffer[:n])
        return bytes(out)

    def token_text(self, token: int) -> str:
        return _lib().llama_vocab_get_text(self.vocab, token).decode("utf-8", errors="replace")

    @property
    def eos(self) -> int:
        return int(_lib().llama_vocab_eos(self.vocab))

    @property
    def bos(self) -> int:
        return int(_lib().llama_vocab_bos(self.vocab))

    def metadata(self, key: str) -> str | None:
        """A GGUF metadata value as text (e.g. `tokenizer.chat_template`), or None when the model has none."""
        lib = _lib()
        size = 4096
        while True:
            buffer = ctypes.create_string_buffer(size)
            n = lib.llama_model_meta_val_str(self.model, key.encode("utf-8"), buffer, size)
            if n < 0:
                return None
            if n < size:
                return buffer.value.decode("utf-8", errors="replace")
            size = n + 1


class LlamaModel(LlamaVocab):
    """Model, context (`n_seq_max` sequences in one unified KV cache) and a batch of `n_batch` tokens."""

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int,
        n_batch: int,
        n_ubatch: int,
        threads: int,
        n_seq_max: int,
        flash_attn: bool = True,
        extra_buffers: bool = True,
    ) -> None:
        lib = _lib()
        releaser = _page_releaser(path)  # referenced until the load returns: llama.cpp calls it meanwhile
        self._load(
            path,
            n_gpu_layers=0,
            load_mode=lib.LLAMA_LOAD_MODE_MMAP,
            use_extra_bufts=extra_buffers,
            **({"progress_callback": releaser} if releaser is not None else {}),
        )
        context_params = lib.llama_context_default_params()
        _set_fields(
            context_params,
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_ubatch=min(n_batch, n_ubatch),
            n_threads=threads,
            n_threads_batch=threads,
            n_seq_max=n_seq_max,
            kv_unified=True,  # sequences may share cells: a common prompt start is computed once
            flash_attn_type=lib.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attn else lib.LLAMA_FLASH_ATTN_TYPE_DISABLED,
        )
        self.ctx = lib.llama_init_from_model(self.model, context_params)
        if not self.ctx:
            _free(None, None, self.model)
            raise LlamaLoadError(f"llama.cpp refused a context of {n_ctx} tokens and {n_seq_max} sequences")
        self.batch = lib.llama_batch_init(n_batch, 0, n_seq_max)
        self.memory = lib.llama_get_memory(self.ctx)
        self.n_batch = n_batch
        self.n_ctx = int(lib.llama_n_ctx(self.ctx))
        self.n_seq_max = int(lib.llama_n_seq_max(self.ctx))
        self._close = weakref.finalize(self, _free, self.batch, self.ctx, self.model)

    @property
    def threads(self) -> int:
        return int(_lib().llama_n_threads(self.ctx))

    def set_threads(self, threads: int) -> None:
        """Compute with `threads` threads from the next batch on (prompts and generation alike)."""
        _lib().llama_set_n_threads(self.ctx, threads, threads)
