"""Run every benchmark in this folder, one after another, and print their figures.

Each ``bench_*.py`` measures its subject beside a baseline in the same run and prints figures
and ratios; nothing here asserts a timing (machines are shared and noisy).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    wanted = set(argv)
    scripts = sorted(p for p in here.glob("bench_*.py") if not wanted or p.stem in wanted)
    failures = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=here.parent)
        print(f"--- {script.stem}: exit {code}, {time.perf_counter() - started:.1f} s", flush=True)
        failures += code != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
