"""Giving freed memory back to the system, so that a process which held one model does not keep its pages while it
loads the next (Whisper, then the summary model: each needs most of what a process may take)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def release_freed_memory() -> None:
    gc.collect()  # a model in a reference cycle would otherwise hold its memory until the next collection
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # glibc keeps freed heap pages for reuse; malloc_trim hands the unused ones back (no-op elsewhere)
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
