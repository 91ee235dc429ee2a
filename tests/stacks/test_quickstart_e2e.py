"""The README's main command end to end, from a fresh copy of the committed tree (slow)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_quickstart_up_twice_then_down(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = dict(os.environ, BCS_DEV_PORT=str(_free_port()), BCS_OFFLINE="1", PYTHONPATH=str(clone))
    env.pop("BCS_ACCESS_KEY_ID", None)
    env.pop("BCS_ACCESS_KEY_SECRET", None)
    quick = [sys.executable, "-m", "provider.driver.quickstart"]
    opts = {"cwd": clone, "env": env, "capture_output": True, "text": True}
    try:
        first = subprocess.run([*quick, "up"], **opts, timeout=400)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "testJob: Finished" in first.stdout and "wordcount: Finished" in first.stdout
        counts = clone / ".bcs/dev/oss/bcs-dev/wordcount/result/counts.txt"
        assert "the 3" in counts.read_text()
        assert "bcsd oss --data-dir .bcs/dev cat oss://bcs-dev/testJob/output/summary.txt" in first.stdout
        second = subprocess.run([*quick, "up"], **opts, timeout=400)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "Resources: 2 unchanged" in second.stdout
        status = subprocess.run([*quick, "status"], **opts)
        assert "testJob: Finished" in status.stdout
    finally:
        down = subprocess.run([*quick, "down"], **opts, timeout=60)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert not (clone / ".bcs/dev/bcsd.pid").exists()
