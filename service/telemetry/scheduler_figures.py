"""The scheduler's figures, read through small hooks so the scheduler itself knows nothing of
Prometheus: turn durations (its ``on_turn`` hook), instances waiting for a slot and attempts
running (its in-memory views, read at scrape time), and job-creation-to-start latency (the
executor's event sink, wrapped before it reaches the scheduler).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, select

from service.executors.base import EventSink, ExecutorEvent, InstanceStarted
from service.store.schema import jobs

if TYPE_CHECKING:
    from service.scheduler.loop import Scheduler


class SchedulerFigures(Collector):
    """This node's scheduler at scrape time: what it must still place, what it runs."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting = sum(task.counts["Waiting"] for view in list(self.scheduler.state.views.values())
                      for task in view.tasks.values())  # fmt: skip
        yield GaugeMetricFamily(
            "bcsd_instances_waiting", "Instances of this node's active jobs not yet placed on a VM",
            value=waiting,
        )  # fmt: skip
        yield GaugeMetricFamily(
            "bcsd_instances_running", "Attempts running on this node", value=self.scheduler.running
        )


def observe_turns(scheduler: Scheduler, turns: Histogram) -> None:
    """Every scheduler turn's duration goes to ``turns``."""
    scheduler.on_turn = turns.observe


def start_latency_sink(
    sink: EventSink, engine: Engine, latency: Histogram, scheduler: Scheduler
) -> EventSink:
    """``sink`` (the scheduler's), observing creation-to-start of each instance's first attempt.

    The creation time is the job's stored ``creation_time``, read from the scheduler's view of
    the job (it holds it from the create or the load); only a job the scheduler no longer
    holds when its start arrives (stopped meanwhile) is read from the store, in a worker
    thread, so no start waits on a query on the event loop."""

    def stored(job_id: str) -> float | None:
        with engine.connect() as conn:
            value = conn.execute(select(jobs.c.creation_time).where(jobs.c.id == job_id)).scalar()
        return None if value is None else float(value)

    async def observed(event: ExecutorEvent) -> None:
        if isinstance(event, InstanceStarted) and event.key.attempt == 0:
            view = scheduler.state.views.get(event.key.job_id)
            at = view.created if view is not None and view.created else None
            if at is None:
                at = await asyncio.to_thread(stored, event.key.job_id)
            if at is not None:
                latency.observe(max(0.0, event.at.timestamp() - at))
        await sink(event)

    return observed
