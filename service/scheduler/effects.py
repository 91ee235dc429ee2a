"""Carry out the core's instructions against the store (inside the caller's transaction).

Memory changes go through ``RunState`` methods only (a cancel frees its slot there, a released
task drops its AutoCluster id, an AutoRelease forgets the job), so a transaction that does not
commit can be undone by dropping the jobs it touched. What must happen only after the commit is
returned: executor cancels, and whether the outbox got rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from api import JobDescription
from api.states import TERMINAL_STATES, UNSUCCESSFUL_STATES
from service.executors.base import InstanceKey
from service.scheduler import core
from service.scheduler.runstate import RunState
from service.store import repo


class LostWrite(RuntimeError):
    """A state write matched no row: the store's job is not the one this view describes (deleted,
    or changed by another transaction). The turn is rolled back and the job reloaded."""


@dataclass(slots=True)
class Applied:
    """What the caller carries out once the transaction committed."""

    cancels: list[InstanceKey] = field(default_factory=list)
    notified: bool = False  # outbox rows were written: wake the deliverer
    version: int | None = None  # the job's lease version after the write (shared database)

    def add(self, other: Applied) -> None:
        self.cancels.extend(other.cancels)
        self.notified = self.notified or other.notified


def free_slot(
    state: RunState, conn: Connection, key: tuple[str, str, int], attempt: int | None = None
) -> None:
    """Give back the VM slot ``key``'s attempt holds (any attempt when None): the one place a
    slot is freed, in memory (waking its cluster's waiters) and in the caller's transaction."""
    slot = state.free_slot(key, attempt)
    if slot is not None:
        repo.free_vm(conn, slot.vm_id)


def _one(count: int, what: str) -> None:
    if count != 1:
        raise LostWrite(f"{what}: {count} rows written, 1 expected")


def _times(start: str, to: str, at: float) -> dict[str, Any]:
    if to == "Running":
        return {"start_time": at, "end_time": None}
    if to in TERMINAL_STATES:
        return {"end_time": at}
    return {"end_time": None}  # back to Waiting


def apply_instructions(
    state: RunState,
    conn: Connection,
    view: core.JobView,
    spec: JobDescription | None,
    instructions: list[core.Instruction],
    extra: dict[tuple[str, int], dict[str, Any]] | None = None,
    sandbox_root: Path | None = None,
) -> Applied:
    """``spec`` is the job's stored description (notification topic; ``None``: not loaded).
    ``extra``: more instance columns (exit results, VM id) written by the same UPDATE as the
    instance's state change, saving a statement per launch and per exit; written on their own
    when no state change of that instance is among the instructions."""
    extra = dict(extra or {})
    done = Applied()
    history: list[dict[str, Any]] = []
    notes: list[core.Notify] = []
    for ins in instructions:
        match ins:
            case core.SetJobState(start=start, to=to, cause=cause, at=at):
                values: dict[str, Any] = {
                    "state": to,
                    "message": cause if to in UNSUCCESSFUL_STATES else "",
                }
                if to == "Running":
                    values["start_time"] = at
                    values["end_time"] = None
                elif to in TERMINAL_STATES:
                    values["end_time"] = at
                else:
                    values["end_time"] = None
                _one(repo.set_job(conn, view.id, **values), f"job {view.id}")
                history.append(_hist(view.id, "Job", "", -1, start, to, cause, at))
            case core.SetTaskState(task=task, start=start, to=to, cause=cause, at=at):
                values = _times(start, to, at)
                if to == "Running" and start != "Waiting":
                    values.pop("start_time", None)
                _one(repo.set_task(conn, view.id, task, state=to, **values), f"task {view.id}.{task}")
                history.append(_hist(view.id, "Task", task, -1, start, to, cause, at))
            case core.SetInstanceState(task=task, idx=idx, start=start, to=to, cause=cause, at=at):
                values = {"state": to, "retry_count": ins.retry_count, "attempt": ins.attempt}
                values.update(_times(start, to, at))
                if to == "Running":
                    values.update(exit_code=None, error_code="", error_message="", detail="", sandbox_path="")
                values.update(extra.pop((task, idx), {}))
                written = repo.set_instance(conn, view.id, task, idx, **values)
                _one(written, f"instance {view.id}.{task}.{idx}")
                history.append(_hist(view.id, "Instance", task, idx, start, to, cause, at))
            case core.CancelInstance(task=task, idx=idx, attempt=attempt):
                free_slot(state, conn, (view.id, task, idx))
                done.cancels.append(InstanceKey(view.id, task, idx, attempt))
            case core.ReleaseVMs(task=task):
                known = state.drop_auto_cluster(view.id, task)
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

                release_job(conn, view.id, reason="AutoRelease", sandbox_root=sandbox_root)
                state.forget(view.id)
    for (task, idx), values in extra.items():
        repo.set_instance(conn, view.id, task, idx, **values)
    repo.log_transitions(conn, history)
    if notes:
        from service.notifications import enqueue_job_events

        done.notified = enqueue_job_events(conn, spec, view, notes)
    return done


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
