"""Resource outputs built from what the service reports (pure functions over its JSON).

Output keys are snake_case and disjoint from the input keys; :mod:`provider.properties` names
them (``JOB_OUTPUTS``, ``CLUSTER_OUTPUTS``) and strips them by name before any diff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api import ApiError, TaskDescription, parse_job
from provider.properties import outputs_part

SECRET_FIELDS: frozenset[str] = frozenset({"AccessKeySecret", "AccessSecurityToken", "SecurityToken"})
"""Spec fields never copied into derived outputs (the inputs themselves stay secret)."""

_COUNTS = ("WaitingCount", "RunningCount", "FinishedCount", "FailedCount", "StoppedCount")


def redact(value: Any) -> Any:
    """A copy of ``value`` without secret fields (for outputs derived from the spec)."""
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _counts(metrics: Any) -> dict[str, int]:
    metrics = metrics if isinstance(metrics, Mapping) else {}
    return {key[: -len("Count")].lower(): int(metrics.get(key) or 0) for key in _COUNTS}


def _task_output(spec_task: TaskDescription | None, live: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "state": live.get("State", ""),
        "start_time": live.get("StartTime", ""),
        "end_time": live.get("EndTime", ""),
        "instances": _counts(live.get("InstanceMetrics")),
        "cluster_id": live.get("ClusterId", "") or (spec_task.cluster_id if spec_task else ""),
    }
    auto = spec_task.effective_auto_cluster if spec_task else None
    if auto is not None:
        reserved = int(live.get("ReservedVMCount") or 0)
        out["auto_cluster"] = {
            "spec": redact(auto.model_dump(by_alias=True, exclude_unset=True)),  # as written
            "cluster_id": live.get("AutoClusterId", ""),
            "vm_count": int(live.get("VMCount") or 0),
            "reserved": reserved > 0,
            "reserved_vm_count": reserved,
        }
    return out


def job_outputs(
    job: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]], spec: Mapping[str, Any]
) -> dict[str, Any]:
    """Outputs of a live job: GetJob + ListTasks, joined with the spec's per-task AutoClusters
    (a spec the API rejects, which the service cannot have accepted, contributes no tasks)."""
    try:
        spec_tasks = parse_job(dict(spec)).dag.tasks
    except ApiError:
        spec_tasks = {}
    live = {t.get("TaskName", ""): t for t in tasks}
    return {
        "job_id": job.get("Id", ""),
        "state": job.get("State", ""),
        "message": job.get("Message", ""),
        "creation_time": job.get("CreationTime", ""),
        "start_time": job.get("StartTime", ""),
        "end_time": job.get("EndTime", ""),
        "released": False,
        "tasks": {
            name: _task_output(spec_tasks.get(name), live.get(name) or {})
            for name in sorted(set(spec_tasks) | set(live))
        },
    }


def released_outputs(previous: Mapping[str, Any], message: str) -> dict[str, Any]:
    """Outputs of a job the service auto-released: last known values, marked released."""
    out = outputs_part(previous)
    tasks = out.get("tasks") or {}
    for task in tasks.values():
        if isinstance(task, dict) and isinstance(task.get("auto_cluster"), dict):
            task["auto_cluster"] = {
                **task["auto_cluster"],
                "vm_count": 0,
                "reserved": False,
                "reserved_vm_count": 0,
            }
    out.update({"state": "Finished", "released": True, "message": message, "tasks": tasks})
    return out


def cluster_outputs(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """Outputs of a live cluster: id, state and each group's desired and actual VM count."""
    groups = cluster.get("Groups") or {}
    return {
        "cluster_id": cluster.get("Id", ""),
        "state": cluster.get("State", ""),
        "creation_time": cluster.get("CreationTime", ""),
        "groups": {
            name: {
                "desired_vm_count": int(g.get("DesiredVMCount") or 0),
                "actual_vm_count": int(g.get("ActualVMCount") or 0),
            }
            for name, g in sorted(groups.items())
            if isinstance(g, Mapping)
        },
    }
