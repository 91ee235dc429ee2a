"""Provider check+diff cost for a 16-task job, and for a stack of 1,000 unchanged such jobs.

Figures are printed beside the cost of only parsing the same specs (``api.parse_job``) in the same
run. Goal: check+diff under 2 ms per unchanged job. The in-process figures call the provider
methods as the host does (properties as they come off the wire: numbers as floats); the host
figure adds the real gRPC round trip through ``python -m pulumi.dynamic``.
"""

from __future__ import annotations

import asyncio
import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "provider"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi.runtime import rpc  # noqa: E402

import api  # noqa: E402
from bench.verdict import refuse_failed_runs, require  # noqa: E402
from provider.job_provider import JobProvider  # noqa: E402

JOBS = 1000
TASKS = 16


def spec(i: int) -> dict[str, Any]:
    tasks = {
        f"task{t:02d}": {
            "InstanceCount": 2,
            "MaxRetryCount": 1,
            "Timeout": 600,
            "InputMapping": {f"oss://bucket/in/{t}/": "/home/input/"},
            "OutputMapping": {"/home/output/": f"oss://bucket/out/{i}/{t}/"},
            "Parameters": {
                "Command": {
                    "CommandLine": f"python3 step{t}.py",
                    "PackagePath": "oss://bucket/pkg/worker.tar.gz",
                    "EnvVars": {"STEP": str(t), "JOB": str(i)},
                },
                "StdoutRedirectPath": "oss://bucket/logs/",
                "StderrRedirectPath": "oss://bucket/logs/",
            },
            "AutoCluster": {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu", "ReserveOnFail": t == 0},
        }
        for t in range(TASKS)
    }
    names = sorted(tasks)
    return {
        "Name": f"job{i}",
        "Priority": 1,
        "Type": "DAG",
        "JobFailOnInstanceFail": True,
        "Notification": {
            "Topic": {
                "Name": "t",
                "Endpoint": "http://1.mns.local/",
                "Events": ["OnJobFailed", "OnJobFinished"],
            }
        },
        "DAG": {"Tasks": tasks, "Dependencies": {names[k]: [names[k + 1]] for k in range(TASKS - 1)}},
    }


def off_the_wire(props: dict[str, Any]) -> dict[str, Any]:
    return rpc.deserialize_properties(asyncio.run(rpc.serialize_properties(props, {})))


def per_job_ms(fn, items: list) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - started) * 1000 / len(items)


def main() -> None:
    provider = JobProvider()
    news = [off_the_wire(spec(i)) for i in range(JOBS)]
    olds = [{**n, "job_id": f"job-{i}", "state": "Running", "tasks": {}} for i, n in enumerate(news)]
    raw = [spec(i) for i in range(JOBS)]
    pairs = list(zip(olds, news, strict=True))

    # the timed calls must do what a deployment relies on: specs accepted, unchanged = no change
    checked = provider.check({}, news[0])
    require(not checked.failures, f"check refused the spec: {checked.failures}")
    require(not provider.diff("job-x", *pairs[0]).changes, "diff saw a change in an unchanged job")
    parse = per_job_ms(api.parse_job, raw)
    check = per_job_ms(lambda n: provider.check({}, n), news)
    diff_same = per_job_ms(lambda p: provider.diff("job-x", p[0], p[1]), pairs)
    reordered = [(o, copy.deepcopy(dict(reversed(list(n.items()))))) for o, n in pairs[:200]]
    diff_reordered = per_job_ms(lambda p: provider.diff("job-x", p[0], p[1]), reordered)
    prio = [(o, {**n, "Priority": 2}) for o, n in pairs[:100]]
    diff_prio = per_job_ms(lambda p: provider.diff("job-x", p[0], p[1]), prio)
    cmd = []
    for o, n in pairs[:50]:
        changed = copy.deepcopy(n)
        changed["DAG"]["Tasks"]["task07"]["AutoCluster"]["InstanceType"] = "bcs.a2.xlarge"
        cmd.append((o, changed))
    diff_cmd = per_job_ms(lambda p: provider.diff("job-x", p[0], p[1]), cmd)

    print(f"{JOBS} jobs x {TASKS} tasks each")
    print(f"  parse only (api.parse_job)              {parse:8.3f} ms/job   (baseline)")
    print(f"  check (all-errors validation)           {check:8.3f} ms/job   {check / parse:5.1f}x parse")
    print(
        f"  diff, unchanged                         {diff_same:8.3f} ms/job   {diff_same / parse:5.1f}x parse"
    )
    print(f"  check + diff, unchanged                 {check + diff_same:8.3f} ms/job   goal < 2 ms")
    print(f"  stack of {JOBS} unchanged jobs             {(check + diff_same) * JOBS / 1000:8.3f} s")
    print(f"  diff, same spec with keys reordered     {diff_reordered:8.3f} ms/job   (canonical path)")
    print(f"  diff, Priority changed (update)         {diff_prio:8.3f} ms/job   (plan: one top-level path)")
    print(f"  diff, one AutoCluster field (replace)   {diff_cmd:8.3f} ms/job   (plan: one path in one task)")


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
