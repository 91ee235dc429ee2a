"""Who a sandboxed command is, seen from outside the sandbox, when the runner is root: the run-as
uid and gid, no supplementary groups, no new privileges, no capabilities — whether bwrap dropped
it in the run-as user namespace (``userns.py``) or ``setpriv`` did.

Real bwrap, a real runner thread (``run_instance``) and the command's real ``/proc`` entry.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from service.executors import isolation, userns
from service.executors.base import InstanceExited, InstanceKey, InstanceLaunch
from service.executors.runner import run_instance
from tests.support.instances import instance_pids

pytestmark = [
    pytest.mark.skipif(
        isolation.probe() != "" and not os.environ.get("BCS_REQUIRE_BWRAP"),
        reason=f"no bwrap sandbox here: {isolation.probe()}",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="the run-as user applies to a root runner"),
]

JOB = "job-000000005F0E3A1A00000A0B0000RA01"


def _status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def _launch(tmp_path: Path, run_as: tuple[int, int]) -> InstanceLaunch:
    return InstanceLaunch(
        key=InstanceKey(JOB, "who", run_as[0], 0), command_line="sleep 30", package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="", stderr_dir="",
        timeout_s=60, sandbox_root=str(tmp_path / "sandboxes"), cluster_id="", vm_id="vm-0",
        isolation=isolation.Isolation(mode="bwrap", run_as=run_as),
    )  # fmt: skip


def _seen_from_outside(launch: InstanceLaunch) -> tuple[dict[str, str], InstanceExited]:
    stop = threading.Event()
    ended: list[InstanceExited] = []
    runner = threading.Thread(target=lambda: ended.append(run_instance(launch, stop.is_set)))
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while not (pids := instance_pids(JOB, instance_id=launch.key.instance_id, program="sleep")):
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.02)
        return _status(pids[0]), _end(stop, runner, ended)
    except BaseException:
        _end(stop, runner, ended)
        raise


def _end(stop: threading.Event, runner: threading.Thread, ended: list[InstanceExited]) -> InstanceExited:
    stop.set()
    runner.join(30)
    return ended[0]


@pytest.fixture
def watched_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process starts sandboxes as the runner host does (the namespace path)."""
    monkeypatch.setattr(userns, "_launcher_watched", True)


@pytest.mark.parametrize("path", ["namespace", "setpriv"])
@pytest.mark.parametrize("run_as", [(65534, 65534), (4242, 4343)])
def test_the_command_is_the_run_as_user_without_groups_privileges_or_capabilities(
    tmp_path: Path, run_as: tuple[int, int], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(userns, "_launcher_watched", path == "namespace")
    status, exited = _seen_from_outside(_launch(tmp_path, run_as))
    uid, gid = run_as
    assert status["Uid"].split() == [str(uid)] * 4
    assert status["Gid"].split() == [str(gid)] * 4
    assert status["Groups"] == ""
    assert status["NoNewPrivs"] == "1"
    for caps in ("CapPrm", "CapEff", "CapAmb"):
        assert int(status[caps], 16) == 0, (caps, status[caps])
    assert exited.error_code == "InstanceStopped"


def test_a_root_runner_drops_to_the_run_as_user_without_a_setpriv_exec(watched_launcher: None) -> None:
    """Where the user namespace can be made (this machine, with bwrap 0.8+), the sandbox's argv
    ends in the command itself; run-as ids 0 and 1 cannot use it and keep setpriv."""
    assert userns.for_user(65534, 65534) is not None
    argv = isolation.bwrap_argv(isolation.Isolation(mode="bwrap"), workdir="/", writable=[])
    assert "/usr/bin/setpriv" not in argv and argv[-1] == "--"
    assert isolation.spawn_needs(isolation.Isolation(mode="bwrap")).fds == (userns.for_user(65534, 65534),)
    for taken in ((1, 65534), (65534, 0)):
        assert userns.for_user(*taken) is None
        argv = isolation.bwrap_argv(isolation.Isolation(mode="bwrap", run_as=taken), workdir="/", writable=[])
        assert "/usr/bin/setpriv" in argv


WORKER = """
import sys, threading
from pathlib import Path
from service.executors import isolation
from service.executors.base import InstanceKey, InstanceLaunch
from service.executors.runner import run_instance
launch = InstanceLaunch(
    key=InstanceKey(sys.argv[1], "who", 0, 0), command_line="sleep 60", package_path="", env={},
    input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="", stderr_dir="",
    timeout_s=120, sandbox_root=sys.argv[2], cluster_id="", vm_id="vm-0",
    isolation=isolation.Isolation(mode="bwrap"),
)
run_instance(launch, threading.Event().is_set)
"""


def test_a_sandbox_dies_with_a_killed_launcher_nobody_watches(tmp_path: Path) -> None:
    """A Dask worker is such a launcher: nothing kills its attempts' groups when it is killed, so
    its sandboxes keep ``setpriv`` and bwrap's ``--die-with-parent`` (in the run-as namespace
    that signal cannot cross bwrap's uid switch and the ``sleep`` below would outlive it)."""
    job = "job-000000005F0E3A1A00000A0B0000RA02"
    root = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen([sys.executable, "-c", WORKER, job, str(tmp_path / "sandboxes")], cwd=root)
    try:
        deadline = time.monotonic() + 20
        while not (pids := instance_pids(job, instance_id=0, program="sleep")):
            assert worker.poll() is None and time.monotonic() < deadline, "the command never started"
            time.sleep(0.02)
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 10
        while instance_pids(job, instance_id=0, program="sleep") and time.monotonic() < deadline:
            time.sleep(0.05)
        left = instance_pids(job, instance_id=0, program="sleep")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"the sandboxed command outlived its killed launcher: {pids}"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
