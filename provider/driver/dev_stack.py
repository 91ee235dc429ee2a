"""The dev stack's own jobs, read from its checkpoint, and the files they wrote to the local ``oss://``.

The service may hold other jobs: replaced runs of the stack's jobs, jobs submitted with the SDK or
another stack. ``make up`` and ``make status`` judge and list only the jobs the stack's checkpoint
holds now (the same file for the Pulumi CLI and ``bcs-deploy``), and for each job only the files
under its own log and output paths, and of its logs only the ones named with its job id.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provider.driver.checkpoint import from_deployment

JOB_TYPE = "pulumi-python:dynamic/bcs:Job"


@dataclass(frozen=True)
class StackJob:
    """One Job resource of the stack: its name, live job id and submitted DAG."""

    name: str
    job_id: str
    tasks: Mapping[str, Any] = field(default_factory=dict)


def stack_jobs(checkpoint: Path) -> list[StackJob]:
    """The Job resources of the checkpoint (none when there is no checkpoint yet)."""
    if not checkpoint.is_file():
        return []
    latest = json.loads(checkpoint.read_text()).get("checkpoint", {}).get("latest") or {}
    jobs = []
    for res in from_deployment(latest, stack="").resources:
        job_id = res.outputs.get("job_id")
        if res.type != JOB_TYPE or res.pending_delete or not isinstance(job_id, str):
            continue
        dag = res.outputs["DAG"] if isinstance(res.outputs.get("DAG"), Mapping) else {}
        tasks = dag["Tasks"] if isinstance(dag.get("Tasks"), Mapping) else {}
        jobs.append(StackJob(res.name, job_id, tasks))
    return sorted(jobs, key=lambda j: j.name)


def _prefixes(job: StackJob) -> Iterator[tuple[str, bool]]:
    """Each ``oss://`` prefix the job writes to, and whether its file names carry the job id."""
    for task in job.tasks.values():
        if not isinstance(task, Mapping):
            continue
        params = task["Parameters"] if isinstance(task.get("Parameters"), Mapping) else {}
        for key in ("StdoutRedirectPath", "StderrRedirectPath"):
            if isinstance(params.get(key), str) and params[key]:
                yield params[key], True
        for mapping, by_id in (("LogMapping", True), ("OutputMapping", False)):
            targets = task[mapping] if isinstance(task.get(mapping), Mapping) else {}
            for target in targets.values():
                if isinstance(target, str):
                    yield target, by_id


def output_files(oss_root: Path, job: StackJob) -> list[str]:
    """``oss://bucket/key`` of every file the job left in the local object store under ``oss_root``."""
    found: set[str] = set()
    for prefix, by_id in _prefixes(job):
        if not prefix.startswith("oss://"):
            continue
        local = oss_root / prefix[len("oss://"):]
        candidates = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for path in candidates:
            if by_id and job.job_id not in path.name:
                continue
            found.add("oss://" + str(path.relative_to(oss_root)))
    return sorted(found)
