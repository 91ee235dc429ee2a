"""Prometheus metrics of one bcsd (served at ``/metrics`` without auth). A private registry per
process so tests and several apps in one interpreter never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.jobs_created = Counter("bcsd_jobs_created_total", "Jobs accepted", registry=self.registry)
        self.launches = Counter(
            "bcsd_instance_launches_total", "Instance attempts launched", registry=self.registry
        )
        self.exits = Counter(
            "bcsd_instance_exits_total", "Instance attempts ended", ["outcome"], registry=self.registry
        )
        self.running = Gauge(
            "bcsd_instances_running", "Attempts running on this node", registry=self.registry
        )
        self.notifications = Counter(
            "bcsd_notifications_total", "Notification deliveries", ["outcome"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
