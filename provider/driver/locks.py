"""One stack, one run at a time — across bcs-deploy runs and the Pulumi CLI.

Two locks, taken in this order and released in reverse:

1. an ``fcntl`` lock on ``.pulumi/bcs-deploy/<project>/<stack>.lock`` that also records who holds
   it, so a second bcs-deploy run says who and stops (and a crashed run never leaves it behind);
2. the CLI's own lock: a ``<uuid>.json`` file (pid, username, hostname, timestamp) under
   ``.pulumi/locks/organization/<project>/<stack>/``. The CLI refuses to run while any other file
   is there, and so does the driver; like the CLI, the driver writes its file, looks again and
   backs off when someone else wrote one at the same moment.

A CLI run that was killed leaves its lock file behind; the message says how to clear it, as the
CLI does (``pulumi cancel``).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from provider.driver.backend import StackPaths, remove_blob, write_blob


class StateLocked(Exception):
    """Another run (bcs-deploy or the Pulumi CLI) holds the stack's lock."""


@contextlib.contextmanager
def locked(paths: StackPaths, command: str) -> Iterator[None]:
    """Hold both locks for the duration; raise :class:`StateLocked` naming the holder."""
    with _driver_lock(paths.driver_lock, paths.stack, command), _cli_lock(paths):
        yield


@contextlib.contextmanager
def _driver_lock(path: Path, stack: str, command: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise StateLocked(f"stack '{stack}' is locked by {holder}; wait for it to finish") from None
        info = (
            f"pid {os.getpid()} on {socket.gethostname()} (bcs-deploy {command}, "
            f"since {time.strftime('%Y-%m-%dT%H:%M:%S')})"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        yield
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _cli_lock(paths: StackPaths) -> Iterator[None]:
    mine = paths.cli_lock_dir / f"{uuid.uuid4()}.json"
    _refuse_if_held(paths, mine)
    content = {
        "pid": os.getpid(),
        "username": getpass.getuser(),
        "hostname": socket.gethostname(),
        "timestamp": datetime.now(UTC).isoformat(),
    }
    write_blob(mine, json.dumps(content, separators=(",", ":")).encode())
    try:
        _refuse_if_held(paths, mine)
        yield
    finally:
        remove_blob(mine)


def _lock_files(paths: StackPaths) -> list[tuple[Path, dict[str, object] | None]]:
    """Every CLI-style lock of the stack with what it says (None when unreadable)."""
    if not paths.cli_lock_dir.is_dir():
        return []
    found: list[tuple[Path, dict[str, object] | None]] = []
    for path in sorted(paths.cli_lock_dir.iterdir()):
        if not path.is_file() or path.suffix != ".json" or path.name.startswith("."):
            continue
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None
        found.append((path, info if isinstance(info, dict) else None))
    return found


def _refuse_if_held(paths: StackPaths, mine: Path) -> None:
    others = [(path, info) for path, info in _lock_files(paths) if path != mine]
    if not others:
        return
    holders = [
        f"{path}: pid {info.get('pid')} of {info.get('username')}@{info.get('hostname')}"
        f" since {info.get('timestamp')}"
        if info is not None
        else str(path)
        for path, info in others
    ]
    raise StateLocked(
        f"stack '{paths.stack}' is locked by {len(others)} other run(s) of pulumi or bcs-deploy: "
        + "; ".join(holders)
        + ". Wait for it to finish, or remove a stale lock with `pulumi cancel`."
    )


def dead_holders(paths: StackPaths) -> list[int]:
    """Pids of runs on this host whose lock is still there although they no longer run: a
    ``pulumi up`` or ``bcs-deploy up`` killed with SIGKILL. Locks of other hosts are never judged."""
    dead = []
    for _, info in _lock_files(paths):
        if info is None or info.get("hostname") != socket.gethostname():
            continue
        try:
            pid = int(str(info["pid"]))
        except (KeyError, ValueError):
            continue
        if not _runs(pid):
            dead.append(pid)
    return dead


def _runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
