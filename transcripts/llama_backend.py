"""llama.cpp's CPU backend, for a build that keeps it in loadable libraries (the Docker image's portable build:
`GGML_BACKEND_DL` with one library per CPU generation). Such a build registers no backend by itself, and
llama-cpp-python does not load one: this loads the best variant for the host from the package's own lib folder.
A build for one CPU (the default set-up) has the backend linked in, and nothing is done."""

from __future__ import annotations

import ctypes
import logging
import threading
from pathlib import Path

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _lib_folder() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def _libggml() -> ctypes.CDLL:
    # The libggml beside libllama: already loaded by llama_cpp, so this is the same library (dlopen shares it).
    return ctypes.CDLL(str(_lib_folder() / "libggml.so"))


def backend_count() -> int:
    lib = _libggml()
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    return int(lib.ggml_backend_reg_count())


def ensure_cpu_backend() -> int:
    """Load ggml's dynamic backends when none is registered; returns how many are registered afterwards."""
    with _lock:
        count = backend_count()
        if count:
            return count
        folder = _lib_folder()
        lib = _libggml()
        lib.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
        lib.ggml_backend_load_all_from_path.restype = None
        lib.ggml_backend_load_all_from_path(str(folder).encode())
        count = backend_count()
        log.debug("loaded %d ggml backend(s) from %s", count, folder)
        return count
