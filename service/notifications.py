"""Job event notifications (reference §10): subscribed events are written to an outbox in the
same transaction as the state change, then posted as JSON to the topic's Endpoint by a
background deliverer with retries and exponential backoff. A dead endpoint never blocks or
fails a job; delivered / failed messages are counted in metrics and logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Connection, Engine

from api import JobDescription
from api.timestamps import format_ts
from service.store import repo

log = logging.getLogger("bcsd.notifications")


def _ts(value: float | None) -> str:
    from datetime import UTC, datetime

    return format_ts(datetime.fromtimestamp(value, UTC)) if value else ""


def enqueue_job_events(conn: Connection, spec: JobDescription | None, view: Any, notes: list[Any]) -> bool:
    """Queue the subscribed subset of ``notes`` (core ``Notify`` instructions). True if any."""
    topic = spec.notification.topic if spec is not None and spec.notification is not None else None
    if spec is None or topic is None or not topic.endpoint or not topic.events:
        return False
    endpoint, events = topic.endpoint, set(topic.events)
    wanted = [n for n in notes if n.event in events]
    if not wanted:
        return False
    job = repo.get_job(conn, view.id)
    now = time.time()
    rows = []
    for note in wanted:
        payload: dict[str, Any] = {
            "Category": "Job",
            "JobId": view.id,
            "JobName": spec.name,
            "Event": note.event,
            "State": view.state,
            "TopicName": topic.name,
            "CreationTime": _ts(job.creation_time) if job else "",
            "StartTime": _ts(job.start_time) if job else "",
            "EndTime": _ts(job.end_time) if job else "",
            "Priority": view.priority,
            "Message": job.message if job else "",
        }
        if note.task:
            payload["TaskName"] = note.task
            payload["State"] = (
                view.tasks[note.task].state
                if note.idx < 0
                else view.tasks[note.task].instances[note.idx].state
            )
        if note.idx >= 0:
            payload["InstanceId"] = note.idx
        if user_data := (topic.model_extra or {}).get("UserData"):  # not an API key: kept as sent
            payload["UserData"] = user_data
        rows.append(
            {
                "endpoint": endpoint,
                "payload": payload,
                "attempts": 0,
                "next_at": now,
                "queued_at": now,
                "state": "pending",
            }
        )
    repo.enqueue(conn, rows)
    return True


#: How long one delivery attempt holds its row (longer than the POST's timeout): a node that dies
#: mid-attempt leaves the row to any deliverer after this, so a notification is never lost, and
#: posted twice only when a node died between the endpoint's answer and its commit.
CLAIM_S = 30.0
POST_TIMEOUT_S = 5.0


class Deliverer:
    """Posts outbox rows; woken when rows are queued, otherwise sleeps until the next retry.

    Several bcsd nodes on one PostgreSQL each run a deliverer over the one outbox: every attempt
    first claims its row (:func:`repo.claim_notification`), so a row woken on two nodes at once is
    posted by one. A node is woken only by its own queued rows, so with ``poll_s`` set (a shared
    store) an idle deliverer also looks again after that long: rows a stopped node queued, or
    left claimed, are delivered by another within ``poll_s`` of coming due.
    """

    def __init__(
        self,
        engine: Engine,
        retries: int,
        backoff_s: float,
        count: Callable[[str], None] = lambda outcome: None,
        *,
        poll_s: float | None = None,
        claim_s: float = CLAIM_S,
    ) -> None:
        self.engine = engine
        self.retries = retries
        self.backoff_s = backoff_s
        self.count = count
        self.poll_s = poll_s
        self.claim_s = claim_s
        self._signal = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client = httpx.AsyncClient(timeout=POST_TIMEOUT_S)

    def wake(self) -> None:
        self._signal.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="bcsd-notifications")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                due = self._claim_due()
                for row in due:
                    await self._deliver(row)
                if due:
                    continue
                with self.engine.begin() as conn:
                    nxt = repo.next_notification_at(conn)
                wait = None if nxt is None else max(0.0, nxt - time.time())
                if self.poll_s is not None:
                    wait = self.poll_s if wait is None else min(wait, self.poll_s)
                self._signal.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._signal.wait(), timeout=wait)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notification delivery turn failed")
                await asyncio.sleep(1.0)

    def _claim_due(self) -> list[Any]:
        """The due rows this deliverer now holds (claimed in one transaction, in id order, so two
        deliverers claiming at once wait on each other's rows in the same order)."""
        now = time.time()
        with self.engine.begin() as conn:
            due = repo.due_notifications(conn, now)
            return [row for row in due if repo.claim_notification(conn, row.id, now, now + self.claim_s)]

    async def _deliver(self, row: Any) -> None:
        attempts = row.attempts + 1
        try:
            response = await self._client.post(row.endpoint, json=row.payload)
            ok, reason = response.is_success, f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            ok, reason = False, type(exc).__name__
        with self.engine.begin() as conn:
            if ok:
                repo.set_notification(conn, row.id, state="delivered", attempts=attempts)
                self.count("delivered")
                log.info("notification %s delivered to %s", row.payload.get("Event"), _where(row.endpoint))
            elif attempts >= self.retries:
                repo.set_notification(conn, row.id, state="failed", attempts=attempts)
                self.count("failed")
                log.warning(
                    "notification %s to %s failed after %d attempts (%s)",
                    row.payload.get("Event"), _where(row.endpoint), attempts, reason,
                )  # fmt: skip
            else:
                delay = self.backoff_s * 2 ** (attempts - 1)
                repo.set_notification(conn, row.id, attempts=attempts, next_at=time.time() + delay)


def _where(endpoint: str) -> str:
    """An endpoint as logs show it: no user:password and no query (webhook tokens live there)."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
