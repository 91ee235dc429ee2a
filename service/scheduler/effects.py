"""Carry out the core's instructions against the store (inside the caller's transaction).

Returns what must happen only after the commit: executor cancels (``InstanceKey`` values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from service.scheduler import core
from service.scheduler.transitions import TERMINAL
from service.store import repo

if TYPE_CHECKING:
    from service.scheduler.loop import Scheduler

from service.executors.base import InstanceKey


def _times(start: str, to: str, at: float) -> dict[str, Any]:
    if to == "Running":
        return {"start_time": at, "end_time": None}
    if to in TERMINAL:
        return {"end_time": at}
    return {"end_time": None}  # back to Waiting


def apply_instructions(
    sched: Scheduler,
    conn: Connection,
    view: core.JobView,
    instructions: list[core.Instruction],
    extra: dict[tuple[str, int], dict[str, Any]] | None = None,
) -> list[Any]:
    """``extra``: more instance columns (exit results, VM id) written by the same UPDATE as the
    instance's state change, saving a statement per launch and per exit; written on their own
    when no state change of that instance is among the instructions."""
    extra = dict(extra or {})
    post: list[Any] = []
    history: list[dict[str, Any]] = []
    notes: list[core.Notify] = []
    for ins in instructions:
        match ins:
            case core.SetJobState(start=start, to=to, cause=cause, at=at):
                values: dict[str, Any] = {
                    "state": to,
                    "message": cause if to in ("Failed", "Stopped") else "",
                }
                if to == "Running":
                    values["start_time"] = at
                    values["end_time"] = None
                elif to in TERMINAL:
                    values["end_time"] = at
                else:
                    values["end_time"] = None
                repo.set_job(conn, view.id, **values)
                history.append(_hist(view.id, "Job", "", -1, start, to, cause, at))
            case core.SetTaskState(task=task, start=start, to=to, cause=cause, at=at):
                values = _times(start, to, at)
                if to == "Running" and start != "Waiting":
                    values.pop("start_time", None)
                repo.set_task(conn, view.id, task, state=to, **values)
                history.append(_hist(view.id, "Task", task, -1, start, to, cause, at))
            case core.SetInstanceState(task=task, idx=idx, start=start, to=to, cause=cause, at=at):
                values = {"state": to, "retry_count": ins.retry_count, "attempt": ins.attempt}
                values.update(_times(start, to, at))
                if to == "Running":
                    values.update(exit_code=None, error_code="", error_message="", detail="", sandbox_path="")
                values.update(extra.pop((task, idx), {}))
                repo.set_instance(conn, view.id, task, idx, **values)
                history.append(_hist(view.id, "Instance", task, idx, start, to, cause, at))
            case core.CancelInstance(task=task, idx=idx, attempt=attempt):
                slot = sched.running.pop((view.id, task, idx), None)
                if slot:
                    repo.free_vm(conn, slot[1])
                    sched.slot_freed(slot[1])
                post.append(InstanceKey(view.id, task, idx, attempt))
            case core.ReleaseVMs(task=task):
                known = sched.auto_clusters.pop((view.id, task), None)
                ids = [known] if known else [c.id for c in repo.auto_clusters_of(conn, view.id, task)]
                for cluster_id in ids:
                    repo.delete_cluster(conn, cluster_id)
                repo.set_task(conn, view.id, task, reserved_vm_count=0)
            case core.ReserveVMs(task=task):
                kept = sum(
                    len(repo.cluster_vms(conn, c.id)) for c in repo.auto_clusters_of(conn, view.id, task)
                )
                repo.set_task(conn, view.id, task, reserved_vm_count=kept)
            case core.Notify():
                notes.append(ins)
            case core.ReleaseJob():
                from service.jobs import release_job

                release_job(conn, view.id, reason="AutoRelease", sandbox_root=sched.settings.sandbox_root)
                sched.forget(view.id)
    for (task, idx), values in extra.items():
        repo.set_instance(conn, view.id, task, idx, **values)
    repo.log_transitions(conn, history)
    if notes:
        from service.notifications import enqueue_job_events

        if enqueue_job_events(conn, sched.specs.get(view.id) or {}, view, notes) and sched.on_notify:
            sched.on_notify()
    return post


def _hist(
    job_id: str, scope: str, task: str, idx: int, start: str, to: str, cause: str, at: float
) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "scope": scope,
        "task": task,
        "instance": idx,
        "from_state": start,
        "to_state": to,
        "cause": cause[:1000],
        "at": at,
    }
