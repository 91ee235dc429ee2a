"""The pure scheduler core: events in, instructions out.

``JobView`` is the scheduler's picture of one job (its tasks and instances). ``step(view,
event, now)`` applies one event to the view and returns the instructions the shell must carry
out (state writes, launches, cancels, VM bookkeeping, notifications). Nothing here does I/O
and the clock is passed in, so every rule can be unit-tested by feeding events.

Rules (issue 3, reference §8, §12):
* a task is ready when every upstream task is Finished; its Waiting instances may be placed;
* an attempt that fails goes back to Waiting while ``retry_count < max_retry``, else Failed;
* a final-Failed instance fails its task and the job when ``fail_on_instance_fail``; the job's
  other running instances are cancelled and tasks that never ran are reported Stopped (#39);
  without the flag the failure is tolerated and the task finishes when all instances ended (#38);
* StopJob stops Waiting/Running work; StartJob re-queues everything not Finished (#15, #40);
* AutoCluster VMs are released when the task ends, reserved when it failed under ReserveOnFail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from api.states import ACTIVE_STATES, TERMINAL_STATES, UNSUCCESSFUL_STATES, Phase, allows
from service.scheduler.transitions import transition_name

# ---------------------------------------------------------------- views


@dataclass(slots=True)
class InstanceView:
    idx: int
    state: Phase = "Waiting"
    retry_count: int = 0
    attempt: int = 0  # attempts launched so far; the running attempt is attempt - 1


@dataclass(slots=True)
class TaskView:
    name: str
    upstream: tuple[str, ...]
    max_retry: int
    instances: list[InstanceView]
    state: Phase = "Waiting"
    auto_cluster: bool = False
    reserve_on_fail: bool = False
    cluster_id: str = ""  # the named cluster; "" when the task runs on its AutoCluster
    counts: Counter[str] = field(default_factory=Counter)
    cursor: int = 0  # no instance below this index is Waiting (keeps placement O(placed))

    def __post_init__(self) -> None:
        self.counts = Counter(i.state for i in self.instances)


@dataclass(slots=True)
class JobView:
    id: str
    state: Phase
    fail_on_instance_fail: bool
    auto_release: bool
    tasks: dict[str, TaskView]
    priority: int = 0
    seq: int = 0
    created: float = 0.0  # the stored creation_time: the start-latency figure reads it here


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class JobCreated:
    pass


@dataclass(frozen=True, slots=True)
class InstanceLaunched:
    task: str
    idx: int


@dataclass(frozen=True, slots=True)
class InstanceExited:
    task: str
    idx: int
    attempt: int  # which attempt (0-based) exited; stale attempts are ignored
    succeeded: bool
    cause: str = ""


@dataclass(frozen=True, slots=True)
class StopRequested:
    cause: str = "StopJob"


@dataclass(frozen=True, slots=True)
class StartRequested:
    cause: str = "StartJob"


Event = JobCreated | InstanceLaunched | InstanceExited | StopRequested | StartRequested

# ---------------------------------------------------------------- instructions


@dataclass(frozen=True, slots=True)
class SetJobState:
    start: str
    to: str
    cause: str
    at: float


@dataclass(frozen=True, slots=True)
class SetTaskState:
    task: str
    start: str
    to: str
    cause: str
    at: float


@dataclass(frozen=True, slots=True)
class SetInstanceState:
    task: str
    idx: int
    start: str
    to: str
    cause: str
    at: float
    retry_count: int
    attempt: int


@dataclass(frozen=True, slots=True)
class CancelInstance:
    task: str
    idx: int
    attempt: int


@dataclass(frozen=True, slots=True)
class ReleaseVMs:
    """Free the task's VM slots; delete its AutoCluster."""

    task: str


@dataclass(frozen=True, slots=True)
class ReserveVMs:
    """Keep the failed task's AutoCluster VMs (ReserveOnFail) until the job is deleted."""

    task: str


@dataclass(frozen=True, slots=True)
class Notify:
    event: str  # OnJobRunning, OnTaskFailed, OnInstanceFinished, ...
    task: str = ""
    idx: int = -1


@dataclass(frozen=True, slots=True)
class ReleaseJob:
    """AutoRelease: delete the finished job and leave a tombstone."""


Instruction = (
    SetJobState
    | SetTaskState
    | SetInstanceState
    | CancelInstance
    | ReleaseVMs
    | ReserveVMs
    | Notify
    | ReleaseJob
)

# ---------------------------------------------------------------- state setters (validate via tables)


def _job(view: JobView, to: Phase, cause: str, now: float, out: list[Instruction]) -> None:
    if view.state == to:
        return
    transition_name("Job", view.state, to, view.id)
    out.append(SetJobState(view.state, to, cause, now))
    out.append(Notify(f"OnJob{to}"))
    view.state = to


def _task(view: JobView, task: TaskView, to: Phase, cause: str, now: float, out: list[Instruction]) -> None:
    if task.state == to:
        return
    transition_name("Task", task.state, to, f"{view.id}.{task.name}")
    out.append(SetTaskState(task.name, task.state, to, cause, now))
    out.append(Notify(f"OnTask{to}", task.name))
    task.state = to


def _instance(
    view: JobView,
    task: TaskView,
    inst: InstanceView,
    to: Phase,
    cause: str,
    now: float,
    out: list[Instruction],
) -> None:
    transition_name("Instance", inst.state, to, f"{view.id}.{task.name}.{inst.idx}")
    task.counts[inst.state] -= 1
    task.counts[to] += 1
    if to == "Waiting":
        task.cursor = min(task.cursor, inst.idx)
    out.append(
        SetInstanceState(task.name, inst.idx, inst.state, to, cause, now, inst.retry_count, inst.attempt)
    )
    out.append(Notify(f"OnInstance{to}", task.name, inst.idx))
    inst.state = to


# ---------------------------------------------------------------- queries


def ready_tasks(view: JobView) -> list[TaskView]:
    """Tasks whose upstream all finished and that still have Waiting instances (in DAG order)."""
    if view.state not in ACTIVE_STATES:
        return []
    return [
        t
        for t in view.tasks.values()
        if t.state in ACTIVE_STATES
        and t.counts["Waiting"] > 0
        and all(view.tasks[u].state == "Finished" for u in t.upstream)
    ]


def waiting_instances(task: TaskView, limit: int | None = None) -> list[InstanceView]:
    """Waiting instances in index order (at most ``limit``), starting at the task's cursor."""
    out: list[InstanceView] = []
    first = None
    for inst in task.instances[task.cursor :]:
        if inst.state == "Waiting":
            if first is None:
                first = inst.idx
            out.append(inst)
            if limit is not None and len(out) >= limit:
                break
    task.cursor = first if first is not None else len(task.instances)
    return out


# ---------------------------------------------------------------- the step function


def step(view: JobView, event: Event, now: float) -> list[Instruction]:
    """Apply ``event`` to ``view``; return what the shell must do. Events that no longer apply
    (a stale attempt exiting after a stop, say) return ``[]``."""
    out: list[Instruction] = []
    match event:
        case JobCreated():
            out.append(Notify("OnJobWaiting"))
            _finish_empty_tasks(view, now, out)
        case InstanceLaunched(task=name, idx=idx):
            task = view.tasks[name]
            inst = task.instances[idx]
            inst.attempt += 1
            _instance(view, task, inst, "Running", "launched", now, out)
            _task(view, task, "Running", f"instance {idx} started", now, out)
            _job(view, "Running", f"task {name} started", now, out)
        case InstanceExited():
            _on_exit(view, event, now, out)
        case StopRequested(cause=cause):
            if not allows("StopJob", view.state):
                return out
            _stop_everything(view, "Stopped", cause, now, out)
            _job(view, "Stopped", cause, now, out)
        case StartRequested(cause=cause):
            if not allows("StartJob", view.state):
                return out
            _job(view, "Waiting", cause, now, out)
            for task in view.tasks.values():
                if task.state == "Finished":
                    continue
                for inst in task.instances:
                    if inst.state in UNSUCCESSFUL_STATES:
                        _instance(view, task, inst, "Waiting", cause, now, out)
                if task.state != "Waiting":
                    _task(view, task, "Waiting", cause, now, out)
            _finish_empty_tasks(view, now, out)
    return out


def _on_exit(view: JobView, ev: InstanceExited, now: float, out: list[Instruction]) -> None:
    task = view.tasks.get(ev.task)
    if task is None or ev.idx >= len(task.instances):
        return
    inst = task.instances[ev.idx]
    if inst.state != "Running" or inst.attempt - 1 != ev.attempt:
        return  # stale: the job was stopped, or this attempt was already accounted for
    if ev.succeeded:
        _instance(view, task, inst, "Finished", ev.cause or "exit 0", now, out)
    elif inst.retry_count < task.max_retry:
        inst.retry_count += 1
        _instance(view, task, inst, "Waiting", f"retry {inst.retry_count}: {ev.cause}", now, out)
    else:
        _instance(view, task, inst, "Failed", ev.cause or "failed", now, out)
        if view.fail_on_instance_fail:
            _fail_job(view, task, f"instance {task.name}.{inst.idx} failed: {ev.cause}", now, out)
            return
    _settle_task(view, task, now, out)


def _settle_task(view: JobView, task: TaskView, now: float, out: list[Instruction]) -> None:
    """Finish the task once every instance ended; finish the job once every task did."""
    live = task.counts["Waiting"] + task.counts["Running"]
    if live:
        if task.counts["Running"] == 0 and task.state == "Running":
            pass  # instances back in Waiting for a retry: the task stays Running
        return
    _task(view, task, "Finished", "all instances ended", now, out)
    out.append(ReleaseVMs(task.name))
    _finish_empty_tasks(view, now, out)
    if all(t.state == "Finished" for t in view.tasks.values()):
        _job(view, "Finished", "all tasks finished", now, out)
        if view.auto_release:
            out.append(ReleaseJob())


def _finish_empty_tasks(view: JobView, now: float, out: list[Instruction]) -> None:
    """Tasks whose instances all ended before they became ready never launch anything
    (e.g. a restarted job whose task had finished every instance); settle them."""
    for task in view.tasks.values():
        if (
            task.state == "Waiting"
            and task.instances
            and task.counts["Waiting"] == 0
            and all(view.tasks[u].state == "Finished" for u in task.upstream)
        ):
            _settle_task(view, task, now, out)


def _fail_job(view: JobView, failed: TaskView, cause: str, now: float, out: list[Instruction]) -> None:
    _task(view, failed, "Failed", cause, now, out)
    _stop_everything(view, "Stopped", "job failed", now, out, failed=failed)
    if failed.auto_cluster and failed.reserve_on_fail:
        out.append(ReserveVMs(failed.name))
    else:
        out.append(ReleaseVMs(failed.name))
    _job(view, "Failed", cause, now, out)


def _stop_everything(
    view: JobView,
    to: Phase,
    cause: str,
    now: float,
    out: list[Instruction],
    failed: TaskView | None = None,
) -> None:
    for task in view.tasks.values():
        for inst in task.instances:
            if inst.state == "Running":
                out.append(CancelInstance(task.name, inst.idx, inst.attempt - 1))
                _instance(view, task, inst, "Stopped", cause, now, out)
            elif inst.state == "Waiting":
                _instance(view, task, inst, "Stopped", cause, now, out)
        if task is failed:
            continue
        if task.state in ACTIVE_STATES:
            _task(view, task, "Stopped", cause, now, out)
            out.append(ReleaseVMs(task.name))


def is_terminal(state: str) -> bool:
    return state in TERMINAL_STATES
