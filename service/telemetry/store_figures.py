"""Figures read from the store at scrape time: jobs, tasks and instances by state, VM slots per
cluster, the notification outbox, and (on a shared PostgreSQL) job leases.

Reading them when Prometheus asks costs a few indexed GROUP BY queries per scrape and can never
drift from the truth, which counters kept in step with every transition could (other nodes,
restarts, AutoRelease). A failing query is logged and that scrape simply lacks the figures.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, case, func, select
from sqlalchemy.exc import SQLAlchemyError

from api.states import RUN_STATES
from service.store.schema import clusters, instances, jobs, outbox, tasks, vms

log = logging.getLogger("bcsd.metrics")

#: all AutoClusters are summed under this cluster label: their ids live only as long as a task
AUTO_CLUSTERS = "auto"


class StoreFigures(Collector):
    """A Prometheus collector over the store. ``node_id``/``leases_enabled``: this node's lease
    figures (PostgreSQL only)."""

    def __init__(
        self, engine: Engine, node_id: str, leases_enabled: bool, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self.node_id = node_id
        self.leases_enabled = leases_enabled
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.engine.connect() as conn:
                yield from self._run_states(conn)
                yield from self._vm_slots(conn)
                yield from self._outbox(conn)
                if self.leases_enabled:
                    yield from self._leases(conn)
        except SQLAlchemyError:
            log.exception("metrics: reading the store failed")

    def _run_states(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        for name, table, what in (("bcsd_jobs", jobs, "Jobs"), ("bcsd_tasks", tasks, "Tasks"),
                                  ("bcsd_instances", instances, "Instances")):  # fmt: skip
            counts = dict.fromkeys(RUN_STATES, 0)
            query = select(table.c.state, func.count()).group_by(table.c.state)
            counts.update(dict(conn.execute(query).all()))
            family = GaugeMetricFamily(name, f"{what} stored, by state", labels=["state"])
            for state, n in sorted(counts.items()):
                family.add_metric([state], n)
            yield family

    def _vm_slots(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        label = case((clusters.c.kind == "auto", AUTO_CLUSTERS), else_=clusters.c.id)
        free = func.sum(case((and_(vms.c.busy_job == "", vms.c.state == "Running"), 1), else_=0))
        live_vms = and_(vms.c.cluster_id == clusters.c.id, vms.c.state == "Running")
        query = (  # an outer join: a named cluster scaled to 0 VMs still reports 0
            select(label.label("cluster"), func.count(vms.c.id), free)
            .select_from(clusters.outerjoin(vms, live_vms))
            .where(clusters.c.state == "Active")
            .group_by(label)
        )
        total = GaugeMetricFamily("bcsd_vm_slots", "VM slots of a cluster", labels=["cluster"])
        idle = GaugeMetricFamily("bcsd_vm_slots_free", "VM slots no instance occupies", labels=["cluster"])
        for cluster, n, n_free in conn.execute(query):
            total.add_metric([cluster], n)
            idle.add_metric([cluster], n_free or 0)
        yield total
        yield idle

    def _outbox(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        pending = outbox.c.state == "pending"
        backlog = conn.execute(select(func.count()).where(pending)).scalar() or 0
        oldest = conn.execute(select(func.min(outbox.c.queued_at)).where(pending)).scalar()
        age = max(0.0, self.clock() - oldest) if oldest is not None else 0.0
        yield GaugeMetricFamily("bcsd_notification_outbox_pending", "Notifications not yet delivered",
                                value=backlog)  # fmt: skip
        yield GaugeMetricFamily(
            "bcsd_notification_outbox_oldest_age_seconds",
            "Age of the oldest undelivered notification (0 when none)", value=age,
        )  # fmt: skip

    def _leases(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        from service.store.leases import job_leases

        now = self.clock()
        held = job_leases.c.node != ""
        live = conn.execute(
            select(job_leases.c.node, func.count()).where(and_(held, job_leases.c.expires > now))
            .group_by(job_leases.c.node)
        ).all()  # fmt: skip
        expired = conn.execute(select(func.count()).where(and_(held, job_leases.c.expires <= now))).scalar()
        owned = GaugeMetricFamily(
            "bcsd_job_leases", "Unexpired job leases per node of the shared database",
            labels=["node", "this_node"],
        )  # fmt: skip
        for node, n in live:
            owned.add_metric([node, "true" if node == self.node_id else "false"], n)
        if self.node_id not in dict(live):
            owned.add_metric([self.node_id, "true"], 0)
        yield owned
        yield GaugeMetricFamily("bcsd_job_leases_expired", "Expired leases not yet taken over",
                                value=expired or 0)  # fmt: skip
