"""kill -9 of bcsd while jobs run, restart on the same data dir: every job is still there, the
lost attempts follow MaxRetryCount, and the orphaned processes are killed before any retry."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient


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


@pytest.mark.slow
def test_kill9_and_restart_recovers_every_job(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    bcsd = start_bcsd(tmp_path)
    client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
    try:
        # first attempt records its pid and sleeps; a retry finishes at once
        cmd = (
            f'sh -c \'if [ "$BATCH_COMPUTE_ATTEMPT" = 0 ]; then echo $$ > {pids}/$BATCH_COMPUTE_DAG_JOB_ID; '
            "exec sleep 60; fi'"
        )
        retried = client.create_job(job({"a": task(cmd, retry=1)}))
        final = client.create_job(job({"a": task(cmd, retry=0)}))
        done = client.create_job(job({"a": task("true")}))
        client.wait_job(done)
        for jid in (retried, final):
            client.wait_job(jid, ("Running",))
        deadline = time.monotonic() + 20
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = [int((pids / jid).read_text()) for jid in (retried, final)]
        assert all(_alive(p) for p in orphans)

        bcsd.kill9()
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
    finally:
        client.close()
        bcsd.stop()
