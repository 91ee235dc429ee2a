"""bcsd's pooled PostgreSQL connections dropped by the server are replaced before use (issue 16).

A pooled connection is no longer pinged at every checkout (a round trip per CreateJob), only
after a second idle or when the server wrote to it while it sat in the pool (``store.engine``):
a terminated backend says so before it closes. Against a real bcsd on a throwaway PostgreSQL
whose backends are terminated under it: every request after the drop is served.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.service.jobspec import parked_job
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresCluster

OURS = "SELECT pid FROM pg_stat_activity WHERE datname = %s"


def test_connections_the_server_drops_are_replaced(tmp_path: Path, postgres: PostgresCluster) -> None:
    url = postgres.create_database("dropped_connections")
    database = url.rsplit("/", 1)[1]
    with (
        start_bcsd(tmp_path, database_url=url) as bcsd,
        SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as c,
    ):
        body = parked_job(c)
        assert c.post("/jobs", body).status_code == 201
        with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as admin:
            pids = [pid for (pid,) in admin.execute(OURS, (database,))]
            assert pids, "bcsd held no connection to drop"
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))  # waits for its exit
        statuses = [c.post("/jobs", body).status_code for _ in range(6)]
        assert statuses == [201] * 6, statuses
        listed = c.get("/jobs", {"MaxItemCount": 100}).json()["Items"]
    assert len(listed) == 7, "every create answered 201 is stored"
