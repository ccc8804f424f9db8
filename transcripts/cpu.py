"""How many CPU threads the models may use: the CPUs this process may run on, within a container's CPU quota
(a container limited to 2 CPUs on a 64-core host must not start 64 threads). Whisper and llama.cpp both ask here."""

from __future__ import annotations

import os
from pathlib import Path


def available_threads() -> int:
    """CPU threads this process may use: the CPUs it may run on, within a container's CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    return max(1, _cgroup_cpu_limit(count))


def _cgroup_cpu_limit(count: int) -> int:
    # A container limited to 2 CPUs on a 64-core host must not start 64 threads.
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, min(count, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count
