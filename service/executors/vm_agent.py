"""The agent inside a VM sandbox: runs one instance's command at a time, then clears the VM.

It is started once per VM sandbox (``vm_sandbox.py``) as the isolation user, inside bwrap and
the VM's cgroups, and is handed to the interpreter with ``-c`` (so nothing of the service's
source tree has to be visible in the sandbox). Standard library only, no ``service`` imports.

Protocol on the SOCK_SEQPACKET socket whose fd is ``sys.argv[1]``, one JSON object per message:

    host -> agent  {"op": "run", "argv", "env", "cwd"} + 2 fds (stdout, stderr)
                   {"op": "signal", "sig": N}      signal the running command's process group
    agent -> host  {"ready": pid} once; then per run {"started": pid} or {"error": why},
                   and after a start {"exited": code, "swept": n}

Why the sweep: a command may leave a daemon (``setsid``, double fork) that escapes its process
group; on a VM reused by the next instance it would see that instance's files. After every
command the agent SIGKILLs every process of the sandbox's PID namespace but itself and pid 1
(bwrap's init, which reaps them) before it reports the exit, so nothing of an instance outlives
it. Exit code: the program's, or 128 + signal when a signal ended it (as bwrap reports).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

SWEEP_ROUNDS = 400  # × 5 ms: a fork loop racing the sweep is bounded by the pids limit anyway
PR_SET_DUMPABLE = 4


def _others(me: int) -> list[int]:
    """Live processes of this PID namespace other than the agent and pid 1 (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (1, me):
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
            if state != b"Z":
                found.append(int(entry))
    return found


def sweep(me: int) -> int:
    """SIGKILL everything but us and init until nothing is left; how many were killed."""
    killed = 0
    for _ in range(SWEEP_ROUNDS):
        alive = _others(me)
        if not alive:
            break
        for pid in alive:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.005)
    return killed


def _send(ctl: socket.socket, message: dict[str, object]) -> None:
    ctl.send(json.dumps(message).encode())


def _exit_code(status: int) -> int:
    return 128 - status if status < 0 else status


def _run(ctl: socket.socket, request: dict[str, object], fds: list[int], me: int) -> bool:
    """Run one command to its end; False when the host went away meanwhile."""
    out, err = fds
    try:
        proc = subprocess.Popen(
            list(request["argv"]),  # type: ignore[call-overload]
            cwd=str(request["cwd"]),
            env=dict(request["env"]),  # type: ignore[call-overload]
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        _send(ctl, {"error": exc.strerror or str(exc)})
        return True
    finally:
        os.close(out)
        os.close(err)
    _send(ctl, {"started": proc.pid})
    pidfd = os.pidfd_open(proc.pid)
    host_alive = True
    try:
        while True:
            ready, _, _ = select.select([ctl.fileno(), pidfd], [], [])
            if pidfd in ready:
                break
            data = ctl.recv(65536)
            if not data:  # the host is gone: end the command now
                host_alive = False
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                continue
            order = json.loads(data)
            if order.get("op") == "signal":
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, int(order["sig"]))
    finally:
        os.close(pidfd)
    code = _exit_code(proc.wait())
    swept = sweep(me)
    if host_alive:
        _send(ctl, {"exited": code, "swept": swept})
    return host_alive


def main() -> None:
    me = os.getpid()
    with contextlib.suppress(OSError, AttributeError):  # no ptrace of the agent by its commands
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    control_fd = int(sys.argv[1])
    os.set_inheritable(control_fd, False)
    ctl = socket.socket(fileno=control_fd)
    _send(ctl, {"ready": me})
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(ctl, 1 << 20, 2)
        except OSError:
            break
        if not data:
            break
        request = json.loads(data)
        if request.get("op") != "run" or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        if not _run(ctl, request, fds, me):
            break
    sweep(me)
    sys.exit(0)


if __name__ == "__main__":
    main()
