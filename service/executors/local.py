"""The default executor: each instance attempt is a process group on this machine.

Each launch runs ``run_instance`` in a worker thread of a bounded pool (threads mostly sit in
``select`` on a pidfd, so hundreds are cheap). Events go back to the event loop through one
queue consumed by one task, so the sink sees them in the order they happened (an attempt's
``InstanceStarted`` always before its ``InstanceExited``) and is never called concurrently.
Cancelling sets the attempt's ``threading.Event``; the runner notices it within
``process.STOP_POLL_S`` and kills the whole process group.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from service.executors.base import (
    EventSink,
    ExecutorEvent,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
)
from service.executors.delivery import OrderedDelivery
from service.executors.runner import run_instance

log = logging.getLogger(__name__)

DEFAULT_MAX_PARALLEL = 256


class LocalExecutor:
    """Runs instances as local process groups; implements ``service.executors.base.Executor``."""

    def __init__(self, sink: EventSink, *, max_parallel: int | None = None, node: str | None = None) -> None:
        self._sink = sink
        self._max_parallel = max_parallel or DEFAULT_MAX_PARALLEL
        self._node = node or socket.gethostname()
        self._node_ip = "127.0.0.1"
        self._stops: dict[InstanceKey, threading.Event] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._events = OrderedDelivery(sink)

    async def start(self) -> None:
        self._events.start()
        self._pool = ThreadPoolExecutor(self._max_parallel, thread_name_prefix="bcs-instance")

    async def launch(self, launch: InstanceLaunch) -> None:
        if self._pool is None:
            await self.start()
        assert self._pool is not None
        stop = threading.Event()
        with self._lock:
            if launch.key in self._stops:
                log.warning("ignoring a second launch of %s while it runs", launch.key.label())
                return
            self._stops[launch.key] = stop
        self._pool.submit(self._run, launch, stop)

    async def cancel(self, key: InstanceKey) -> None:
        with self._lock:
            stop = self._stops.get(key)
        if stop is not None:
            stop.set()

    async def close(self) -> None:
        """Stop every attempt (each still reports its ``InstanceExited``), then stop delivering."""
        if self._pool is None:
            return
        with self._lock:
            for stop in self._stops.values():
                stop.set()
        pool, self._pool = self._pool, None
        await asyncio.get_running_loop().run_in_executor(None, pool.shutdown, True)
        await self._events.drain()

    @property
    def running(self) -> int:
        """How many attempts are launched and not yet exited."""
        with self._lock:
            return len(self._stops)

    # ---- worker threads -----------------------------------------------------------------------
    def _run(self, launch: InstanceLaunch, stop: threading.Event) -> None:
        key = launch.key

        def started(pid: int, sandbox_path: str) -> None:
            now = datetime.now(UTC)
            self._emit(InstanceStarted(key, now, self._node, self._node_ip, sandbox_path, pid))

        try:
            exited = run_instance(launch, stop.is_set, started, node=self._node)
        except BaseException as exc:  # run_instance never raises; this keeps the promise regardless
            exited = InstanceExited(
                key=key, at=datetime.now(UTC), exit_code=None, error_code="NodeLost",
                error_message=f"executor failure: {exc}", detail="", node=self._node,
                stdout_object="", stderr_object="", sandbox_path="",
            )
        with self._lock:
            self._stops.pop(key, None)
        self._emit(exited)

    def _emit(self, event: ExecutorEvent) -> None:
        self._events.put_threadsafe(event)
