"""Notifications: subscribed events reach a real HTTP endpoint; a dead endpoint never blocks a
job and its failures are counted."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, free_port, start_bcsd
from tests.support.client import SignedClient
from tests.support.webhook import webhook


@pytest.fixture
def sink() -> Iterator[tuple[str, list[dict]]]:
    with webhook() as endpoint:
        yield endpoint


@pytest.fixture
def fast_retry_bcsd(tmp_path: Path) -> Iterator[BcsdProcess]:
    proc = start_bcsd(tmp_path, notify_retries=2, notify_backoff=0.05)
    try:
        yield proc
    finally:
        proc.stop()


def _topic(endpoint: str, events: list[str]) -> dict:
    return {"Topic": {"Name": "t", "Endpoint": endpoint, "Events": events}}


def test_subscribed_events_are_posted(fast_retry_bcsd: BcsdProcess, sink) -> None:
    endpoint, received = sink
    client = SignedClient(fast_retry_bcsd.url, fast_retry_bcsd.key_id, fast_retry_bcsd.secret)
    try:
        events = ["OnJobRunning", "OnJobFinished", "OnTaskFinished", "OnInstanceFinished"]
        job_id = client.create_job(job({"a": task("true")}, Notification=_topic(endpoint, events)))
        client.wait_job(job_id)
        deadline = time.monotonic() + 10
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        got = sorted(m["Event"] for m in received)
        assert got == sorted(events)
        finished = next(m for m in received if m["Event"] == "OnJobFinished")
        assert (
            finished["JobId"] == job_id and finished["Category"] == "Job" and finished["State"] == "Finished"
        )
        inst = next(m for m in received if m["Event"] == "OnInstanceFinished")
        assert inst["TaskName"] == "a" and inst["InstanceId"] == 0

        # a dead endpoint: the job still finishes; the failure is counted once retries ran out
        dead = f"http://127.0.0.1:{free_port()}/gone"
        job2 = client.create_job(job({"a": task("true")}, Notification=_topic(dead, ["OnJobFinished"])))
        assert client.wait_job(job2)["State"] == "Finished"
        deadline = time.monotonic() + 10
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(f"{fast_retry_bcsd.url}/metrics").text
            if 'bcsd_notifications_total{outcome="failed"} 1.0' in text:
                break
            time.sleep(0.05)
        assert 'bcsd_notifications_total{outcome="failed"} 1.0' in text
        assert 'bcsd_notifications_total{outcome="delivered"} 4.0' in text
    finally:
        client.close()


def test_running_events_are_posted_while_the_job_runs(fast_retry_bcsd: BcsdProcess, sink) -> None:
    """The launch that makes an instance, its task and its job Running queues those events: the
    deliverer must be woken by it, not by the next event (which came when the job ended)."""
    endpoint, received = sink
    client = SignedClient(fast_retry_bcsd.url, fast_retry_bcsd.key_id, fast_retry_bcsd.secret)
    try:
        events = ["OnJobRunning", "OnTaskRunning", "OnInstanceRunning"]
        job_id = client.create_job(job({"a": task("sleep 20")}, Notification=_topic(endpoint, events)))
        deadline = time.monotonic() + 10
        while len(received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(m["Event"] for m in received) == sorted(events)
        assert client.job(job_id)["State"] == "Running"  # posted while it runs, not at its end
        client.post(f"/jobs/{job_id}/stop")
    finally:
        client.close()
