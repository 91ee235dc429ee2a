"""The demo worker packed into worker.tar.gz by the quickstart (never committed as a binary).

    python worker.py          read the input files, write summary.txt, print a greeting
    python worker.py split    write one file per non-empty input line
    python worker.py count    count words over the input files into counts.txt
Input and output are the task's mapped folders /home/input/ and /home/output/, which bcsd places
under BATCH_COMPUTE_LOCAL_ROOT (on a real VM that variable is unset and they are the real paths).
"""

import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(os.environ.get("BATCH_COMPUTE_LOCAL_ROOT", "/"))
INPUT = ROOT / "home" / "input"
OUTPUT = ROOT / "home" / "output"


def read_lines() -> list[str]:
    lines = []
    for path in sorted(INPUT.glob("**/*")):
        if path.is_file():
            lines += [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    return lines


def main(mode: str) -> int:
    out = OUTPUT
    out.mkdir(parents=True, exist_ok=True)
    job = os.environ.get("BATCH_COMPUTE_DAG_JOB_ID", "?")
    task = os.environ.get("BATCH_COMPUTE_DAG_TASK_ID", "?")
    lines = read_lines()
    if mode == "split":
        for i, line in enumerate(lines):
            (out / f"part-{i:03d}.txt").write_text(line + "\n")
        print(f"split {len(lines)} lines")
    elif mode == "count":
        counts = Counter(word for line in lines for word in line.lower().split())
        text = "".join(f"{w} {n}\n" for w, n in sorted(counts.items()))
        (out / "counts.txt").write_text(text)
        print(f"counted {sum(counts.values())} words, {len(counts)} distinct")
    else:
        (out / "summary.txt").write_text(f"job {job} task {task}: {len(lines)} input lines\n")
        print(f"Hello from {job}/{task}: read {len(lines)} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "summary"))
