"""Bench-only seeding: fill a stopped bcsd's store with copies of one real finished job.

Going through the API would take minutes per 10k jobs on these machines and would measure the
create path, not a large store. Instead one job is run to ``Finished`` by bcsd itself, then its
rows (job, tasks, instances, transitions) are copied with new ids and later submission order,
straight through the store's tables in batches, and the MaxJobCount counter row is moved by the
same amount in the same transaction. The copies are what bcsd would hold after running that job
N times, so reads and the scheduler see a store of the wanted size; bcsd must be stopped while
this runs (it keeps nothing about finished jobs in memory, so a restart picks them up).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import Connection, insert, select, update

from service.store import job_count
from service.store.engine import open_engine
from service.store.schema import counters, instances, jobs, tasks, transitions

BATCH = 2000


def _rows(conn: Connection, table: Any, job_id: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(table).where(table.c.job_id == job_id))]


def stored_jobs(database_url: str) -> int:
    """How many jobs the store holds (the counter row bcsd keeps)."""
    engine = open_engine(database_url)
    try:
        with engine.connect() as conn:
            return job_count.stored(conn)
    finally:
        engine.dispose()


def clone_finished_job(database_url: str, template_id: str, copies: int) -> float:
    """Insert ``copies`` copies of job ``template_id``; returns the seconds it took."""
    started = time.perf_counter()
    engine = open_engine(database_url)
    try:
        with engine.begin() as conn:
            job = dict(conn.execute(select(jobs).where(jobs.c.id == template_id)).one()._mapping)
            assert job["state"] == "Finished", f"template {template_id} is {job['state']}"
            task_rows, inst_rows = _rows(conn, tasks, template_id), _rows(conn, instances, template_id)
            trans_rows = [
                {k: v for k, v in r.items() if k != "id"} for r in _rows(conn, transitions, template_id)
            ]
        seq = time.time_ns()
        done = 0
        while done < copies:
            n = min(BATCH, copies - done)
            ids = ["job-" + secrets.token_hex(16).upper() for _ in range(n)]
            with engine.begin() as conn:
                # older than anything bcsd will create next, newer than what is stored: seq is the
                # clock in ns at insert time, so copies sort among themselves like real submissions
                conn.execute(insert(jobs), [{**job, "id": i, "seq": seq + k} for k, i in enumerate(ids)])
                for table, rows in ((tasks, task_rows), (instances, inst_rows), (transitions, trans_rows)):
                    conn.execute(insert(table), [{**r, "job_id": i} for i in ids for r in rows])
                counted = update(counters).where(counters.c.name == job_count.JOB_COUNTER)
                conn.execute(counted.values(value=counters.c.value + n))
            seq += n
            done += n
    finally:
        engine.dispose()
    return time.perf_counter() - started
