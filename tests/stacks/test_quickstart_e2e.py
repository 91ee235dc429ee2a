"""The README's main command end to end, from a fresh copy of the committed tree (slow)."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.service.jobspec import job, task
from tests.support.client import SignedClient
from tests.support.waiting import until

from .conftest import REPO

QUICK = [sys.executable, "-m", "provider.driver.quickstart"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clone(tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    return clone


def _env(clone: Path, port: int) -> dict[str, str]:
    env = dict(os.environ, BCS_DEV_PORT=str(port), BCS_OFFLINE="1", PYTHONPATH=str(clone))
    for key in ("BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET", "BCS_ENDPOINT", "PULUMI_BACKEND_URL"):
        env.pop(key, None)
    return env


def _run(clone: Path, command: str, port: int, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*QUICK, command], cwd=clone, env=_env(clone, port), capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_quickstart_up_twice_then_down(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    port = _free_port()
    try:
        first = _run(clone, "up", port)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "testJob: Finished" in first.stdout and "wordcount: Finished" in first.stdout
        counts = clone / ".bcs/dev/oss/bcs-dev/wordcount/result/counts.txt"
        assert "the 3" in counts.read_text()
        assert "bcsd oss --data-dir .bcs/dev cat oss://bcs-dev/testJob/output/summary.txt" in first.stdout
        second = _run(clone, "up", port)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "Resources: 2 unchanged" in second.stdout
        status = _run(clone, "status", port)
        assert "testJob: Finished" in status.stdout
    finally:
        down = _run(clone, "down", port, timeout=60)
    assert down.returncode == 0 and "stopped" in down.stdout
    assert "bcsd is not running" in _run(clone, "status", port).stdout


def _sdk_job_that_fails(clone: Path, url: str) -> str:
    """A job submitted beside the stack, as a script with the SDK would: it fails."""
    creds = json.loads((clone / ".bcs/dev/credentials.json").read_text())
    with SignedClient(url, creds["AccessKeyId"], creds["AccessKeySecret"]) as client:
        body = job({"boom": task("python -c 'raise SystemExit(3)'",
                                 logs="oss://bcs-dev/testJob/logs/")}, Name="sdk-job")
        job_id = client.post("/jobs", body).json()["Id"]

        def failed() -> Any:
            return client.get(f"/jobs/{job_id}").json().get("State") == "Failed"

        until(failed, "the SDK job to fail")
    return job_id


@pytest.mark.slow
def test_quickstart_judges_only_its_own_jobs_and_keeps_one_bcsd_per_data_dir(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    port, other_port = _free_port(), _free_port()
    try:
        first = _run(clone, "up", port)
        assert first.returncode == 0, first.stdout + first.stderr
        pid = int(re.search(r"bcsd started \(pid (\d+)\)", first.stdout).group(1))  # type: ignore[union-attr]
        sdk_job = _sdk_job_that_fails(clone, f"http://127.0.0.1:{port}")

        # another BCS_DEV_PORT: the data dir's bcsd is reused, and the failed SDK job is not ours
        again = _run(clone, "up", other_port)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"bcsd already running (pid {pid}) at http://127.0.0.1:{port}" in again.stdout
        assert sdk_job not in again.stdout + again.stderr
        jobs = dict(re.findall(r"^  (testJob|wordcount): Finished  \((job-\w+)\)$", again.stdout, re.M))
        assert set(jobs) == {"testJob", "wordcount"}
        # every printed log command runs as printed and prints that job's file
        commands = [line.strip() for line in again.stdout.splitlines() if " oss --data-dir " in line]
        assert commands and all(jobs["testJob"] in c or jobs["wordcount"] in c or "/logs/" not in c
                                for c in commands)
        for command in commands:
            shown = subprocess.run(shlex.split(command), cwd=clone, capture_output=True, text=True,
                                   timeout=60, env={"PATH": "/usr/bin:/bin"})
            assert shown.returncode == 0, command + shown.stderr
        summary = next(c for c in commands if c.endswith("testJob/output/summary.txt"))
        assert summary.startswith(".venv/bin/bcsd ") or summary.startswith(str(Path(sys.executable).parent))

        # bcs-deploy by hand, as the up's last line says, with no BCS_* in the environment
        by_hand = next(line for line in again.stdout.splitlines() if line.startswith("bcs-deploy by hand: "))
        preview = subprocess.run(["sh", "-c", by_hand.removeprefix("bcs-deploy by hand: ")], cwd=clone,
                                 capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
        assert preview.returncode == 0, preview.stdout + preview.stderr
        assert "Resources: 2 unchanged" in preview.stdout
        assert not subprocess.run(["git", "status", "--porcelain", "stacks"], cwd=clone, capture_output=True,
                                  text=True).stdout  # the port change wrote nothing into Pulumi.dev.yaml

        status = _run(clone, "status", other_port)
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"bcsd running (pid {pid}) at http://127.0.0.1:{port}" in status.stdout
        assert sdk_job not in status.stdout

        # a job of the stack fails: up says which, where and why, and fails; so does status
        spec = clone / "stacks/specs/jobs/testJob.yaml"
        broken = spec.read_text().replace("CommandLine: python worker.py", "CommandLine: python nosuch.py")
        spec.write_text(broken)
        failing = _run(clone, "up", port)
        assert failing.returncode == 1, failing.stdout + failing.stderr
        assert re.search(r"error: job testJob \(job-\w+\) Failed: task taskA instance 0: exit code 2",
                         failing.stderr), failing.stderr
        status = _run(clone, "status", port)
        assert status.returncode == 1 and "error: job testJob" in status.stderr
    finally:
        down = _run(clone, "down", other_port, timeout=60)
    assert down.returncode == 0 and f"bcsd stopped (pid {pid}, http://127.0.0.1:{port})" in down.stdout
    assert "bcsd is not running" in _run(clone, "status", port).stdout
