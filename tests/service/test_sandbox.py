"""Sandbox folders under concurrency, and the clean-up of attempts lost with their bcsd.

Sibling instances of one task share ``<root>/<JobId>/<TaskName>/``: one instance's ``remove``
rmdirs those folders the moment they are empty, possibly while another's ``create`` is making
them. A 10,000-instance job once ended an instance ``NodeLost: cannot create the sandbox …
File exists`` that way; the hammer below reproduces that race against the old code.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from service.executors import sandbox as sb
from service.executors.base import InstanceKey, InstanceLaunch

JOB = "job-000000005F0E3A1A00000A0B00000001"
THREADS = 32
ITERATIONS = 200


def launch(root: Path, idx: int, attempt: int = 0, task: str = "t") -> InstanceLaunch:
    return InstanceLaunch(
        key=InstanceKey(JOB, task, idx, attempt), command_line="true", package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="", stderr_dir="",
        timeout_s=1.0, sandbox_root=str(root), cluster_id="", vm_id="",
    )  # fmt: skip


def hammer(
    root: Path,
    create: Callable[[sb.Sandbox], None],
    remove: Callable[[sb.Sandbox, str], None],
    threads: int = THREADS,
    iterations: int = ITERATIONS,
) -> list[BaseException]:
    """Every thread runs its own sibling instances of one task: create, write, remove.
    Returns whatever was raised (a separate function so the old code can be checked with it)."""
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def worker(t: int) -> None:
        start.wait()
        for n in range(iterations):
            box = sb.sandbox_for(launch(root, t * iterations + n))
            try:
                create(box)
                (box.workdir / "out.txt").write_text("x")
                remove(box, str(root))
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    return errors


def test_sibling_create_and_remove_never_race(tmp_path: Path) -> None:
    root = tmp_path / "sandboxes"
    root.mkdir()
    errors = hammer(root, sb.create, sb.remove)
    assert errors == [], f"{len(errors)} failures, e.g. {errors[0]!r}"
    assert root.is_dir(), "the sandbox root itself is never removed"
    assert list(root.iterdir()) == []


def interleaved(
    root: Path,
    create: Callable[[sb.Sandbox], None],
    remove: Callable[[sb.Sandbox, str], None],
    monkeypatch: pytest.MonkeyPatch,
    runs: int = 300,
) -> list[BaseException]:
    """The same race made likely on purpose: around every ``os.mkdir`` of ``create`` (pathlib's
    and ``os.makedirs`` both go through it) simulated siblings make or rmdir the shared job and
    task folders, as their own ``create``/``remove`` would between two of our system calls.
    Seeded, so a failure replays."""
    rng = random.Random(15)
    real_mkdir, real_rmdir = os.mkdir, os.rmdir
    job, task = root / JOB, root / JOB / "t"

    def sibling() -> None:
        if rng.random() < 0.5:  # a sibling's create got as far as the task folder
            for folder in (job, task):
                try:
                    real_mkdir(folder)
                except FileExistsError:
                    pass
                except FileNotFoundError:
                    return
        else:  # a sibling's remove: only empty folders go, like sandbox.remove
            for folder in (task, job):
                try:
                    real_rmdir(folder)
                except FileNotFoundError:
                    continue
                except OSError:
                    return

    def racing_mkdir(path: str | os.PathLike[str], mode: int = 0o777) -> None:
        if rng.random() < 0.5:
            sibling()
        try:
            real_mkdir(path, mode)
        except FileExistsError:
            if rng.random() < 0.5:  # gone again before the caller checks it is a directory
                sibling()
            raise
        if rng.random() < 0.3:
            sibling()

    errors: list[BaseException] = []
    for n in range(runs):
        box = sb.sandbox_for(launch(root, n))
        with monkeypatch.context() as m:
            m.setattr(os, "mkdir", racing_mkdir)
            try:
                create(box)
                assert box.workdir.is_dir() and box.fs.is_dir(), "create returned without its folders"
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
        remove(box, str(root))
    return errors


def test_create_survives_siblings_between_each_mkdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "sandboxes"
    root.mkdir()
    errors = interleaved(root, sb.create, sb.remove, monkeypatch)
    assert errors == [], f"{len(errors)} failures, e.g. {errors[0]!r}"


def test_remove_keeps_busy_parents_and_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "sandboxes"
    a, b = (sb.sandbox_for(launch(root, i)) for i in (0, 1))
    sb.create(a)
    sb.create(b)
    sb.remove(a, str(root))
    assert not a.root.parent.exists() and b.workdir.is_dir()  # the shared task folder stays
    sb.remove(b, str(root))
    assert root.is_dir() and list(root.iterdir()) == []
    outside = tmp_path / "elsewhere" / "x" / "y" / "z" / "0"
    (outside / "workdir").mkdir(parents=True)
    sb.remove(sb.Sandbox(outside), str(root))  # not under the root: only the box itself goes
    assert not outside.exists() and outside.parent.is_dir()


def test_create_wipes_a_leftover_of_the_same_attempt(tmp_path: Path) -> None:
    box = sb.sandbox_for(launch(tmp_path, 3))
    sb.create(box)
    (box.workdir / "stale").write_text("old")
    sb.create(box)
    assert box.workdir.is_dir() and box.fs.is_dir() and not (box.workdir / "stale").exists()


def test_remove_lost_removes_unless_reserve_on_fail(tmp_path: Path) -> None:
    """``keep`` is the task's ``reserves_on_fail`` (which tasks reserve: tests/api/test_cluster_choice)."""
    root = tmp_path / "sandboxes"
    for kept in (False, True):
        box = sb.sandbox_for(launch(root, 0, attempt=2))
        sb.create(box)
        got = sb.remove_lost(root, InstanceKey(JOB, "t", 0, 2), "", kept)
        assert got == (str(box.root) if kept else "")
        assert box.root.is_dir() is kept
        sb.remove(box, str(root))


def test_remove_lost_trusts_a_recorded_path_only_when_it_names_the_attempt(tmp_path: Path) -> None:
    other = tmp_path / "other-node" / "sandboxes"  # another node's root on a shared database
    box = sb.sandbox_for(launch(other, 4, attempt=1))
    sb.create(box)
    stranger = tmp_path / "precious"
    stranger.mkdir()
    key = InstanceKey(JOB, "t", 4, 1)
    assert sb.remove_lost(tmp_path / "mine", key, str(stranger), {}) == ""
    assert stranger.is_dir()
    assert sb.remove_lost(tmp_path / "mine", key, str(box.root), {}) == ""
    assert not box.root.exists() and other.is_dir() and list(other.iterdir()) == []
