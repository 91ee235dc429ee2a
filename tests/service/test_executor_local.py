"""LocalExecutor through its async sink, with real processes."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from service.executors import isolation
from service.executors.base import ExecutorEvent, InstanceExited, InstanceKey, InstanceLaunch, InstanceStarted
from service.executors.local import LocalExecutor
from service.objectstore import ObjectStore
from tests.support.instances import instance_pids


def make_launch(tmp_path: Path, command: str, n: int = 0, **kw: object) -> InstanceLaunch:
    store = ObjectStore.local(tmp_path / "data")
    fields: dict[str, object] = dict(
        key=InstanceKey("job-local", "t", n, 0), command_line=command, package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="oss://logs/", stderr_dir="",
        timeout_s=30.0, sandbox_root=str(tmp_path / "sb"), cluster_id="c", vm_id="v",
        object_store=store.to_config(),
    )
    fields.update(kw)
    return InstanceLaunch(**fields)  # type: ignore[arg-type]


pytestmark = pytest.mark.anyio


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: ExecutorEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def exited(self) -> dict[InstanceKey, InstanceExited]:
        return {e.key: e for e in self.events if isinstance(e, InstanceExited)}

    async def until(self, predicate, timeout: float = 20.0) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


async def test_many_instances_each_start_then_exit_once(tmp_path: Path) -> None:
    rec = Recorder()
    ex = LocalExecutor(rec, max_parallel=8)
    await ex.start()
    launches = [make_launch(tmp_path, f"sh -c 'echo {i}; exit {i % 3}'", i) for i in range(30)]
    for launch in launches:
        await ex.launch(launch)
    await rec.until(lambda: len(rec.exited()) == 30)
    await ex.close()
    store = ObjectStore.local(tmp_path / "data")
    for launch in launches:
        kinds = [type(e).__name__ for e in rec.events if e.key == launch.key]
        assert kinds == ["InstanceStarted", "InstanceExited"]
        exited = rec.exited()[launch.key]
        assert exited.exit_code == launch.key.instance_id % 3
        assert store.read_bytes(exited.stdout_object) == f"{launch.key.instance_id}\n".encode()
    started = [e for e in rec.events if isinstance(e, InstanceStarted)]
    assert all(e.pid > 0 and e.node for e in started)
    assert ex.running == 0


async def test_cancel_kills_running_instance(tmp_path: Path) -> None:
    rec = Recorder()
    ex = LocalExecutor(rec)
    await ex.start()
    launch = make_launch(tmp_path, "sleep 60")
    await ex.launch(launch)
    await rec.until(lambda: any(isinstance(e, InstanceStarted) for e in rec.events))
    await ex.cancel(launch.key)
    await rec.until(lambda: launch.key in rec.exited(), timeout=5)
    assert rec.exited()[launch.key].error_code == "InstanceStopped"
    await ex.close()


async def test_close_stops_everything_and_reports_each(tmp_path: Path) -> None:
    rec = Recorder()
    ex = LocalExecutor(rec, max_parallel=2)
    await ex.start()
    launches = [make_launch(tmp_path, "sleep 60", i) for i in range(4)]  # two run, two queued
    for launch in launches:
        await ex.launch(launch)
    await rec.until(lambda: sum(isinstance(e, InstanceStarted) for e in rec.events) >= 2)
    await ex.close()
    exited = rec.exited()
    assert set(exited) == {la.key for la in launches}
    assert {e.error_code for e in exited.values()} == {"InstanceStopped"}


async def test_timeout_reported(tmp_path: Path) -> None:
    rec = Recorder()
    ex = LocalExecutor(rec)
    await ex.start()
    launch = make_launch(tmp_path, "sleep 60", timeout_s=0.3)
    await ex.launch(launch)
    await rec.until(lambda: launch.key in rec.exited())
    await ex.close()
    assert rec.exited()[launch.key].error_code == "InstanceTimeout"


@pytest.mark.skipif(isolation.probe() != "", reason="needs a bwrap sandbox")
async def test_a_killed_runner_host_leaves_no_sandboxed_command_behind(tmp_path: Path) -> None:
    """Its attempts end ``NodeLost`` and their sandboxes are killed: bwrap's pid 1 does not die
    with its launcher when bwrap switched uid in the run-as user namespace."""
    rec = Recorder()
    ex = LocalExecutor(rec)
    await ex.start()
    launch = make_launch(tmp_path, "sleep 60", isolation=isolation.Isolation(mode="bwrap"))
    await ex.launch(launch)
    await rec.until(lambda: any(isinstance(e, InstanceStarted) for e in rec.events))
    for _ in range(200):  # started = bwrap exists; the command follows once the sandbox is made
        if instance_pids("job-local", program="sleep"):
            break
        await asyncio.sleep(0.05)
    assert instance_pids("job-local", program="sleep")
    host = ex._host
    assert host is not None
    os.kill(host.pid, signal.SIGKILL)
    await rec.until(lambda: launch.key in rec.exited(), timeout=10)
    assert rec.exited()[launch.key].error_code == "NodeLost"
    for _ in range(100):
        if not instance_pids("job-local", program="sleep"):
            break
        await asyncio.sleep(0.05)
    assert not instance_pids("job-local", program="sleep")
    await ex.close()
