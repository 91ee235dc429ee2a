"""kill -9 of bcsd while jobs run, restart on the same data dir: every job is still there, the
lost attempts follow MaxRetryCount, the orphaned processes are killed before any retry, and
the lost attempts' sandboxes are removed unless the task's AutoCluster.ReserveOnFail keeps them."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient
from tests.support.instances import instance_pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _keepers(host: int) -> list[int]:
    """The runner host's keeper (``executors/keeper.py``): its child running the interpreter (the
    host's other children are bwrap or the commands themselves)."""
    python = os.path.realpath(sys.executable)
    found = []
    for pid in _children(host):
        try:
            if os.path.realpath(f"/proc/{pid}/exe") == python:
                found.append(pid)
        except OSError:
            continue
    return found


def _crash(bcsd: BcsdProcess) -> None:
    """kill -9 of bcsd, of its runner host and of the host's keeper, as a crash of the node: a
    runner host that outlives bcsd stops the attempts and cleans their sandboxes up itself, and
    a keeper that outlives the host kills its commands, so only both dead leave the commands and
    sandboxes to recovery. Frozen first, so they do nothing when a pipe closes."""
    hosts = _children(bcsd.pid)
    keepers = [k for host in hosts for k in _keepers(host)]
    assert keepers, "each runner host starts a keeper"
    for pid in hosts + keepers:
        os.kill(pid, signal.SIGSTOP)
    bcsd.kill9()
    for pid in hosts + keepers:
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("confined", ["auto", "none"])
def test_a_crash_of_bcsd_with_its_runner_host_leaves_no_command_running(
    tmp_path: Path, confined: str
) -> None:
    """Neither bwrap's pid 1 in the run-as user namespace nor an unconfined command gets a
    parent-death signal, and with bcsd dead nobody kills the groups of its dead runner host: its
    keeper does, at once, without waiting for a restart. After a normal stop no keeper is left."""
    bcsd = start_bcsd(tmp_path, isolation=confined)
    client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
    left: list[int] = []
    try:
        jid = client.create_job(job({"a": task("sleep 60", count=2)}))
        client.wait_job(jid, ("Running",))
        deadline = time.monotonic() + 20
        while len(instance_pids(jid, program="sleep")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(instance_pids(jid, program="sleep")) == 2
        hosts = _children(bcsd.pid)
        os.kill(bcsd.pid, signal.SIGSTOP)  # bcsd must not see its host die: both die "at once"
        for pid in hosts:
            os.kill(pid, signal.SIGKILL)
        bcsd.kill9()
        deadline = time.monotonic() + 10
        while (left := instance_pids(jid, program="sleep")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not left, "a command outlived bcsd and its runner host"

        bcsd.restart()  # a normal run and stop: the keeper ends with its host
        client.wait_job(client.create_job(job({"a": task("true")})))
        keepers = [k for host in _children(bcsd.pid) for k in _keepers(host)]
        assert len(keepers) == 1
        bcsd.stop()
        deadline = time.monotonic() + 10
        while _alive(keepers[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(keepers[0]), "the keeper outlived a runner host that closed"
    finally:
        for pid in left:  # never leave a process behind, even when the test fails
            os.kill(pid, signal.SIGKILL)
        client.close()
        bcsd.stop()


@pytest.mark.slow
def test_kill9_and_restart_recovers_every_job(tmp_path: Path) -> None:
    bcsd = start_bcsd(tmp_path)
    client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
    try:
        # the first attempt sleeps (found from outside its sandbox by its environment); a retry
        # finishes at once
        cmd = "sh -c 'if [ \"$BATCH_COMPUTE_ATTEMPT\" = 0 ]; then exec sleep 60; fi'"
        retried = client.create_job(job({"a": task(cmd, retry=1)}))
        final = client.create_job(job({"a": task(cmd, retry=0)}))
        reserved = client.create_job(job({"a": task(cmd, retry=0, reserve_on_fail=True)}))
        done = client.create_job(job({"a": task("true")}))
        client.wait_job(done)
        for jid in (retried, final, reserved):
            client.wait_job(jid, ("Running",))
        deadline = time.monotonic() + 20
        jobs = (retried, final, reserved)
        while any(not instance_pids(j, program="sleep") for j in jobs) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = [pid for j in jobs for pid in instance_pids(j, program="sleep")]
        assert len(orphans) == 3 and all(_alive(p) for p in orphans)
        sandboxes = bcsd.data_dir / "sandboxes"
        first = {jid: sandboxes / jid / "a" / "0" / "0" for jid in (retried, final, reserved)}
        assert all((box / "workdir").is_dir() for box in first.values())

        _crash(bcsd)
        bcsd.restart()

        assert client.job(done)["State"] == "Finished"
        assert client.wait_job(retried, timeout=30)["State"] == "Finished"
        inst = client.get(f"/jobs/{retried}/tasks/a/instances/0").json()
        assert inst["RetryCount"] == 1
        failed = client.wait_job(final, timeout=30)
        assert failed["State"] == "Failed"
        lost = client.get(f"/jobs/{final}/tasks/a/instances/0").json()
        assert lost["Result"]["ErrorCode"] == "NodeLost"
        time.sleep(0.2)
        assert not any(_alive(p) for p in orphans), "orphaned attempts must be killed on restart"
        history = client.get(f"/jobs/{retried}/history").json()["Items"]
        assert any(h["Cause"].startswith("retry 1: NodeLost") for h in history)

        # the lost attempts' sandboxes: gone with their job folders, except under ReserveOnFail
        assert not (sandboxes / final).exists(), "a lost attempt's sandbox is removed on restart"
        assert not (sandboxes / retried).exists(), "so is a retried one's (the retry removes its own)"
        assert client.wait_job(reserved, timeout=30)["State"] == "Failed"
        assert (first[reserved] / "workdir").is_dir(), "ReserveOnFail keeps the lost attempt's sandbox"
        kept = client.get(f"/jobs/{reserved}/tasks/a/instances/0").json()
        assert kept["Result"]["ErrorCode"] == "NodeLost"
        assert kept["SandboxPath"] == str(first[reserved])
        assert lost["SandboxPath"] == ""
    finally:
        client.close()
        bcsd.stop()
