"""``make up`` with the real engine, then with the offline driver, on one checkpoint (slow).

From a fresh clone: the first ``up`` finds the CLI that ``make pulumi`` built and deploys with it;
a second one finds the lock of a killed run and clears it first; a third with ``BCS_OFFLINE=1``
deploys with ``bcs-deploy`` from the same file backend (``.bcs/pulumi``) and finds nothing to do;
``down`` stops bcsd.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stacks.test_quickstart_e2e import _free_port
from tests.support.pulumi_cli import REPO, require_cli

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow]


def test_up_with_the_cli_then_the_driver_is_a_no_op(tmp_path: Path) -> None:
    bin_dir = require_cli()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = dict(os.environ, BCS_DEV_PORT=str(_free_port()), PYTHONPATH=str(clone))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for key in ("BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET", "BCS_OFFLINE", "PULUMI_BACKEND_URL"):
        env.pop(key, None)
    env["PULUMI_HOME"] = str(tmp_path / "pulumi-home")
    quick = [sys.executable, "-m", "provider.driver.quickstart"]
    opts = {"cwd": clone, "capture_output": True, "text": True}
    try:
        first = subprocess.run([*quick, "up"], **opts, env=env, timeout=400)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "deploying with the Pulumi CLI v" in first.stdout and str(bin_dir) in first.stdout
        assert "testJob: Finished" in first.stdout and "wordcount: Finished" in first.stdout
        assert (clone / ".bcs/pulumi/.pulumi/stacks/bcs-gitops/dev.json").exists()
        # a killed `pulumi up` leaves its lock (this is the CLI's lock format): the next up clears it
        dead = subprocess.Popen(["true"])
        dead.wait()
        locks = clone / ".bcs/pulumi/.pulumi/locks/organization/bcs-gitops/dev"
        locks.mkdir(parents=True, exist_ok=True)
        lock = {"pid": dead.pid, "username": "root", "hostname": socket.gethostname(),
                "timestamp": "2026-12-01T00:00:00Z"}
        (locks / "00000000-0000-0000-0000-000000000000.json").write_text(json.dumps(lock))
        again = subprocess.run([*quick, "up"], **opts, env=env, timeout=400)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"a previous deployment (pid {dead.pid}) was killed" in again.stdout
        assert not list(locks.glob("*.json"))
        offline = subprocess.run([*quick, "up"], **opts, env={**env, "BCS_OFFLINE": "1"}, timeout=400)
        assert offline.returncode == 0, offline.stdout + offline.stderr
        assert "deploying with the offline driver bcs-deploy (BCS_OFFLINE=1)" in offline.stdout
        assert "Resources: 2 unchanged" in offline.stdout, offline.stdout
    finally:
        down = subprocess.run([*quick, "down"], **opts, env=env, timeout=60)
    assert down.returncode == 0 and "stopped" in down.stdout
