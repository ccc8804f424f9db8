"""`make bench` / `python -m bench [NAME ...]`: run the benchmarks, each in its own process (clean peak RSS).

NAME is a file's stem without `bench_` (receive, transcribe, minutes, pipeline, quality); none runs them all but
quality (hours long on two cores). Each prints its own table with ratios against a baseline measured in the same
run. Options after the names go to each benchmark: `python -m bench quality --split measure --limit 2`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SLOW = {"quality"}  # run only when named


def main(argv: list[str]) -> int:
    available = {p.stem.removeprefix("bench_"): p for p in sorted(HERE.glob("bench_*.py"))}
    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    argv, options = argv[:first_option], argv[first_option:]
    wanted = argv or [name for name in available if name not in SLOW]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        print(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(available)}", file=sys.stderr)
        return 2
    status = 0
    for name in wanted:
        print(f"\n=== bench/{available[name].name} ===", flush=True)
        status |= subprocess.call([sys.executable, str(available[name]), *options], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
