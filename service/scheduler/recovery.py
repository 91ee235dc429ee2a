"""Attempts lost with the bcsd that ran them: one path for restart and for lease take-over.

A node that restarts (same data dir) or takes over a dead node's jobs (shared PostgreSQL) finds
rows the store calls Running whose process belonged to a bcsd that is gone. Each becomes a
failed attempt with ``NodeLost`` (so MaxRetryCount decides), after its orphaned process group
was killed (an orphan must never overlap its retry) and its sandbox removed (unless
AutoCluster.ReserveOnFail keeps it).

The recorded pid is only killed while it still works inside that attempt's own sandbox: a pid
is recycled once its process is gone, and a recycled one belongs to an unrelated program.
Restart recovery checked this before; take-over killed any pid recorded with this host's name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from sqlalchemy import Connection, Row

from api import JobDescription
from service.executors.base import InstanceKey
from service.executors.sandbox import remove_lost
from service.scheduler import core
from service.scheduler.effects import Applied
from service.store import repo

#: applies a view's instructions inside the caller's transaction (the loop's ``apply``)
Apply = Callable[[Connection, core.JobView, list[core.Instruction]], Applied]


def attempt_of(row: Row) -> InstanceKey:
    return InstanceKey(row.job_id, row.task_name, row.instance_id, max(row.attempt - 1, 0))


def sandbox_candidates(sandbox_root: Path, key: InstanceKey, recorded: str) -> list[Path]:
    """Where the attempt's sandbox can be: the path recorded at its start (under whichever
    node's root ran it) when its last four parts name this attempt, and our own layout path."""
    parts = (key.job_id, key.task_name, str(key.instance_id), str(key.attempt))
    found = [Path(sandbox_root).joinpath(*parts)]
    path = Path(recorded) if recorded else None
    if path is not None and path.is_absolute() and path.parts[-4:] == parts and path != found[0]:
        found.insert(0, path)
    return found


def runs_in(pid: int, folders: Iterable[Path]) -> bool:
    """True when process ``pid`` works inside one of ``folders`` (its cwd), i.e. it is still
    the attempt's process and not a recycled pid of an unrelated program."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    for folder in folders:
        base = os.path.realpath(str(folder)) + os.sep
        if (cwd + os.sep).startswith(base):
            return True
    return False


def kill_orphan(row: Row, sandbox_root: Path) -> bool:
    """SIGKILL the attempt's recorded process group if it is still ours; True if signalled."""
    if not row.pid:
        return False
    key = attempt_of(row)
    if not runs_in(row.pid, sandbox_candidates(sandbox_root, key, row.sandbox_path or "")):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(row.pid, signal.SIGKILL)
        return True
    return False


def recover_lost(
    conn: Connection,
    rows: list[Row],
    views: dict[str, core.JobView],
    specs: Mapping[str, JobDescription],
    sandbox_root: Path,
    why: str,
    apply: Apply,
    before_cleanup: Callable[[], None] | None = None,
) -> Applied:
    """Count every Running ``rows`` attempt as lost: kill its orphan (if still ours), remove its
    sandbox (unless kept), record ``NodeLost`` and feed ``InstanceExited`` to its job's view.

    ``views``/``specs``: the jobs being recovered (the caller registers them afterwards or
    already did). ``before_cleanup`` runs once every orphan was signalled and before any
    sandbox is removed (restart recovery reaps processes without a recorded pid there).
    Returns what the caller carries out after the commit (cancels, notifications to deliver)."""
    done = Applied()
    lost = [r for r in rows if r.state == "Running"]
    for row in lost:
        kill_orphan(row, sandbox_root)
    if before_cleanup is not None:
        before_cleanup()
    now = time.time()
    for row in lost:
        key = attempt_of(row)
        spec = specs.get(row.job_id)
        task = spec.dag.tasks.get(row.task_name) if spec is not None else None
        keep = task is not None and task.reserves_on_fail
        kept = remove_lost(sandbox_root, key, row.sandbox_path or "", keep)
        repo.set_instance(
            conn, row.job_id, row.task_name, row.instance_id,
            error_code="NodeLost", error_message=why, pid=None, sandbox_path=kept,
        )  # fmt: skip
        view = views.get(row.job_id)
        if view is None:
            continue
        ev = core.InstanceExited(row.task_name, row.instance_id, key.attempt, False, "NodeLost")
        done.add(apply(conn, view, core.step(view, ev, now)))
    return done
