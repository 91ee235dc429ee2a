"""The pure scheduler core: feed events, compare instructions; a property over random DAGs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.scheduler import core
from service.scheduler.transitions import IllegalTransition, transition_name


def job(tasks: dict[str, tuple[tuple[str, ...], int, int]], fail: bool = True, auto_release: bool = False):
    """tasks: name -> (upstream, instance count, max retry)."""
    return core.JobView(
        id="job-1",
        state="Waiting",
        fail_on_instance_fail=fail,
        auto_release=auto_release,
        tasks={
            n: core.TaskView(n, up, retry, [core.InstanceView(i) for i in range(count)], auto_cluster=True)
            for n, (up, count, retry) in tasks.items()
        },
    )


def states(out: list[core.Instruction]) -> list[tuple]:
    res = []
    for i in out:
        if isinstance(i, core.SetJobState):
            res.append(("Job", i.start, i.to))
        elif isinstance(i, core.SetTaskState):
            res.append(("Task", i.task, i.start, i.to))
        elif isinstance(i, core.SetInstanceState):
            res.append(("Instance", i.task, i.idx, i.start, i.to))
    return res


def launch(view: core.JobView, task: str, idx: int) -> list[core.Instruction]:
    return core.step(view, core.InstanceLaunched(task, idx), 1.0)


def exit_(view: core.JobView, task: str, idx: int, ok: bool) -> list[core.Instruction]:
    attempt = view.tasks[task].instances[idx].attempt - 1
    return core.step(view, core.InstanceExited(task, idx, attempt, ok, "exit"), 2.0)


def test_tables_refuse_unknown_pairs() -> None:
    assert transition_name("Job", "Running", "Stopped") == "running_to_stopped"
    with pytest.raises(IllegalTransition):
        transition_name("Job", "Finished", "Running")
    with pytest.raises(IllegalTransition):
        transition_name("Instance", "Finished", "Waiting")


def test_first_launch_moves_instance_task_and_job_to_running() -> None:
    view = job({"a": ((), 1, 0)})
    assert states(launch(view, "a", 0)) == [
        ("Instance", "a", 0, "Waiting", "Running"),
        ("Task", "a", "Waiting", "Running"),
        ("Job", "Waiting", "Running"),
    ]


def test_downstream_ready_only_after_upstream_finished() -> None:
    view = job({"a": ((), 1, 0), "b": (("a",), 1, 0)})
    assert [t.name for t in core.ready_tasks(view)] == ["a"]
    launch(view, "a", 0)
    assert core.ready_tasks(view) == []
    out = exit_(view, "a", 0, True)
    assert ("Task", "a", "Running", "Finished") in states(out)
    assert core.ReleaseVMs("a") in out
    assert [t.name for t in core.ready_tasks(view)] == ["b"]
    launch(view, "b", 0)
    out = exit_(view, "b", 0, True)
    assert ("Job", "Running", "Finished") in states(out)
    assert core.Notify("OnJobFinished") in out


def test_retry_then_fail_fails_job_and_stops_downstream() -> None:
    view = job({"a": ((), 1, 1), "b": (("a",), 1, 0)})
    launch(view, "a", 0)
    out = exit_(view, "a", 0, False)
    assert states(out) == [("Instance", "a", 0, "Running", "Waiting")]
    assert view.tasks["a"].instances[0].retry_count == 1
    launch(view, "a", 0)
    out = exit_(view, "a", 0, False)
    assert states(out) == [
        ("Instance", "a", 0, "Running", "Failed"),
        ("Task", "a", "Running", "Failed"),
        ("Instance", "b", 0, "Waiting", "Stopped"),
        ("Task", "b", "Waiting", "Stopped"),
        ("Job", "Running", "Failed"),
    ]


def test_tolerated_failure_finishes_job() -> None:
    view = job({"a": ((), 2, 0), "b": (("a",), 1, 0)}, fail=False)
    launch(view, "a", 0)
    launch(view, "a", 1)
    exit_(view, "a", 0, False)
    out = exit_(view, "a", 1, True)
    assert ("Task", "a", "Running", "Finished") in states(out)
    launch(view, "b", 0)
    assert ("Job", "Running", "Finished") in states(exit_(view, "b", 0, True))


def test_reserve_on_fail_keeps_vms_of_failed_task() -> None:
    view = job({"a": ((), 1, 0)})
    view.tasks["a"].reserve_on_fail = True
    launch(view, "a", 0)
    out = exit_(view, "a", 0, False)
    assert core.ReserveVMs("a") in out and core.ReleaseVMs("a") not in out


def test_stop_cancels_running_and_stale_exit_is_ignored_then_start_requeues() -> None:
    view = job({"a": ((), 2, 0)})
    launch(view, "a", 0)
    out = core.step(view, core.StopRequested(), 3.0)
    assert core.CancelInstance("a", 0, 0) in out
    assert view.state == "Stopped"
    assert [i.state for i in view.tasks["a"].instances] == ["Stopped", "Stopped"]
    assert core.step(view, core.InstanceExited("a", 0, 0, False, "InstanceStopped"), 4.0) == []
    out = core.step(view, core.StartRequested(), 5.0)
    assert view.state == "Waiting" and [i.state for i in view.tasks["a"].instances] == ["Waiting", "Waiting"]
    assert core.step(view, core.StartRequested(), 5.0) == []  # only from Stopped / Failed


def test_auto_release_after_finish() -> None:
    view = job({"a": ((), 1, 0)}, auto_release=True)
    launch(view, "a", 0)
    assert core.ReleaseJob() in exit_(view, "a", 0, True)


@st.composite
def dags(draw):
    n = draw(st.integers(1, 7))
    names = [f"t{i}" for i in range(n)]
    tasks = {}
    for i, name in enumerate(names):
        ups = draw(st.lists(st.sampled_from(names[:i]), unique=True, max_size=3)) if i else []
        tasks[name] = (tuple(ups), draw(st.integers(1, 3)), draw(st.integers(0, 2)))
    return tasks, draw(st.booleans()), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=150, deadline=None)
@given(dags())
def test_no_task_starts_before_its_dependencies_finished(case) -> None:
    tasks, fail, seed = case
    rng = random.Random(seed)
    view = job(tasks, fail=fail)
    core.step(view, core.JobCreated(), 0.0)
    running: list[tuple[str, int]] = []
    for _ in range(500):
        if view.state not in ("Waiting", "Running"):
            break
        choices = [(t.name, i.idx) for t in core.ready_tasks(view) for i in core.waiting_instances(t)]
        if choices and (not running or rng.random() < 0.5):
            name, idx = rng.choice(choices)
            for up in view.tasks[name].upstream:
                assert view.tasks[up].state == "Finished", f"{name} launched before {up} finished"
            launch(view, name, idx)
            running.append((name, idx))
        elif running:
            name, idx = running.pop(rng.randrange(len(running)))
            exit_(view, name, idx, rng.random() < 0.8)
            running = [(n, i) for n, i in running if view.tasks[n].instances[i].state == "Running"]
    if view.state in ("Finished", "Failed", "Stopped"):
        assert not any(i.state in ("Waiting", "Running") for t in view.tasks.values() for i in t.instances)
    if view.state == "Finished":
        assert all(t.state == "Finished" for t in view.tasks.values())
    for t in view.tasks.values():  # counters always agree with the instances
        assert t.counts["Running"] == sum(i.state == "Running" for i in t.instances)
