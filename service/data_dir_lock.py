"""One ``bcsd serve`` per data dir: an ``flock`` on ``DATA_DIR/bcsd.lock`` held for the process's life.

Two servers on one data dir would run one job twice and race on the SQLite file, and a tool that
looks for "the" bcsd of a data dir by port (``make down`` after ``BCS_DEV_PORT`` changed) would find
the wrong one. The lock file also says who holds it (pid and URL), so such a tool finds the running
server whatever its port. The kernel drops the lock when the process dies, however it dies, so a
stale file never blocks a restart. The reader of that file is the quickstart's
(``provider/driver/dev_service.running``): the provider never imports ``service``.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "bcsd.lock"


@dataclass(frozen=True)
class Holder:
    """The bcsd serving a data dir."""

    pid: int
    url: str


class DataDirInUse(Exception):
    """Another bcsd serves this data dir."""

    def __init__(self, data_dir: Path, holder: Holder | None) -> None:
        who = f"bcsd pid {holder.pid} at {holder.url}" if holder else "another bcsd"
        super().__init__(f"data dir {data_dir} is in use by {who} (one bcsd per data dir)")
        self.holder = holder


def _read_holder(path: Path) -> Holder | None:
    try:
        doc = json.loads(path.read_text())
        return Holder(int(doc["pid"]), str(doc["url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def acquire(data_dir: Path) -> int:
    """Take the data dir's lock; the returned descriptor holds it (keep it open). Raises
    :class:`DataDirInUse` naming the holder when another process has it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirInUse(data_dir, _read_holder(path)) from None
    return fd


def announce(fd: int, url: str) -> None:
    """Write who holds the lock (this pid and the URL it serves) into the lock file."""
    data = json.dumps({"pid": os.getpid(), "url": url}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
