"""The quickstart's bcsd: found through its data dir's lock, whatever port it listens on.

``bcsd serve`` holds an ``flock`` on ``DATA_DIR/bcsd.lock`` while it runs and writes
``{"pid": …, "url": …}`` into that file (``service/data_dir_lock.py``; the provider never imports
``service``, so this module reads the same file format on its own). A second bcsd on the data dir
refuses to start, and ``make down`` / ``make status`` ask the lock, not a port, which bcsd that is.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

LOCK_NAME = "bcsd.lock"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningBcsd:
    """The bcsd that serves a data dir: its pid and the URL it announced."""

    pid: int
    url: str


def running(data: Path) -> RunningBcsd | None:
    """The bcsd holding ``data``'s lock, or None when the lock is free (no bcsd serves it)."""
    path = data / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            doc = json.loads(path.read_text() or "{}")
            return RunningBcsd(int(doc.get("pid", 0)), str(doc.get("url", "")))
        except (OSError, ValueError):
            return RunningBcsd(0, "")
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:  # also when a bcsd holds the lock: start() asks every few ms while one comes up
        os.close(fd)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def start(bcsd: str, data: Path, port: int) -> RunningBcsd:
    """Start ``bcsd serve`` on 127.0.0.1:``port`` with ``data`` in the background; wait until it is
    healthy and has announced itself in the lock file. SystemExit with the log's tail if it does not."""
    url = f"http://127.0.0.1:{port}"
    if healthy(url):
        raise SystemExit(f"error: something else answers on {url}; set BCS_DEV_PORT to another port")
    data.mkdir(parents=True, exist_ok=True)
    log_path = data / "bcsd.log"
    env = {k: v for k, v in os.environ.items() if k not in ("BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET")}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [bcsd, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        found = running(data)
        if found and found.pid == proc.pid and found.url and healthy(found.url):
            return found
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            tail = log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"error: bcsd did not start (see {log_path}):\n{tail}")
        time.sleep(0.1)


def stop(server: RunningBcsd, grace_s: float = 10.0) -> None:
    """SIGTERM the bcsd by its pid, SIGKILL after ``grace_s``."""
    try:
        os.kill(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.kill(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(server.pid, signal.SIGKILL)
