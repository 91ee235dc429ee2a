"""The scheduler shell without a bcsd process: a real ``Scheduler`` on a real SQLite store, fed
executor events turn by turn, its launches compared with what the DAG allows. Failed commits
are injected at the store boundary (``service/store/faults.py``) to check that a turn is atomic
in memory as in the store. The run-state invariants are checked after every step."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from service.config import Settings
from service.executors.base import InstanceExited, InstanceKey, InstanceLaunch
from service.jobs import accept_job
from service.scheduler import core
from service.scheduler.effects import LostWrite, apply_instructions
from service.scheduler.loop import Scheduler
from service.scheduler.runstate import InvariantBroken, RunState
from service.store import faults, repo
from service.store.engine import open_engine
from tests.service.jobspec import job, task


def new_scheduler(tmp_path: Path, max_running: int = 2) -> Scheduler:
    settings = Settings(data_dir=tmp_path, max_running=max_running, validate=True)
    return Scheduler(open_engine(settings.db_url), settings)


def submit(sched: Scheduler, spec: dict[str, Any]) -> str:
    """CreateJob as the route does it: insert and JobCreated in one transaction, then admit."""
    with sched.transaction() as conn:
        job_id, view, stored = accept_job(conn, sched.settings, spec, "")
        assert view is not None
        done = sched.create(conn, view, stored)
    sched.admit(view, stored, done)
    return job_id


def exited(launch: InstanceLaunch, code: int = 0) -> InstanceExited:
    return InstanceExited(
        key=launch.key, at=datetime.now(UTC), exit_code=code, error_code="", error_message="",
        detail="", node="", stdout_object="", stderr_object="", sandbox_path="",
    )  # fmt: skip


def keys(launches: list[InstanceLaunch]) -> list[tuple[str, int, int]]:
    return [(launch.key.task_name, launch.key.instance_id, launch.key.attempt) for launch in launches]


def stored_states(engine: Engine, job_id: str) -> dict[str, str]:
    with engine.connect() as conn:
        out = {"job": repo.get_job(conn, job_id).state}  # type: ignore[union-attr]
        out.update({f"{r.task_name}.{r.instance_id}": r.state for r in repo.job_instances(conn, job_id)})
    return out


def chain() -> dict[str, Any]:
    """a (2 instances) then b (1 instance), each on its own AutoCluster."""
    return job({"a": task("true", count=2), "b": task("true")}, {"a": ["b"]})


def test_turns_place_what_the_dag_allows_and_free_the_slots(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    job_id = submit(sched, chain())
    _, launches, _ = sched.turn([])
    assert keys(launches) == [("a", 0, 0), ("a", 1, 0)]
    assert sched.state.budget == 0
    _, more, _ = sched.turn([exited(launches[0])])
    assert more == []  # b waits for a.1
    assert sched.state.budget == 1
    _, more, _ = sched.turn([exited(launches[1])])
    assert keys(more) == [("b", 0, 0)]
    sched.turn([exited(more[0])])
    assert stored_states(sched.engine, job_id) == {
        "job": "Finished",
        "a.0": "Finished",
        "a.1": "Finished",
        "b.0": "Finished",
    }
    assert sched.state.views == {} and sched.state.slots == {}
    sched.state.check()


def test_a_turn_whose_commit_fails_is_undone_in_memory_and_replayed(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    job_id = submit(sched, chain())
    _, launches, _ = sched.turn([])
    faults.install(sched.engine, [faults.Fault("exit", 0)])
    with pytest.raises(Exception, match="injected commit failure"):
        sched.turn([exited(launches[0])])
    # the job is dropped from memory until reloaded; the store still runs both attempts
    assert sched.state.stale == {job_id}
    assert job_id not in sched.state.views and sched.state.slots == {}
    assert stored_states(sched.engine, job_id)["a.0"] == "Running"
    _, more, _ = sched.turn([exited(launches[0])])  # the loop puts the batch back
    assert more == []
    assert sched.state.stale == set()
    assert list(sched.state.slots) == [(job_id, "a", 1)]  # taken back from the store
    assert stored_states(sched.engine, job_id)["a.0"] == "Finished"
    _, more, _ = sched.turn([exited(launches[1])])
    assert keys(more) == [("b", 0, 0)]
    sched.state.check()


def test_a_launch_whose_commit_fails_is_placed_again_as_the_same_attempt(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    faults.install(sched.engine, [faults.Fault("launch", 0)])
    job_id = submit(sched, chain())
    with pytest.raises(Exception, match="injected commit failure"):
        sched.turn([])
    assert sched.state.slots == {} and sched.state.stale == {job_id}
    assert stored_states(sched.engine, job_id)["a.0"] == "Waiting"
    _, launches, _ = sched.turn([])
    assert keys(launches) == [("a", 0, 0), ("a", 1, 0)]  # attempt 0 again: nothing ran
    sched.state.check()


def test_a_create_whose_commit_fails_leaves_no_view(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    faults.install(sched.engine, [faults.Fault("create", 0)])
    with pytest.raises(Exception, match="injected commit failure"):
        submit(sched, chain())
    assert sched.state.views == {}
    _, launches, _ = sched.turn([])
    assert launches == []
    with sched.engine.connect() as conn:
        assert repo.active_jobs(conn) == []


def test_the_loop_puts_a_failed_batch_back_into_its_inbox(tmp_path: Path) -> None:
    """The async loop with a recording executor: the exit whose commit failed is handled by a
    later turn, so the job still finishes."""

    class Recording:
        def __init__(self) -> None:
            self.launched: list[InstanceLaunch] = []
            self.cancelled: list[InstanceKey] = []

        async def start(self) -> None: ...
        async def close(self) -> None: ...

        async def launch(self, launch: InstanceLaunch) -> None:
            self.launched.append(launch)

        async def cancel(self, key: InstanceKey) -> None:
            self.cancelled.append(key)

    async def scenario() -> None:
        sched = new_scheduler(tmp_path, max_running=4)
        executor = Recording()
        await sched.start(executor)
        try:
            job_id = submit(sched, job({"a": task("true", count=2)}))
            sched.wake(job_id)
            while len(executor.launched) < 2:
                await asyncio.sleep(0.01)
            faults.install(sched.engine, [faults.Fault("exit", 0)])
            for launch in executor.launched:
                await sched.sink(exited(launch))
            while stored_states(sched.engine, job_id)["job"] != "Finished":
                await asyncio.sleep(0.01)
            assert keys(executor.launched) == [("a", 0, 0), ("a", 1, 0)]
            assert executor.cancelled == []
            assert sched.state.slots == {} and sched.state.views == {}
        finally:
            await sched.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_effects_refuse_a_state_write_that_hits_no_row(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    view = core.JobView(
        "job-gone", "Waiting", True, False, {"a": core.TaskView("a", (), 0, [core.InstanceView(0)])}
    )
    with sched.engine.begin() as conn, pytest.raises(LostWrite, match="job-gone"):
        apply_instructions(sched.state, conn, view, {}, core.step(view, core.StopRequested(), 0.0))


def test_effects_free_a_cancelled_attempts_slot_in_one_place(tmp_path: Path) -> None:
    sched = new_scheduler(tmp_path)
    job_id = submit(sched, job({"a": task("sleep 60")}))
    _, launches, _ = sched.turn([])
    assert keys(launches) == [("a", 0, 0)]
    with sched.transaction() as conn:
        done = sched.adopt(conn, job_id, sched.state.specs[job_id], core.StopRequested())
    assert done.cancels == [InstanceKey(job_id, "a", 0, 0)]
    assert sched.state.slots == {} and job_id not in sched.state.views
    with sched.engine.connect() as conn:
        assert all(
            not vm.busy_job
            for c in repo.auto_clusters_of(conn, job_id)
            for vm in repo.cluster_vms(conn, c.id)
        )


def test_runstate_check_names_the_broken_invariant() -> None:
    state = RunState(limit=2)
    view = core.JobView(
        "job-1", "Running", True, False, {"a": core.TaskView("a", (), 0, [core.InstanceView(0)])}
    )
    state.register(view, {})
    state.check()
    state.take_slot(("job-1", "a", 0), 0, "vm-1", "cls-1")  # the instance is not Running
    with pytest.raises(InvariantBroken, match="^3: slot job-1.a.0"):
        state.check()
    assert state.free_slot(("job-1", "a", 0), attempt=1) is None  # another attempt's: kept
    assert state.free_slot(("job-1", "a", 0), attempt=0) is not None
    state.check()
    state.specs["job-2"] = {}
    with pytest.raises(InvariantBroken, match="^1: specs"):
        state.check()


def test_runstate_drops_everything_of_a_stale_job() -> None:
    state = RunState(limit=2)
    inst = core.InstanceView(0, "Running", attempt=1)
    view = core.JobView("job-1", "Running", True, False, {"a": core.TaskView("a", (), 0, [inst])})
    state.register(view, {}, version=3)
    state.take_slot(("job-1", "a", 0), 0, "vm-1", "cls-1")
    state.set_auto_cluster("job-1", "a", "cls-1")
    state.begin()
    state.touch("job-1")
    state.mark_stale(state.end())
    assert state.stale == {"job-1"}
    assert (state.views, state.specs, state.slots, state.auto_clusters, state.versions) == (
        {},
        {},
        {},
        {},
        {},
    )
    state.check()
