"""Polling a job until it reaches a state, and explaining a failure in one line."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from api.states import TERMINAL_STATES, UNSUCCESSFUL_STATES
from provider.client import BatchComputeClient
from provider.errors import BatchComputeError, JobFailed

POLL_SECONDS = 0.25
RELEASED = "InvalidResource.Released"
NOT_FOUND = "InvalidResource.NotFound"


def wait_for_state(
    client: BatchComputeClient,
    job_id: str,
    states: Collection[str],
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """GetJob until its State is one of ``states``; the last answer. Raises JobFailed on timeout."""
    deadline = clock() + timeout
    while True:
        try:
            job = client.get_job(job_id)
        except BatchComputeError as exc:
            if exc.code != RELEASED:
                raise
            # AutoRelease deletes a job right after it finished: that is a finish.
            job = {"Id": job_id, "State": "Finished", "Message": exc.message, "Released": True}
        if job.get("State") in states:
            return job
        if clock() >= deadline:
            raise JobFailed(
                f"job {job_id} is still {job.get('State')} after {timeout:g} s "
                f"(waiting for {' or '.join(sorted(states))})"
            )
        sleep(POLL_SECONDS)


def failure_detail(client: BatchComputeClient, job: dict[str, Any]) -> str:
    """``task X instance N: exit code C: message`` for the first failed instance, if any."""
    job_id = str(job.get("Id", ""))
    for task in client.list_tasks(job_id):
        if task.get("State") not in UNSUCCESSFUL_STATES and not (task.get("InstanceMetrics") or {}).get(
            "FailedCount"
        ):
            continue
        name = task.get("TaskName", "")
        for inst in client.list_instances(job_id, name):
            if inst.get("State") != "Failed":
                continue
            result = inst.get("Result") or {}
            parts = [f"task {name} instance {inst.get('InstanceId')}", f"exit code {result.get('ExitCode')}"]
            text = result.get("ErrorMessage") or result.get("Detail") or result.get("ErrorCode")
            if text:
                parts.append(str(text))
            return ": ".join(parts)
    return job.get("Message") or "no failed instance reported"


def wait_until_finished(client: BatchComputeClient, job_id: str, timeout: float) -> dict[str, Any]:
    """Block until the job is Finished; a Failed or Stopped job raises JobFailed naming the cause."""
    job = wait_for_state(client, job_id, TERMINAL_STATES, timeout)
    if job.get("State") != "Finished":
        raise JobFailed(f"job {job_id} ended {job.get('State')}: {failure_detail(client, job)}")
    return job
