"""Start the command as its own process group, wait for it, and kill the whole group.

Waiting uses a pidfd (Linux ≥ 5.3) so the exit of a short program is seen at once — no sleep
loop on the hot path. Between exits we wake at most every ``STOP_POLL_S`` to ask ``should_stop``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

STOP_POLL_S = 0.05  # how often should_stop() is asked while the command runs
KILL_GRACE_S = 1.0  # SIGTERM -> SIGKILL grace for the whole process group

Ending = Literal["exited", "timeout", "stopped"]


@dataclass(frozen=True, slots=True)
class Outcome:
    ending: Ending
    exit_code: int | None  # None when killed by us


def spawn(
    argv: list[str], cwd: Path, env: dict[str, str], stdout: IO[bytes] | int, stderr: IO[bytes] | int,
    pass_fds: tuple[int, ...] = (), groups: list[int] | None = None,
) -> subprocess.Popen[bytes]:  # fmt: skip
    """Run ``argv`` with no shell in a new session (its pid is the process-group id); ``pass_fds``
    are inherited, ``groups`` (when not None) become its supplementary groups."""
    return subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        close_fds=True,
        pass_fds=pass_fds,
        extra_groups=groups,
    )


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal every process of the group; a group that is already gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _exited(proc: subprocess.Popen[bytes], pidfd: int | None, timeout_s: float) -> bool:
    """True once the leader has exited. With a pidfd the zombie is NOT reaped yet, so its pid stays
    reserved as our process-group id and a later killpg can never hit a recycled group."""
    if pidfd is not None:
        ready, _, _ = select.select([pidfd], [], [], timeout_s)
        return bool(ready)
    try:
        proc.wait(timeout_s)
        return True
    except subprocess.TimeoutExpired:
        return False


def _terminate(proc: subprocess.Popen[bytes], pidfd: int | None) -> None:
    kill_group(proc.pid, signal.SIGTERM)
    _exited(proc, pidfd, KILL_GRACE_S)
    kill_group(proc.pid, signal.SIGKILL)
    proc.wait()


def wait(proc: subprocess.Popen[bytes], timeout_s: float, should_stop: Callable[[], bool]) -> Outcome:
    """Wait for the exit, the Timeout or a stop request, whichever comes first."""
    deadline = time.monotonic() + timeout_s if timeout_s > 0 else float("inf")
    pidfd = _open_pidfd(proc.pid)
    try:
        while True:
            if should_stop():
                _terminate(proc, pidfd)
                return Outcome("stopped", None)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _terminate(proc, pidfd)
                return Outcome("timeout", None)
            if _exited(proc, pidfd, min(STOP_POLL_S, remaining)):
                break
        # the leader is gone; stragglers it left in its group must not outlive the attempt
        kill_group(proc.pid)
        return Outcome("exited", proc.wait())
    finally:
        if pidfd is not None:
            os.close(pidfd)


def working_directories(inside: str) -> dict[int, str]:
    """pid -> cwd of the processes whose working directory is ``inside`` or below it (processes
    gone meanwhile, or not ours to inspect, are left out): how leftovers of instances and VM
    sandboxes are recognised, without trusting a pid alone."""
    root = os.path.realpath(inside) + os.sep
    found: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if (cwd + os.sep).startswith(root):
            found[int(entry)] = cwd
    return found


def reap_orphans(sandbox_root: str) -> list[int]:
    """Kill the process groups of instances left running under ``sandbox_root`` (e.g. after bcsd
    was killed, or a Dask worker died). A process is ours when its cwd is inside the root, which
    also keeps a recycled pid of some unrelated program safe. Returns the groups killed."""
    groups: set[int] = set()
    for pid in working_directories(sandbox_root):
        try:
            pgid = os.getpgid(pid)
        except OSError:
            continue
        if pgid != os.getpgid(0):
            groups.add(pgid)
    for pgid in sorted(groups):
        kill_group(pgid)
    return sorted(groups)
