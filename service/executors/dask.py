"""The scale-out executor: each instance attempt is one task on a Dask distributed cluster.

The task (``run_on_worker``) calls the same ``run_instance`` as the local executor, so the
semantics are identical; what Dask does not give us is added here:

* stop / delete / Timeout: ``future.cancel()`` does not kill a running subprocess, so the task
  watches a ``distributed.Event`` named after the attempt and kills the process group when it
  is set (Timeout is enforced by the runner on the worker itself);
* exactly one run per attempt: Dask re-runs a task whose worker died. The task first claims its
  key in a ``distributed.Variable``; a re-run finds the claim and refuses, so a lost worker is one
  failed attempt (``NodeLost``), never a silent second run;
* placement: InstanceType becomes the worker resources ``CPU`` and ``MEMORY`` (bytes); a cluster
  whose id is offered as a resource ``cluster-<ClusterId>`` by some worker is pinned to those
  workers (see the README for the ``dask worker`` flags);
* unschedulable: Dask waits forever for resources no worker has. A monitor compares each waiting
  attempt's needs with the scheduler's workers, reports ``InstanceWaiting`` and, after
  ``unschedulable_timeout_s``, ends the attempt with ``Unschedulable``;
* lost workers and a lost scheduler: the monitor notices a running attempt's worker leaving
  (``NodeLost``); a future the scheduler forgot (connection lost, scheduler restarted) ends its
  attempt with ``NodeLost`` too, and scheduler outages are logged while the client reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.executors.base import (
    EventSink,
    InstanceErrorCode,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
    InstanceWaiting,
)
from service.executors.delivery import OrderedDelivery
from service.executors.runner import log_object, run_instance

log = logging.getLogger(__name__)

TOPIC = "bcs-instance"
BYTES_PER_GB = 1e9
STOP_WATCH_S = 0.5  # long-poll period of the worker-side stop watcher (a set Event wakes it at once)


def needed_resources(launch: InstanceLaunch, offered: dict[str, dict[str, float]]) -> dict[str, float]:
    """The Dask resources one attempt asks for, given what the workers offer right now."""
    need = {"CPU": float(launch.cpu), "MEMORY": float(launch.memory_gb) * BYTES_PER_GB}
    pin = f"cluster-{launch.cluster_id}"
    if launch.cluster_id and any(pin in res for res in offered.values()):
        need[pin] = 1.0
    return need


def placeable(need: dict[str, float], offered: dict[str, dict[str, float]]) -> bool:
    """True when at least one worker offers every needed resource in the needed amount."""
    return any(all(res.get(name, 0.0) >= amount for name, amount in need.items()) for res in offered.values())


def _exited(launch: InstanceLaunch, code: InstanceErrorCode, message: str, node: str = "") -> InstanceExited:
    return InstanceExited(
        key=launch.key,
        at=datetime.now(UTC),
        exit_code=None,
        error_code=code,
        error_message=message,
        detail="",
        node=node,
        stdout_object=log_object(launch.stdout_dir, "stdout", launch),
        stderr_object=log_object(launch.stderr_dir, "stderr", launch),
        sandbox_path="",
    )


def run_on_worker(launch: InstanceLaunch, run_key: str) -> tuple[InstanceExited, dict[str, Any] | None]:
    """The Dask task: claim the attempt, run it, report the start through the event topic."""
    from distributed import Event, Variable, get_worker

    worker = get_worker()
    node = worker.address
    claim = Variable(f"bcs-claim-{run_key}")
    try:
        previous = claim.get(timeout=0)
    except TimeoutError:
        previous = None
    if previous is not None:  # Dask re-ran us after a worker loss, or bcsd gave the attempt up
        message = f"attempt already claimed by {previous}; not run twice"
        return _exited(launch, "NodeLost", message, node), None
    claim.set(node)

    stop_event = Event(f"bcs-stop-{run_key}")
    stop, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                if stop_event.wait(timeout=STOP_WATCH_S):
                    stop.set()
                    return
            except Exception:  # scheduler briefly unreachable: keep watching
                done.wait(STOP_WATCH_S)

    threading.Thread(target=watch, name=f"bcs-stop-{run_key}", daemon=True).start()
    started: dict[str, Any] = {}

    def on_started(pid: int, sandbox_path: str) -> None:
        started.update(run_key=run_key, pid=pid, sandbox=sandbox_path, node=node, at=time.time())
        worker.log_event(TOPIC, dict(started))

    try:
        return run_instance(launch, stop.is_set, on_started, node=node), (started or None)
    finally:
        done.set()


@dataclass(slots=True)
class _Attempt:
    launch: InstanceLaunch
    run_key: str
    need: dict[str, float]
    future: Any = None
    worker: str = ""
    started: bool = False
    finished: bool = False
    waiting_since: float | None = None


class DaskExecutor:
    """Runs instances as tasks on a Dask cluster; implements ``service.executors.base.Executor``."""

    def __init__(
        self,
        sink: EventSink,
        scheduler_address: str,
        *,
        unschedulable_timeout_s: float = 300.0,
        monitor_interval_s: float = 0.5,
        connect_timeout_s: float = 30.0,
    ) -> None:
        self._address = scheduler_address
        self._unschedulable_timeout_s = unschedulable_timeout_s
        self._monitor_interval_s = monitor_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._events = OrderedDelivery(sink)
        self._client: Any = None
        self._attempts: dict[str, _Attempt] = {}
        self._by_key: dict[InstanceKey, str] = {}
        self._workers: dict[str, dict[str, float]] = {}
        self._monitor: asyncio.Task[None] | None = None
        self._scheduler_down = False
        self._background: set[asyncio.Task[Any]] = set()

    # ---- Executor protocol --------------------------------------------------------------------
    async def start(self) -> None:
        from distributed import Client

        self._events.start()
        self._client = await Client(
            self._address, asynchronous=True, timeout=self._connect_timeout_s, set_as_default=False
        )
        self._client.subscribe_topic(TOPIC, self._on_topic)
        await self._refresh_workers()
        self._monitor = asyncio.create_task(self._watch(), name="dask-executor-monitor")

    async def launch(self, launch: InstanceLaunch) -> None:
        if self._client is None:
            await self.start()
        if launch.key in self._by_key:
            log.warning("ignoring a second launch of %s while it runs", launch.key.label())
            return
        run_key = f"bcs-{launch.key.label()}-{uuid.uuid4().hex[:8]}"
        attempt = _Attempt(launch, run_key, needed_resources(launch, self._workers))
        attempt.future = self._client.submit(
            run_on_worker, launch, run_key, key=run_key, resources=attempt.need, pure=False, retries=0
        )
        self._attempts[run_key] = attempt
        self._by_key[launch.key] = run_key
        self._spawn(self._collect(attempt))
        if not placeable(attempt.need, self._workers):
            self._mark_waiting(attempt)

    async def cancel(self, key: InstanceKey) -> None:
        run_key = self._by_key.get(key)
        attempt = self._attempts.get(run_key) if run_key else None
        if attempt is None or attempt.finished:
            return
        await self._give_up(attempt, "InstanceStopped", "killed because the job was stopped")

    async def close(self) -> None:
        """Stop every attempt (each reported as exited), then disconnect."""
        if self._client is None:
            return
        for attempt in list(self._attempts.values()):
            if not attempt.finished:
                with contextlib.suppress(Exception):
                    await self._give_up(attempt, "InstanceStopped", "bcsd is shutting down")
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._client.close()
        self._client = None
        await self._events.drain()

    @property
    def running(self) -> int:
        return len(self._by_key)

    # ---- results and events -------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _collect(self, attempt: _Attempt) -> None:
        try:
            await self._collect_result(attempt)
        finally:
            # only now is nobody watching the attempt's stop Event: the task has ended (or Dask
            # dropped it); clearing it earlier would hide a stop from a worker about to run it
            self._spawn(self._forget(attempt.run_key))

    async def _collect_result(self, attempt: _Attempt) -> None:
        try:
            exited, started = await attempt.future
        except asyncio.CancelledError as exc:
            if attempt.finished or type(exc) is asyncio.CancelledError:
                return  # we cancelled it (stop, unschedulable, close): already reported
            message = f"the Dask scheduler lost the task: {exc}"
            self._finish(attempt, _exited(attempt.launch, "NodeLost", message, attempt.worker))
            return
        except Exception as exc:
            name = type(exc).__name__
            if name == "KilledWorker":
                message = f"the worker running it died ({exc})"
            else:
                message = f"Dask task failed: {name}: {exc}"
            self._finish(attempt, _exited(attempt.launch, "NodeLost", message, attempt.worker))
            return
        if started is not None:
            self._report_started(attempt, started)
        self._finish(attempt, exited)

    def _on_topic(self, event: tuple[float, dict[str, Any]]) -> None:
        _, msg = event
        attempt = self._attempts.get(msg.get("run_key", ""))
        if attempt is not None:
            self._report_started(attempt, msg)

    def _report_started(self, attempt: _Attempt, msg: dict[str, Any]) -> None:
        if attempt.started or attempt.finished:
            return
        attempt.started = True
        attempt.worker = msg["node"]
        attempt.waiting_since = None
        host = attempt.worker.split("://", 1)[-1].rsplit(":", 1)[0]
        at = datetime.fromtimestamp(msg["at"], UTC)
        key = attempt.launch.key
        self._events.put(InstanceStarted(key, at, attempt.worker, host, msg["sandbox"], msg["pid"]))

    def _finish(self, attempt: _Attempt, exited: InstanceExited) -> None:
        if attempt.finished:
            return
        attempt.finished = True
        self._attempts.pop(attempt.run_key, None)
        self._by_key.pop(attempt.launch.key, None)
        self._events.put(exited)

    async def _forget(self, run_key: str) -> None:
        """Drop the attempt's coordination objects from the scheduler (best effort)."""
        from distributed import Event

        with contextlib.suppress(Exception):
            await Event(f"bcs-stop-{run_key}", client=self._client).clear()
        # the claim stays while Dask might still re-run the key; it is tiny and dies with the scheduler

    async def _give_up(self, attempt: _Attempt, code: InstanceErrorCode, message: str) -> None:
        """Stop the attempt wherever it is: kill a running process, or keep a queued one from starting."""
        from distributed import Event, Variable

        await Event(f"bcs-stop-{attempt.run_key}", client=self._client).set()
        if attempt.started:
            return  # the worker kills the group and its result reports InstanceStopped
        # not (yet) started: claim it so a late start refuses, then forget the future
        await Variable(f"bcs-claim-{attempt.run_key}", client=self._client).set(f"bcsd ({code})")
        if attempt.started:  # the start raced our claim: its result will report
            return
        self._finish(attempt, _exited(attempt.launch, code, message))
        if code == "Unschedulable":  # it can never start: free its place in Dask's queue
            with contextlib.suppress(Exception):
                await attempt.future.cancel()
        # a stopped attempt's task is left to Dask: if it already runs, the set Event kills its
        # process; if it starts later, the claim makes it return at once (cancelling a running
        # task would cut it off from the scheduler before it saw the stop)

    def _mark_waiting(self, attempt: _Attempt) -> None:
        if attempt.waiting_since is not None:
            return
        attempt.waiting_since = time.monotonic()
        wanted = ", ".join(f"{k}={v:g}" for k, v in sorted(attempt.need.items()))
        reason = f"no Dask worker offers the resources this instance needs ({wanted})"
        self._events.put(InstanceWaiting(attempt.launch.key, datetime.now(UTC), reason))

    # ---- monitor ------------------------------------------------------------------------------
    async def _refresh_workers(self) -> bool:
        try:
            info = await self._client.scheduler.identity(n_workers=-1)
        except Exception as exc:
            if not self._scheduler_down:
                log.warning("Dask scheduler %s unreachable (%s); retrying", self._address, exc)
            self._scheduler_down = True
            return False
        if self._scheduler_down:
            log.warning("Dask scheduler %s reachable again", self._address)
        self._scheduler_down = False
        self._workers = {a: dict(w.get("resources") or {}) for a, w in info.get("workers", {}).items()}
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._monitor_interval_s)
            if not await self._refresh_workers():
                continue
            now = time.monotonic()
            for attempt in list(self._attempts.values()):
                if attempt.finished:
                    continue
                if attempt.started:
                    if attempt.worker not in self._workers:
                        message = f"worker {attempt.worker} left the cluster while running the instance"
                        self._finish(attempt, _exited(attempt.launch, "NodeLost", message, attempt.worker))
                    continue
                if placeable(attempt.need, self._workers):
                    attempt.waiting_since = None
                    continue
                self._mark_waiting(attempt)
                assert attempt.waiting_since is not None
                if now - attempt.waiting_since >= self._unschedulable_timeout_s:
                    wanted = ", ".join(f"{k}={v:g}" for k, v in sorted(attempt.need.items()))
                    message = f"no Dask worker offered {wanted} within {self._unschedulable_timeout_s:g} s"
                    with contextlib.suppress(Exception):
                        await self._give_up(attempt, "Unschedulable", message)
