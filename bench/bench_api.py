"""Timings of the api contract on a 16-task job (the provider's budget is < 2 ms for check +
diff of an unchanged job): parse_job (which gives the normal form), check_job, ``.wire`` (the
normal form as the dict that is stored and diffed), loading a stored spec back as the type (what
the scheduler does per job it adopts), and json.loads as a baseline."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api import JobDescription, check_job, parse_job

SEED = Path(__file__).resolve().parents[1] / "tests" / "api" / "data" / "seed_job.json"


def sixteen_task_job() -> dict[str, Any]:
    seed = json.loads(SEED.read_text())
    task = seed["DAG"]["Tasks"]["taskA"]
    names = [f"task{i:02d}" for i in range(16)]
    seed["DAG"]["Tasks"] = {n: copy.deepcopy(task) for n in names}
    seed["DAG"]["Dependencies"] = {names[i]: [names[i + 1]] for i in range(15)}
    return seed


def per_call_ms(fn: Callable[[], object], rounds: int = 300) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds // 5):
            fn()
        best = min(best, (time.perf_counter() - started) / (rounds // 5))
    return best * 1000


def main() -> None:
    body = sixteen_task_job()
    raw = json.dumps(body).encode()
    job = parse_job(body)
    stored = job.wire
    stored_json = json.dumps(stored)
    figures = {
        "json.loads (baseline)": per_call_ms(lambda: json.loads(raw)),
        "check_job": per_call_ms(lambda: check_job(body)),
        "parse_job": per_call_ms(lambda: parse_job(body)),
        ".wire": per_call_ms(lambda: job.wire),
        "parse_job + .wire": per_call_ms(lambda: parse_job(body).wire),
        "load stored dict": per_call_ms(lambda: JobDescription.model_validate(stored)),
        "load stored JSON": per_call_ms(lambda: JobDescription.model_validate_json(stored_json)),
    }
    base = figures["json.loads (baseline)"]
    print(f"16-task job, {len(raw)} bytes of JSON (best of 5 batches)")
    for name, ms in figures.items():
        print(f"  {name:28s} {ms:7.3f} ms/job   x{ms / base:6.1f} json.loads")


if __name__ == "__main__":
    main()
