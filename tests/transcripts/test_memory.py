"""Freed memory goes back to the system when a model is let go, so the next model does not come on top of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import numpy as np
from transcripts.memory import release_freed_memory

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

before = rss_mb()
# 300 MB in pieces small enough for glibc's heap, with a piece kept after them (as a model's buffers interleave
# with everything else): freeing them leaves the pages to the process unless it is told to give them back
pieces = [np.ones(16_000, np.float32) for _ in range(4_800)]
pin = np.ones(16_000, np.float32)
del pieces
freed = rss_mb()
release_freed_memory()
print(before, freed, rss_mb())
"""


def test_releasing_freed_memory_hands_the_pages_back():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, freed, released = map(float, done.stdout.split())
    assert freed - before > 200, "the freed pieces stay with the process until released (else nothing is tested)"
    assert released - before < 50
