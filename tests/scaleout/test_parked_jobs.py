"""Jobs parked on a full cluster cost the PostgreSQL scheduler nothing per lease poll (issue 16).

Every lease poll (4 times a second) makes the next placement pass rescan every active job. It
locked each job's lease row (``SELECT … FOR UPDATE``, one round trip each) before finding that
the job's cluster had no free VM, so a few hundred parked jobs took most of the event loop's
time, the creates' included. A job behind one that already found its cluster full is now filed
from memory; the first job of the cluster still locks its lease and looks for a VM.

Against a real bcsd on a throwaway PostgreSQL whose statements are logged (``log_statement``):
the statement log says which leases were locked.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psycopg

from tests.service.jobspec import parked_job
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresCluster

#: a logged lease lock and the parameters PostgreSQL logs on the next line
LEASE_LOCK = re.compile(
    r"FROM job_leases\s+WHERE job_leases\.job_id = \$1[^\n]*FOR UPDATE\s*\n[^\n]*\$1 = '([^']+)'"
)


def _locked_leases(log: Path, start: int) -> list[str]:
    """The job ids whose lease row was locked since byte ``start`` of the server log."""
    return LEASE_LOCK.findall(log.read_bytes()[start:].decode(errors="replace"))


def test_a_rescan_locks_only_the_first_job_parked_on_a_full_cluster(
    tmp_path: Path, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("parked_jobs")
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(postgres.url_for("postgres"), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{database}\" SET log_statement = 'all'")
    log = postgres.root / "server.log"
    with (
        start_bcsd(tmp_path, database_url=url) as bcsd,
        SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client,
    ):
        body = parked_job(client)
        first, *behind = (client.create_job(body) for _ in range(4))
        start = log.stat().st_size
        deadline = time.monotonic() + 60
        while _locked_leases(log, start).count(first) < 4:  # four rescans, lease polls apart
            assert time.monotonic() < deadline, "the first parked job was never looked at again"
            time.sleep(0.1)
        locked = _locked_leases(log, start)
        for job_id in behind:
            assert client.job(job_id)["State"] == "Waiting"
    assert not set(locked) & set(behind), "a job behind one that found the cluster full was locked"
