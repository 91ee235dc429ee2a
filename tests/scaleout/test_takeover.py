"""Lease take-over without bcsd processes: two in-process ``Scheduler`` nodes on one real
PostgreSQL database. The node that stops renewing loses its job to the other, which counts the
lost attempt as ``NodeLost`` through the same ``recover_lost`` as restart recovery, and so
leaves a recycled pid alone; the old owner lets the job go and returns the attempt to cancel."""

from __future__ import annotations

import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from service.config import Settings
from service.executors.base import InstanceKey, InstanceStarted
from service.scheduler.loop import Scheduler
from service.store import repo
from service.store.engine import open_engine
from tests.service.jobspec import job, task
from tests.service.test_scheduler_shell import keys, submit
from tests.support.postgres import PostgresCluster

TTL = 0.5


def node(tmp_path: Path, name: str, url: str) -> Scheduler:
    settings = Settings(
        data_dir=tmp_path / name, database_url=url, lease_ttl_s=TTL, max_running=4, validate=True
    )
    return Scheduler(open_engine(url), settings)


def test_take_over_counts_the_lost_attempt_and_spares_a_recycled_pid(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("bcsd_takeover")
    first, second = node(tmp_path, "node1", url), node(tmp_path, "node2", url)
    unrelated = subprocess.Popen(["sleep", "60"], cwd=tmp_path, start_new_session=True)
    try:
        job_id = submit(first, job({"a": task("true", retry=1)}))
        _, launches, _ = first.turn([])
        assert keys(launches) == [("a", 0, 0)]
        # the attempt started on this host; its pid has since been recycled by an unrelated program
        box = first.settings.sandbox_root / job_id / "a" / "0" / "0"
        started = InstanceStarted(
            launches[0].key, datetime.now(UTC), socket.gethostname(), "127.0.0.1", str(box), unrelated.pid
        )
        first.turn([started])

        time.sleep(TTL * 2)  # the first node stops renewing: its lease expires
        second.ownership.tick()
        assert job_id in second.state.views
        with second.engine.connect() as conn:
            (lost,) = repo.job_instances(conn, job_id)
        assert (lost.state, lost.retry_count, lost.error_code) == ("Waiting", 1, "NodeLost")
        assert unrelated.poll() is None, "a recycled pid was killed on take-over"
        _, again, _ = second.turn([])
        assert keys(again) == [("a", 0, 1)]

        first.ownership.tick()  # the old owner notices, forgets the job, cancels its attempt
        assert job_id not in first.state.views and first.state.slots == {}
        assert first.ownership.cancels == [InstanceKey(job_id, "a", 0, 0)]
        first.state.check()
        second.state.check()
    finally:
        unrelated.kill()
        unrelated.wait()
        first.engine.dispose()
        second.engine.dispose()


def test_take_over_wakes_the_deliverer_for_the_notifications_it_queued(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    """A lost attempt without retries fails its job on the node that takes it over: the
    ``OnJobFailed`` row it queues must wake that node's deliverer, not wait for its next event."""
    url = postgres.create_database("bcsd_takeover_notify")
    first, second = node(tmp_path, "node1", url), node(tmp_path, "node2", url)
    woken: list[str] = []
    second.on_notify = lambda: woken.append("deliverer")
    try:
        topic = {"Topic": {"Name": "t", "Endpoint": "http://127.0.0.1:9/hook", "Events": ["OnJobFailed"]}}
        job_id = submit(first, job({"a": task("true")}, Notification=topic))
        _, launches, _ = first.turn([])
        box = first.settings.sandbox_root / job_id / "a" / "0" / "0"
        started = InstanceStarted(launches[0].key, datetime.now(UTC), "elsewhere", "127.0.0.1", str(box), 0)
        first.turn([started])

        time.sleep(TTL * 2)  # the first node stops renewing: its lease expires
        second.ownership.tick()
        with second.engine.connect() as conn:
            assert repo.get_job(conn, job_id).state == "Failed"
            queued = [row.payload["Event"] for row in repo.due_notifications(conn, time.time() + 1)]
        assert queued == ["OnJobFailed"]
        assert woken == ["deliverer"]
        second.state.check()
    finally:
        first.engine.dispose()
        second.engine.dispose()
