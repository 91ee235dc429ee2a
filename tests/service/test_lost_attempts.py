"""``recovery.kill_orphan``, the one rule restart recovery and lease take-over share: a recorded
pid is killed only while that process works inside the attempt's own sandbox (its recorded
one, or our layout path); a recycled pid, now an unrelated program, is left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from service.scheduler.recovery import kill_orphan


def lost_row(pid: int, sandbox_path: str = "") -> SimpleNamespace:
    return SimpleNamespace(
        job_id="job-1",
        task_name="a",
        instance_id=0,
        attempt=1,
        pid=pid,
        sandbox_path=sandbox_path,
        state="Running",
    )


def sleeper(cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], cwd=cwd, start_new_session=True)


def test_an_orphan_in_its_sandbox_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "sandboxes"
    box = root / "job-1" / "a" / "0" / "0"
    (box / "workdir").mkdir(parents=True)
    orphan = sleeper(box / "workdir")
    try:
        assert kill_orphan(lost_row(orphan.pid), root)
        assert orphan.wait(timeout=10) == -9
    finally:
        orphan.kill()


def test_an_orphan_in_its_recorded_sandbox_under_another_root_is_killed(tmp_path: Path) -> None:
    """Take-over: the lost node's data dir lies elsewhere; its recorded path names the attempt."""
    other = tmp_path / "node1" / "sandboxes" / "job-1" / "a" / "0" / "0"
    other.mkdir(parents=True)
    orphan = sleeper(other)
    try:
        assert kill_orphan(lost_row(orphan.pid, str(other)), tmp_path / "node2" / "sandboxes")
        assert orphan.wait(timeout=10) == -9
    finally:
        orphan.kill()


def test_a_recycled_pid_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "sandboxes"
    (root / "job-1" / "a" / "0" / "0").mkdir(parents=True)
    unrelated = sleeper(tmp_path)  # the pid now belongs to a program outside any sandbox
    try:
        assert not kill_orphan(lost_row(unrelated.pid), root)
        # a recorded path that does not name this attempt is not trusted either
        assert not kill_orphan(lost_row(unrelated.pid, str(tmp_path)), root)
        assert unrelated.poll() is None
    finally:
        unrelated.kill()
        unrelated.wait()
