"""``GET /metrics`` after a real workload, parsed with prometheus_client's own parser: HTTP
traffic by route template, run states, slots, the scheduler, the outbox, auth failures, build
info, the standard collectors; and job leases on a real PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresUnavailable, start_postgres
from tests.support.waiting import until

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    r = httpx.get(f"{url}/metrics")  # no signature: public like /healthz
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def names(samples: Samples) -> set[str]:
    return {name for name, _ in samples}


def dead_endpoint() -> str:
    with socket.socket() as s:  # a port nothing listens on: every delivery fails at once
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


@pytest.fixture
def busy_bcsd(tmp_path: Path) -> Iterator[BcsdProcess]:
    """Slow notification retries, so an undelivered message stays in the outbox for the scrape."""
    with start_bcsd(tmp_path, notify_backoff=600) as proc:
        yield proc


def test_metrics_after_a_real_workload(busy_bcsd: BcsdProcess, scratch: Path) -> None:
    client = SignedClient(busy_bcsd.url, busy_bcsd.key_id, busy_bcsd.secret)
    pool = {"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 2,
            "InstanceType": "ecs.sn1.medium"}}}  # fmt: skip
    empty = {**pool, "Groups": {"g": {"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}}}
    pool_id = client.post("/clusters", pool).json()["Id"]
    empty_id = client.post("/clusters", empty).json()["Id"]
    topic = {"Topic": {"Name": "t", "Endpoint": dead_endpoint(), "Events": ["OnJobFinished"]}}
    finished = [
        client.create_job(job({"a": task("true", count=2, cluster_id=pool_id)}, Notification=topic)),
        client.create_job(job({"a": task("true")})),
    ]
    failed = client.create_job(job({"a": task("false")}))
    waiting = client.create_job(job({"a": task("true", cluster_id=empty_id)}))
    for job_id in finished:
        assert client.wait_job(job_id)["State"] == "Finished"
    assert client.wait_job(failed)["State"] == "Failed"
    assert client.job(waiting)["State"] == "Waiting"
    assert httpx.get(f"{busy_bcsd.url}/jobs").json()["Code"] == "MissingAuthorization"
    forged = SignedClient(busy_bcsd.url, busy_bcsd.key_id, "not-the-secret")
    assert forged.get("/jobs").json()["Code"] == "SignatureDoesNotMatch"
    assert client.get("/no/such/path").status_code == 404

    def started_four() -> Samples | None:
        samples = scrape(busy_bcsd.url)
        return samples if value(samples, "bcsd_instance_start_latency_seconds_count") >= 4 else None

    m = until(started_four, "four instance starts in the latency histogram")

    # HTTP traffic, by route template and status (never a raw id)
    http = "bcsd_http_requests_total"
    assert value(m, http, method="POST", route="/jobs", status="201") == 4
    created = {"method": "POST", "route": "/jobs", "status": "201"}
    assert value(m, "bcsd_http_request_duration_seconds_count", **created) == 4
    assert value(m, http, method="GET", route="/jobs/{job_id}", status="200") >= 4
    assert value(m, http, method="GET", route="/jobs", status="400") == 2
    assert value(m, http, method="GET", route="<unmatched>", status="404") == 1
    routes = {v for _, labels in m for k, v in labels if k == "route"}
    assert routes and not [r for r in routes if "job-" in r or "cls-" in r]
    # jobs, tasks, instances by state; what waits; slots per cluster
    assert value(m, "bcsd_jobs", state="Finished") == 2 and value(m, "bcsd_jobs", state="Failed") == 1
    assert value(m, "bcsd_jobs", state="Waiting") == 1 and value(m, "bcsd_jobs", state="Stopped") == 0
    assert value(m, "bcsd_tasks", state="Finished") == 2 and value(m, "bcsd_tasks", state="Failed") == 1
    assert value(m, "bcsd_instances", state="Finished") == 3
    assert value(m, "bcsd_instances", state="Waiting") == 1
    assert value(m, "bcsd_instances_waiting") == 1 and value(m, "bcsd_instances_running") == 0
    assert value(m, "bcsd_vm_slots", cluster=pool_id) == 2
    assert value(m, "bcsd_vm_slots_free", cluster=pool_id) == 2
    assert value(m, "bcsd_vm_slots", cluster=empty_id) == 0
    # the scheduler and the instances it started
    assert value(m, "bcsd_scheduler_turn_duration_seconds_count") > 0
    assert value(m, "bcsd_instance_start_latency_seconds_count") == 4  # 3 finished + 1 failed, first attempts
    assert value(m, "bcsd_instance_exits_total", outcome="failed") == 1
    # the undelivered notification waits in the outbox (next retry in 600 s)
    assert value(m, "bcsd_notification_outbox_pending") == 1
    assert value(m, "bcsd_notification_outbox_oldest_age_seconds") > 0
    # refused signatures, by code
    assert value(m, "bcsd_auth_failures_total", code="MissingAuthorization") == 1
    assert value(m, "bcsd_auth_failures_total", code="SignatureDoesNotMatch") == 1
    # build info and the standard collectors
    build = [dict(labels) for name, labels in m if name == "bcsd_build_info"]
    assert len(build) == 1 and build[0]["version"] and build[0]["python"].startswith("3.")
    assert {"process_cpu_seconds_total", "process_resident_memory_bytes", "python_info",
            "python_gc_objects_collected_total"} <= names(m)  # fmt: skip
    assert "bcsd_job_leases" not in names(m)  # SQLite: one node, no leases
    client.close()
    forged.close()


def test_job_leases_on_postgresql(tmp_path: Path) -> None:
    try:
        pg = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        with start_bcsd(tmp_path, database_url=pg.url) as node:
            client = SignedClient(node.url, node.key_id, node.secret)
            empty = {"Name": "e", "ImageId": "img-ubuntu",
                     "Groups": {"g": {"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium"}}}  # fmt: skip
            cluster_id = client.post("/clusters", empty).json()["Id"]
            client.create_job(job({"a": task("true", cluster_id=cluster_id)}))  # waits: leased by this node
            m = scrape(node.url)
            mine = [(dict(labels), v) for (name, labels), v in m.items() if name == "bcsd_job_leases"]
            assert [(labels["this_node"], v) for labels, v in mine] == [("true", 1.0)]
            assert value(m, "bcsd_job_leases_expired") == 0
            client.close()
    finally:
        pg.stop()
