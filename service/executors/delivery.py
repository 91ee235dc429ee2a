"""Hand executor events to the sink in the order they happened, one at a time.

Executors produce events from worker threads (local) or from many asyncio tasks (Dask). The
scheduler's sink is simpler and safer when it is never re-entered and always sees an attempt's
``InstanceStarted`` before its ``InstanceExited``: one queue, one consumer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from service.executors.base import EventSink, ExecutorEvent

log = logging.getLogger(__name__)


class OrderedDelivery:
    """A FIFO between producers (any thread) and the async sink."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[ExecutorEvent | None] | None = None
        self._consumer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._consumer = asyncio.create_task(self._deliver(), name="executor-events")

    def put(self, event: ExecutorEvent) -> None:
        """From the event loop's own thread."""
        assert self._queue is not None
        self._queue.put_nowait(event)

    def put_threadsafe(self, event: ExecutorEvent) -> None:
        """From any other thread."""
        assert self._loop is not None and self._queue is not None
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is left to tell
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)

    async def drain(self) -> None:
        """Deliver everything queued so far, then stop."""
        if self._queue is None or self._consumer is None:
            return
        self._queue.put_nowait(None)
        await self._consumer

    async def _deliver(self) -> None:
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            if event is None:
                return
            try:
                await self._sink(event)
            except Exception:
                log.exception("event sink failed for %s", event.key.label())
