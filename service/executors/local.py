"""The default executor: each instance attempt is a process group on this machine.

The attempts run in a runner host (``runner_host.py``): one long-lived child process with its
own interpreter, which runs ``run_instance`` in a bounded thread pool (threads mostly sit in
``select`` on a pidfd, so hundreds are cheap). bcsd writes launches and stop requests into the
host's stdin and reads ``InstanceStarted`` / ``InstanceExited`` from its stdout on the event
loop, so the runners never compete with the API and the scheduler for bcsd's GIL.

Events go to the sink through one FIFO consumed by one task (``delivery.py``), in the order the
host wrote them (an attempt's ``InstanceStarted`` always before its ``InstanceExited``), and
the sink is never called concurrently. Cancelling asks the host to set the attempt's stop flag;
the runner notices it within ``process.STOP_POLL_S`` and kills the whole process group. If the
host dies, every attempt it held ends with ``NodeLost`` and the next launch starts a new host.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path

from service.executors import process
from service.executors.base import (
    EventSink,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
)
from service.executors.delivery import OrderedDelivery
from service.executors.runner_host import HEADER, encode
from service.executors.vm_pool import DEFAULT_IDLE_S, DEFAULT_MAX_ALIVE

log = logging.getLogger(__name__)

DEFAULT_MAX_PARALLEL = 256
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])  # where ``service`` is importable from
_SECRET_ENV = ("BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET")


class LocalExecutor:
    """Runs instances as local process groups; implements ``service.executors.base.Executor``."""

    def __init__(
        self,
        sink: EventSink,
        *,
        max_parallel: int | None = None,
        node: str | None = None,
        vm_idle_s: float = DEFAULT_IDLE_S,
        vm_max: int = DEFAULT_MAX_ALIVE,
    ) -> None:
        self._max_parallel = max_parallel or DEFAULT_MAX_PARALLEL
        self._vm_options = ("--vm-idle-s", str(vm_idle_s), "--vm-max", str(vm_max))
        self._node = node or socket.gethostname()
        self._launched: set[InstanceKey] = set()  # launched, no InstanceExited read yet
        self._groups: dict[InstanceKey, int] = {}  # process group of each started attempt
        self._host: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._events = OrderedDelivery(sink)
        self._started = False

    async def start(self) -> None:
        if not self._started:
            self._events.start()
            self._started = True
        await self._spawn_host()

    async def launch(self, launch: InstanceLaunch) -> None:
        if not self._started or self._host is None or self._host.returncode is not None:
            await self.start()
        if launch.key in self._launched:
            log.warning("ignoring a second launch of %s while it runs", launch.key.label())
            return
        self._launched.add(launch.key)
        if not self._send(("launch", launch)):
            self._lost(launch.key, "the runner host is not running")

    async def cancel(self, key: InstanceKey) -> None:
        if key in self._launched:
            self._send(("stop", key))

    async def close(self) -> None:
        """Stop every attempt (each still reports its ``InstanceExited``), then stop delivering."""
        if not self._started:
            return
        host, reader = self._host, self._reader
        if host is not None:
            self._send(("close", None))
            with contextlib.suppress(Exception):
                assert host.stdin is not None
                host.stdin.close()
            if reader is not None:
                await reader  # every event the host writes before it exits
            await host.wait()
        for key in list(self._launched):
            self._lost(key, "the executor closed")
        self._host = self._reader = None
        self._started = False
        await self._events.drain()

    @property
    def running(self) -> int:
        """How many attempts are launched and not yet exited."""
        return len(self._launched)

    # ---- the runner host ----------------------------------------------------------------------
    async def _spawn_host(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PROJECT_ROOT, env.get("PYTHONPATH", "")) if p)
        self._host = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.executors.runner_host",
            "--max-parallel", str(self._max_parallel), "--node", self._node, *self._vm_options,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read(self._host), name="runner-host-events")

    def _send(self, message: tuple[str, object]) -> bool:
        host = self._host
        if host is None or host.stdin is None or host.returncode is not None or host.stdin.is_closing():
            return False
        host.stdin.write(encode(message))
        return True

    async def _read(self, host: asyncio.subprocess.Process) -> None:
        assert host.stdout is not None
        try:
            while True:
                head = await host.stdout.readexactly(HEADER.size)
                event = pickle.loads(await host.stdout.readexactly(HEADER.unpack(head)[0]))
                if isinstance(event, InstanceExited):
                    self._launched.discard(event.key)
                    self._groups.pop(event.key, None)
                elif isinstance(event, InstanceStarted):
                    self._groups[event.key] = event.pid
                else:
                    continue
                self._events.put(event)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the host exited
        if self._host is host:
            self._host = None
            for key in list(self._launched):
                # its sandbox may outlive the host: bwrap's pid 1 need not die with its launcher
                group = self._groups.pop(key, 0)
                if group > 0:
                    process.kill_group(group)
                self._lost(key, "the runner host exited")

    def _lost(self, key: InstanceKey, why: str) -> None:
        self._launched.discard(key)
        self._events.put(
            InstanceExited(
                key=key, at=datetime.now(UTC), exit_code=None, error_code="NodeLost",
                error_message=f"executor failure: {why}", detail="", node=self._node,
                stdout_object="", stderr_object="", sandbox_path="",
            )
        )  # fmt: skip
