"""The scheduler's figures, read through small hooks so the scheduler itself knows nothing of
Prometheus: turn durations (its ``on_turn`` hook), instances waiting for a slot and attempts
running (its in-memory views, read at scrape time), and job-creation-to-start latency (the
executor's event sink, wrapped before it reaches the scheduler).
"""

from __future__ import annotations

from collections import OrderedDict
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

#: job creation times remembered for the latency figure (a job's instances start close together)
CREATION_CACHE = 4096


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


def start_latency_sink(sink: EventSink, engine: Engine, latency: Histogram) -> EventSink:
    """``sink`` (the scheduler's), observing creation-to-start of each instance's first attempt."""
    created: OrderedDict[str, float] = OrderedDict()

    def creation_time(job_id: str) -> float | None:
        if job_id in created:
            created.move_to_end(job_id)
            return created[job_id]
        with engine.connect() as conn:
            value = conn.execute(select(jobs.c.creation_time).where(jobs.c.id == job_id)).scalar()
        if value is not None:
            created[job_id] = float(value)
            if len(created) > CREATION_CACHE:
                created.popitem(last=False)
        return value

    async def observed(event: ExecutorEvent) -> None:
        if isinstance(event, InstanceStarted) and event.key.attempt == 0:
            at = creation_time(event.key.job_id)
            if at is not None:
                latency.observe(max(0.0, event.at.timestamp() - at))
        await sink(event)

    return observed
