"""A long-lived child process that runs instance attempts for ``LocalExecutor``.

Why a separate process: ``run_instance`` spends real CPU per attempt (sandbox, spawn, uploads,
cleanup). Run in threads inside bcsd it shared bcsd's GIL, so every SQLite statement and HTTP
request of the service waited behind runner threads. Here the runners have their own
interpreter; bcsd only writes launches into a pipe and reads events back.

Protocol (both directions): frames of a 4-byte big-endian length and a pickle.

    bcsd -> host   ("launch", InstanceLaunch) | ("stop", InstanceKey) | ("close", None)
    host -> bcsd   InstanceStarted | InstanceExited      (in order, per attempt)

``close`` (or end of input, e.g. bcsd was killed) stops every attempt — each still reports its
``InstanceExited`` while someone listens — and the host exits once all have ended. Attempts'
process groups are their own sessions; their pgid travels in ``InstanceStarted.pid`` so a
restarted bcsd can kill what a killed host left behind.

    python -m service.executors.runner_host --max-parallel 256 --node HOST [--vm-idle-s 2 --vm-max 64]

The host keeps the VM sandboxes (``vm_pool.py``): a task's instances on one VM slot reuse one
bwrap sandbox; they idle out after ``--vm-idle-s`` and are all stopped when the host closes.
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import struct
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

from service.executors import userns
from service.executors.base import InstanceExited, InstanceKey, InstanceLaunch, InstanceStarted
from service.executors.keeper import Keeper
from service.executors.runner import run_instance
from service.executors.vm_pool import DEFAULT_IDLE_S, DEFAULT_MAX_ALIVE, VmPool

HEADER = struct.Struct(">I")


def encode(message: Any) -> bytes:
    """One frame: length prefix + pickle."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def read_frame(stream: IO[bytes]) -> Any:
    """The next message, or ``None`` at end of input."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)


class Host:
    """Runs launches in a bounded thread pool and writes their events to ``out``."""

    def __init__(
        self, out: IO[bytes], max_parallel: int, node: str, vms: VmPool | None = None,
        keeper: Keeper | None = None,
    ) -> None:  # fmt: skip
        self._out = out
        self._vms = vms if vms is not None else VmPool()
        self._keeper = keeper
        self._node = node
        self._write_lock = threading.Lock()
        self._lock = threading.Lock()
        self._stops: dict[InstanceKey, threading.Event] = {}
        self._pool = ThreadPoolExecutor(max_parallel, thread_name_prefix="bcs-instance")

    def launch(self, launch: InstanceLaunch) -> None:
        stop = threading.Event()
        with self._lock:
            if launch.key in self._stops:  # bcsd already refuses this; keep one run per key anyway
                return
            self._stops[launch.key] = stop
        self._pool.submit(self._run, launch, stop)

    def stop(self, key: InstanceKey) -> None:
        with self._lock:
            stop = self._stops.get(key)
        if stop is not None:
            stop.set()

    def close(self) -> None:
        """Stop every attempt and wait until each has reported its exit."""
        with self._lock:
            for stop in self._stops.values():
                stop.set()
        self._pool.shutdown(wait=True)
        self._vms.close()
        if self._keeper is not None:
            self._keeper.close()

    def _run(self, launch: InstanceLaunch, stop: threading.Event) -> None:
        key = launch.key

        reported = False
        group = 0

        def started(pid: int, sandbox_path: str) -> None:
            nonlocal group
            if self._keeper is not None:  # it ignores an id that names no group of ours
                group = pid
                self._keeper.hold(group)
            self._emit(InstanceStarted(key, datetime.now(UTC), self._node, "127.0.0.1", sandbox_path, pid))

        def exited(event: InstanceExited) -> None:  # before the sandbox/cgroup cleanup
            nonlocal reported
            reported = True
            if self._keeper is not None and group:
                self._keeper.release(group)
            with self._lock:
                self._stops.pop(key, None)
            self._emit(event)

        try:
            run_instance(launch, stop.is_set, started, node=self._node, on_exited=exited, vms=self._vms)
        except BaseException as exc:  # run_instance never raises; this keeps the promise regardless
            if not reported:
                exited(
                    InstanceExited(
                        key=key, at=datetime.now(UTC), exit_code=None, error_code="NodeLost",
                        error_message=f"executor failure: {exc}", detail="", node=self._node,
                        stdout_object="", stderr_object="", sandbox_path="",
                    )
                )  # fmt: skip

    def _emit(self, event: InstanceStarted | InstanceExited) -> None:
        frame = encode(event)
        with self._write_lock, contextlib.suppress(OSError, ValueError):  # bcsd is gone: nobody to tell
            self._out.write(frame)
            self._out.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="runner_host")
    p.add_argument("--max-parallel", type=int, default=256)
    p.add_argument("--node", default="")
    p.add_argument("--vm-idle-s", type=float, default=DEFAULT_IDLE_S, help="stop a VM sandbox idle this long")
    p.add_argument("--vm-max", type=int, default=DEFAULT_MAX_ALIVE, help="VM sandboxes alive at most")
    args = p.parse_args(argv)
    userns.use_in_this_process()  # bcsd watches this process: see userns.use_in_this_process
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the event stream
    # the keeper kills this host's process groups should it die with bcsd (keeper.py)
    host = Host(out, args.max_parallel, args.node, VmPool(args.vm_idle_s, args.vm_max), Keeper.start())
    while True:
        message = read_frame(inp)
        if message is None or message[0] == "close":
            break
        kind, payload = message
        if kind == "launch":
            host.launch(payload)
        elif kind == "stop":
            host.stop(payload)
    host.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
