"""How a command gets into its cgroups on cgroup v1: the spawning thread moves itself alone into
the attempt's folders, starts the command there and goes back (``Confinement.entering``).

Real cgroups, real processes, real runner threads: what must hold is that each command is born
in its own attempt's folders, and that no runner thread is ever left in one (it would count
against that instance's limits and keep its folders from being removed).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from service.executors import limits
from service.executors.base import InstanceKey, InstanceLaunch
from service.executors.isolation import Isolation
from service.executors.runner import run_instance

pytestmark = pytest.mark.skipif(limits.kind() != "cgroup v1", reason="thread moves are the cgroup v1 way")

JOB = "job-000000005F0E3A1A00000A0B0000JN01"


def _own_cgroups(path: str) -> list[str]:
    return sorted(line for line in Path(path).read_text().splitlines() if not line.startswith("0::"))


def _members(folder: Path) -> set[int]:
    return {int(pid) for pid in (folder / "cgroup.procs").read_text().split()}


def test_concurrent_threads_each_start_their_command_in_its_own_limits_and_go_home() -> None:
    home = _own_cgroups("/proc/self/cgroup")
    results: dict[int, tuple[limits.Confinement, subprocess.Popen[bytes], list[str]]] = {}

    def one(i: int) -> None:
        jail = limits.confine(f"entering-{i}", limits.limits_for(0.2, 1, 16))
        with jail.entering():
            proc = subprocess.Popen([*jail.prefix(), "sleep", "30"])
        results[i] = (jail, proc, _own_cgroups("/proc/thread-self/cgroup"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == list(range(12))
    try:
        for i, (jail, proc, after) in results.items():
            assert after == home, f"thread {i} stayed in {after}"
            folders = jail.folders  # type: ignore[attr-defined]
            assert jail.prefix() == []  # no join process in front of the command
            for folder in folders:
                assert _members(folder) == {proc.pid}, (i, folder)
    finally:
        for jail, proc, _ in results.values():
            proc.kill()
            proc.wait()
            jail.close()
    for jail, _, _ in results.values():
        assert not any(f.exists() for f in jail.folders)  # type: ignore[attr-defined]


def test_a_thread_that_cannot_enter_every_folder_is_back_home() -> None:
    home = _own_cgroups("/proc/thread-self/cgroup")
    jail = limits.confine("entering-gone", limits.limits_for(0.2, 1, 16))
    folders = jail.folders  # type: ignore[attr-defined]
    folders[-1].rmdir()  # the last hierarchy's folder vanished (swept, removed by hand)
    try:
        with pytest.raises(limits.CannotEnter), jail.entering():
            raise AssertionError("entered a folder that is gone")
        assert _own_cgroups("/proc/thread-self/cgroup") == home
        assert all(_members(f) == set() for f in folders[:-1])
    finally:
        jail.close()


def test_a_start_that_fails_leaves_no_runner_thread_in_the_instance_cgroups(tmp_path: Path) -> None:
    """The command exists and is executable but the kernel refuses to exec it (ENOEXEC): the
    failure comes from the spawn itself, inside the limits, and the thread still goes home."""
    bad = tmp_path / "not-a-program"
    bad.write_bytes(b"\x00\x01\x02 neither ELF nor script")
    bad.chmod(0o755)
    launch = InstanceLaunch(
        key=InstanceKey(JOB, "bad", 0, 0), command_line=str(bad), package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="", stderr_dir="",
        timeout_s=60, sandbox_root=str(tmp_path / "sandboxes"), cluster_id="", vm_id="",
        isolation=Isolation(mode="none"),
    )  # fmt: skip
    home = _own_cgroups("/proc/thread-self/cgroup")
    exited = run_instance(launch, lambda: False)
    assert exited.error_code == "CommandNotFound", exited
    assert _own_cgroups("/proc/thread-self/cgroup") == home
    backend = limits.backend()
    for base in (backend.memory, backend.cpu, backend.pids):  # type: ignore[attr-defined]
        assert not list(base.glob(f"{JOB}*")), base
