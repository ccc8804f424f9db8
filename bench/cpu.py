"""The CPU a benchmark ran on, in one line: model name, cores, and the vector units that decide the kernels used."""

from __future__ import annotations

import os
import platform

FEATURES = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


def cpu_line() -> str:
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and ":" in line:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and ":" in line:
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    have = [f for f in FEATURES if f in flags]
    amx = "AMX" if "amx_tile" in flags else "no AMX"
    return f"CPU: {name}, {os.cpu_count()} cores, {amx}; features: {' '.join(have) or 'none of ' + ' '.join(FEATURES)}"
