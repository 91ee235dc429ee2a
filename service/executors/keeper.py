"""Kill what a dead runner host left running, even when bcsd died with it.

A root runner host starts bwrap in the run-as user namespace (``userns.py``), where bwrap's
pid 1 cannot be given a parent-death signal, and an unconfined command (``--isolation none``)
never had one: a command outlives the host that started it. bcsd kills the process groups of a
runner host that died (``local.py``). When bcsd is killed with it (``kill -9`` of both, a
signal to their process group) nobody did, and the commands ran on, unwatched, until a restart
of bcsd reaped them.

The keeper is a small process each runner host starts in a session of its own, so a signal to
bcsd's process group does not reach it. The host tells it every process group it starts and
every one that ended; when the pipe from the host reaches its end (the host is gone, however it
ended, or closed normally with nothing left), the keeper kills the groups it still holds, and
exits. Killing a sandbox's group kills bwrap's pid 1, and with it everything in the sandbox's
PID namespace.

Protocol on the keeper's stdin, one ASCII line each: ``+PGID`` (a group started), ``-PGID`` (it
ended). A VM sandbox's group is held once per instance on it, so it counts.

This file is also the keeper's program: it is run as ``python -I -S -c <this source>``, so it
imports nothing but the standard library and starts in a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

CLOSE_TIMEOUT_S = 5.0


def held_groups(lines: Iterable[bytes]) -> list[int]:
    """The groups the lines leave held: each ``+PGID`` counts once, each ``-PGID`` takes one back;
    a line that is not one of them is ignored."""
    held: dict[int, int] = {}
    for line in lines:
        sign, digits = line[:1], line[1:].strip()
        if sign not in (b"+", b"-") or not digits.isdigit() or int(digits) <= 1:
            continue
        pgid = int(digits)
        held[pgid] = held.get(pgid, 0) + (1 if sign == b"+" else -1)
        if held[pgid] <= 0:
            del held[pgid]
    return sorted(held)


def main() -> None:
    for pgid in held_groups(sys.stdin.buffer):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


class Keeper:
    """The runner host's end: starts the keeper, tells it each group started and ended."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._lock = threading.Lock()

    @classmethod
    def start(cls) -> Keeper:
        source = Path(__file__).read_text()  # this file is the keeper's program
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", source],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, close_fds=True, start_new_session=True,
        )  # fmt: skip
        return cls(proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def hold(self, pgid: int) -> None:
        self._say(b"+%d\n" % pgid)

    def release(self, pgid: int) -> None:
        self._say(b"-%d\n" % pgid)

    def close(self) -> None:
        """End the pipe (the keeper kills what is still held, normally nothing) and reap it."""
        with self._lock, contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(CLOSE_TIMEOUT_S)

    def _say(self, line: bytes) -> None:
        with self._lock, contextlib.suppress(OSError, ValueError):  # a dead keeper cannot be helped
            assert self._proc.stdin is not None
            self._proc.stdin.write(line)
            self._proc.stdin.flush()


if __name__ == "__main__":
    main()
