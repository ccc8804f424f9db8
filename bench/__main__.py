"""`make bench` / `python -m bench [NAME ...]`: run the benchmarks, each in its own process (clean peak RSS).

NAME is a file's stem without `bench_` (receive, transcribe, minutes, pipeline); none runs them all. Each prints
its own table with ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    available = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    wanted = argv or list(available)
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in wanted:
        print(f"\n=== bench/{available[name].name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(available[name])], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
