"""Prometheus instruments of one bcsd, served at ``/metrics`` without auth.

A private registry per process so tests and several apps in one interpreter never collide; the
standard process, platform and GC collectors are registered on it too. Figures that live in the
store (jobs by state, VM slots, the outbox, leases) are read at scrape time by
``store_figures.StoreFigures``, not kept in step here.
"""

from __future__ import annotations

import platform

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from service.version import version

#: request latencies: a create is ~2-20 ms, a list of 100 jobs tens of ms
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: a scheduler turn: ~1-2 ms of placement, more with a batch of exits
TURN_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
#: job creation to an instance's first start: ~10-30 ms idle, minutes behind a queue
START_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        Info("bcsd_build", "Version of this bcsd", registry=r).info(
            {"version": version(), "python": platform.python_version()}
        )
        self.jobs_created = Counter("bcsd_jobs_created_total", "Jobs accepted", registry=r)
        self.launches = Counter("bcsd_instance_launches_total", "Instance attempts launched", registry=r)
        self.exits = Counter("bcsd_instance_exits_total", "Instance attempts ended", ["outcome"], registry=r)
        self.notifications = Counter(
            "bcsd_notifications_total", "Notification deliveries", ["outcome"], registry=r
        )
        self.http_requests = Counter(
            "bcsd_http_requests_total", "HTTP requests answered, by route template and status",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_latency = Histogram(
            "bcsd_http_request_duration_seconds", "Time from request to the end of the response",
            ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=r,
        )  # fmt: skip
        self.auth_failures = Counter(
            "bcsd_auth_failures_total", "Requests refused by the signature check, by error code",
            ["code"], registry=r,
        )  # fmt: skip
        self.turns = Histogram(
            "bcsd_scheduler_turn_duration_seconds", "One scheduler turn: a batch of executor events, "
            "then placement, in one transaction", buckets=TURN_BUCKETS, registry=r,
        )  # fmt: skip
        self.start_latency = Histogram(
            "bcsd_instance_start_latency_seconds", "Job creation to the first start of each instance",
            buckets=START_BUCKETS, registry=r,
        )  # fmt: skip

    def render(self) -> bytes:
        return generate_latest(self.registry)
