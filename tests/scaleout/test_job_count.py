"""MaxJobCount on PostgreSQL without one counter row that every create locks (issue 16).

Against a real bcsd on a throwaway PostgreSQL: a create goes through while another session
holds the counter row of earlier releases locked (with one row it waited for that session, and
on several nodes every create waited for the others' commits); the limit stays exact across the
shards when creates race for the last slots, after a delete, and after a restart with another
limit (the count is spread over the shards again at start-up).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from service.store.database_url import driver_url
from tests.service.jobspec import parked_job
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresCluster

_databases = itertools.count()


@pytest.fixture
def database_url(postgres: PostgresCluster) -> str:
    """A fresh database on the module's cluster (conftest ``postgres``): each test counts from 0."""
    return postgres.create_database(f"job_count_{next(_databases)}")


def _parked_job(bcsd: BcsdProcess) -> dict:
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        return parked_job(client)


def _create(bcsd: BcsdProcess, body: dict) -> tuple[int, str]:
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        r = client.post("/jobs", body)
        return r.status_code, r.json().get("Id") or r.json().get("Code", "")


def _race(bcsd: BcsdProcess, body: dict, n: int) -> list[tuple[int, str]]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: _create(bcsd, body), range(n)))


def test_a_create_does_not_wait_for_the_old_counter_row(tmp_path: Path, database_url: str) -> None:
    with start_bcsd(tmp_path, database_url=database_url, max_job_count=100) as bcsd:
        body = _parked_job(bcsd)
        holder = create_engine(driver_url(database_url))
        try:
            with holder.connect() as conn:  # another session holds the row every create once locked
                conn.execute(text("SELECT value FROM counters WHERE name = 'jobs' FOR UPDATE"))
                with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret, timeout=20.0) as client:
                    r = client.post("/jobs", body)
                assert r.status_code == 201, r.text
                conn.rollback()
        finally:
            holder.dispose()


def test_max_job_count_stays_exact_over_the_shards(tmp_path: Path, database_url: str) -> None:
    with start_bcsd(tmp_path, database_url=database_url, max_job_count=10) as bcsd:
        body = _parked_job(bcsd)
        answers = _race(bcsd, body, 16)
        created = [job_id for status, job_id in answers if status == 201]
        assert len(created) == 10, answers
        assert all(a == (403, "QuotaExhausted.MaxJobCount") for a in answers if a[0] != 201), answers

        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:  # a delete frees one slot
            assert client.post(f"/jobs/{created[0]}/stop").status_code == 201
            client.wait_job(created[0], ("Stopped",))
            assert client.delete(f"/jobs/{created[0]}").status_code == 204
        assert sorted(status for status, _ in _race(bcsd, body, 4)) == [201, 403, 403, 403]

        bcsd.options["max_job_count"] = 13  # restarted with a higher limit: 3 more, no more
        bcsd.restart()
        assert sorted(status for status, _ in _race(bcsd, body, 6)) == [201] * 3 + [403] * 3
        bcsd.options["max_job_count"] = 5  # and with a lower one: refused until 9 are deleted
        bcsd.restart()
        assert _create(bcsd, body) == (403, "QuotaExhausted.MaxJobCount")
