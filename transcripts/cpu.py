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


def share_cores() -> None:
    """Say that this process shares the CPU with other heavy work (the live workers: Whisper and the summary model
    run side by side during a call). The OpenMP runtimes loaded after this (llama.cpp's, CTranslate2's, torch's)
    then put a waiting thread to sleep at once. By default a waiting thread spins a little first: with the cores to
    itself that saves a wake-up at each of the few hundred steps of a model's forward pass, but a spinning thread
    that has lost its core to the other work stalls every step. Takes effect only before a runtime is loaded, and
    keeps a policy the user set."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _cgroup_cpu_limit(count: int) -> int:
    # A container limited to 2 CPUs on a 64-core host must not start 64 threads.
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            return max(1, min(count, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def cpu_flags() -> set[str]:
    """The CPU's feature flags (/proc/cpuinfo); empty where they cannot be read."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") and ":" in line:
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_amx() -> bool:
    return "amx_int8" in cpu_flags()


def cpu_line() -> str:
    """The CPU a benchmark ran on, in one line: model name, cores and the vector units that decide the kernels."""
    name = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    flags = cpu_flags()
    have = [f for f in FEATURES if f in flags]
    amx = "AMX" if "amx_tile" in flags else "no AMX"
    return f"CPU: {name}, {available_threads()} threads, {amx}; features: {' '.join(have) or 'none of ' + ' '.join(FEATURES)}"
