"""DaskExecutor against a real ``dask scheduler`` and real ``dask worker`` processes on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.executors.base import (
    ExecutorEvent,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
    InstanceWaiting,
)
from service.executors.dask import DaskExecutor
from service.objectstore import ObjectStore
from tests.service.dask_cluster import DaskCluster

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaskCluster, dict[str, str]]]:
    c = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        c.start_scheduler()
        c.start_worker("big", "CPU=4,MEMORY=8e9,cluster-cls-big=1")
        c.start_worker("small", "CPU=2,MEMORY=4e9")
        addresses = c.wait_for_workers({"big", "small"})
        yield c, addresses
    finally:
        c.stop()


class Recorder:
    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: ExecutorEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type, key: InstanceKey) -> list:
        return [e for e in self.events if isinstance(e, kind) and e.key == key]

    async def until(self, predicate, timeout: float = 30.0) -> None:
        async def loop() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


def make_launch(tmp_path: Path, command: str, name: str, **kw: object) -> InstanceLaunch:
    fields: dict[str, object] = dict(
        key=InstanceKey("job-dask", name, 0, 0), command_line=command, package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="oss://logs/", stderr_dir="oss://logs/",
        timeout_s=60.0, sandbox_root=str(tmp_path / "sb"), cluster_id="cls-any", vm_id="vm",
        object_store=ObjectStore.local(tmp_path / "data").to_config(),
    )
    fields.update(kw)
    return InstanceLaunch(**fields)  # type: ignore[arg-type]


def _gone(pid: int) -> bool:
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


async def test_same_semantics_as_local(cluster, tmp_path: Path) -> None:
    c, addresses = cluster
    store = ObjectStore.local(tmp_path / "data")
    buf = io.BytesIO()
    script = (
        b"import os\n"
        b"print(open(os.environ['BATCH_COMPUTE_LOCAL_ROOT'] + '/in/x').read(), os.environ['V'])\n"
    )
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("w.py")
        info.size = len(script)
        tar.addfile(info, io.BytesIO(script))
    store.write_bytes("oss://p/w.tar.gz", buf.getvalue())
    store.write_bytes("oss://d/x", b"payload")
    launch = make_launch(tmp_path, "python w.py", "same", package_path="oss://p/w.tar.gz", env={"V": "v1"},
                         input_mapping={"oss://d/x": "/in/x"})
    rec = Recorder()
    ex = DaskExecutor(rec, c.address)
    await ex.start()
    try:
        await ex.launch(launch)
        await rec.until(lambda: rec.of(InstanceExited, launch.key))
    finally:
        await ex.close()
    [started] = rec.of(InstanceStarted, launch.key)
    [exited] = rec.of(InstanceExited, launch.key)
    assert exited.succeeded, exited
    assert started.node in addresses.values() and exited.node == started.node
    assert started.pid > 0
    assert store.read_bytes(exited.stdout_object) == b"payload v1\n"
    assert exited.stdout_object == "oss://logs/stdout.job-dask.same.0"


async def test_resources_route_to_the_worker_that_offers_them(cluster, tmp_path: Path) -> None:
    c, addresses = cluster
    rec = Recorder()
    ex = DaskExecutor(rec, c.address)
    await ex.start()
    pinned = [make_launch(tmp_path, "true", f"pin{i}", cluster_id="cls-big") for i in range(4)]
    wide = [make_launch(tmp_path, "true", f"wide{i}", cpu=3.0) for i in range(3)]
    try:
        for launch in pinned + wide:
            await ex.launch(launch)
        await rec.until(lambda: all(rec.of(InstanceExited, la.key) for la in pinned + wide))
    finally:
        await ex.close()
    for launch in pinned + wide:
        [exited] = rec.of(InstanceExited, launch.key)
        assert exited.succeeded and exited.node == addresses["big"], exited


async def test_unschedulable_reported_then_failed(cluster, tmp_path: Path) -> None:
    c, _ = cluster
    rec = Recorder()
    ex = DaskExecutor(rec, c.address, unschedulable_timeout_s=1.0, monitor_interval_s=0.2)
    await ex.start()
    launch = make_launch(tmp_path, "true", "huge", cpu=64.0)
    try:
        await ex.launch(launch)
        await rec.until(lambda: rec.of(InstanceExited, launch.key))
    finally:
        await ex.close()
    [waiting] = rec.of(InstanceWaiting, launch.key)
    assert "CPU=64" in waiting.reason
    [exited] = rec.of(InstanceExited, launch.key)
    assert exited.error_code == "Unschedulable"
    assert not rec.of(InstanceStarted, launch.key)
    kinds = [type(e) for e in rec.events if e.key == launch.key]
    assert kinds == [InstanceWaiting, InstanceExited]


async def test_stop_kills_the_remote_process(cluster, tmp_path: Path) -> None:
    c, _ = cluster
    rec = Recorder()
    ex = DaskExecutor(rec, c.address)
    await ex.start()
    launch = make_launch(tmp_path, "sleep 120", "stopme")
    try:
        await ex.launch(launch)
        await rec.until(lambda: rec.of(InstanceStarted, launch.key))
        await ex.cancel(launch.key)
        await rec.until(lambda: rec.of(InstanceExited, launch.key), timeout=10)
    finally:
        await ex.close()
    [started] = rec.of(InstanceStarted, launch.key)
    [exited] = rec.of(InstanceExited, launch.key)
    assert exited.error_code == "InstanceStopped"
    assert _gone(started.pid)


async def test_stop_before_the_start_report_still_kills(cluster, tmp_path: Path) -> None:
    """A stop that reaches an attempt before its worker reported the start (e.g. right after
    StartJob): the process must not survive. It used to, because the stop Event was cleared as
    soon as bcsd gave the attempt up, before the worker had looked at it."""
    c, _ = cluster
    rec = Recorder()
    ex = DaskExecutor(rec, c.address)
    await ex.start()
    marker = f"{os.getpid()}{time.time_ns() % 10**6}"
    # the window: after the worker claimed the attempt, before its start report reached us
    delays = (0.005, 0.01, 0.02, 0.03, 0.05, 0.08)
    launches = [make_launch(tmp_path, f"sleep 97.{marker}{i}", f"early{i}") for i in range(len(delays))]
    try:
        for launch, delay in zip(launches, delays, strict=True):
            await ex.launch(launch)
            await asyncio.sleep(delay)
            await ex.cancel(launch.key)
        for launch in launches:
            await rec.until(lambda launch=launch: rec.of(InstanceExited, launch.key), timeout=20)
    finally:
        await ex.close()
    assert all(rec.of(InstanceExited, x.key)[0].error_code == "InstanceStopped" for x in launches)

    def survivors() -> str:
        return subprocess.run(["pgrep", "-f", f"sleep 97.{marker}"], capture_output=True, text=True).stdout

    deadline = time.monotonic() + 15  # a process that did start is killed within the stop-poll period
    while survivors() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert survivors() == ""


async def test_worker_killed_mid_instance_is_one_node_lost(cluster, tmp_path: Path) -> None:
    c, _ = cluster
    # two extra workers that both offer the pinned cluster: Dask will re-run the task on the survivor
    c.start_worker("victim-a", "CPU=1,MEMORY=1e9,cluster-cls-victim=1", nthreads=1)
    c.start_worker("victim-b", "CPU=1,MEMORY=1e9,cluster-cls-victim=1", nthreads=1)
    addresses = await asyncio.to_thread(c.wait_for_workers, {"victim-a", "victim-b"})
    by_address = {a: n for n, a in addresses.items()}
    rec = Recorder()
    ex = DaskExecutor(rec, c.address, monitor_interval_s=0.2)
    await ex.start()
    launch = make_launch(tmp_path, "sleep 120", "victim", cluster_id="cls-victim")
    pid = 0
    try:
        await ex.launch(launch)
        await rec.until(lambda: rec.of(InstanceStarted, launch.key))
        [started] = rec.of(InstanceStarted, launch.key)
        pid = started.pid
        c.kill(by_address[started.node])
        await rec.until(lambda: rec.of(InstanceExited, launch.key))
        await asyncio.sleep(2.0)  # room for a (wrong) second run to show up
    finally:
        await ex.close()
        if pid:  # the killed worker cannot reap its orphaned process group; we do
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        c.kill("victim-a")
        c.kill("victim-b")
    assert len(rec.of(InstanceStarted, launch.key)) == 1
    [exited] = rec.of(InstanceExited, launch.key)
    assert exited.error_code == "NodeLost"
