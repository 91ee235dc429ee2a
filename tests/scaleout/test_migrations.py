"""Upgrades keep data: a SQLite data dir and a PostgreSQL database written by the previous
release (0.1.0, before migrations) are served by this bcsd, which runs the Alembic chain in
place and keeps every job; and the schema module equals what the chain builds.

The stores are SQL dumps the 0.1.0 bcsd itself wrote (``tools/previous_release_store.py`` ran
it from ``git archive 15a47e2``): a cluster, a finished, a stopped, an auto-released and a
waiting job, a queued notification, IdempotentTokens.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from service.store import leases, migrate  # noqa: F401 - leases registers job_leases on the metadata
from service.store.database_url import driver_url
from service.store.engine import open_engine
from service.store.schema import metadata
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.postgres import PostgresCluster, client_program

DATA = Path(__file__).with_name("data")
_databases = itertools.count()


def previous_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> tuple[Path, str, dict[str, str]]:
    """(data dir, database URL, ids of the objects) of a store the previous release wrote."""
    dump = (DATA / f"previous_release.{kind}.sql").read_text()
    ids = dict(line.split() for line in (DATA / f"previous_release.{kind}.ids").read_text().splitlines())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if kind == "sqlite":
        with sqlite3.connect(data_dir / "bcsd.db") as db:
            db.executescript(dump)
        return data_dir, f"sqlite:///{data_dir / 'bcsd.db'}", ids
    postgres: PostgresCluster = request.getfixturevalue("postgres")
    url = postgres.create_database(f"previous{next(_databases)}")
    subprocess.run([client_program("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"],
                   input=dump, text=True, check=True, capture_output=True)  # fmt: skip
    return data_dir, url, ids


def revision(url: str) -> str | None:
    engine = create_engine(driver_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_store_of_the_previous_release_upgrades_in_place_and_keeps_its_jobs(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    data_dir, url, ids = previous_store(kind, tmp_path, request)
    assert revision(url) is None  # 0.1.0 had no migrations
    flags = {"database_url": url} if kind == "postgresql" else {}
    bcsd = start_bcsd(tmp_path, data_dir=data_dir, **flags)
    try:
        assert "store schema upgraded from 0.1.0 (no revision) to " + migrate.head() in bcsd.log()
        assert revision(url) == migrate.head()
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            finished = client.job(ids["finished"])
            assert finished["State"] == "Finished" and finished["TaskMetrics"]["FinishedCount"] == 2
            assert client.get(f"/jobs/{ids['finished']}", "description").json()["DAG"]["Dependencies"] == {
                "a": ["b"]
            }
            assert len(client.get(f"/jobs/{ids['finished']}/history").json()["Items"]) >= 6
            assert client.job(ids["stopped"])["State"] == "Stopped"
            assert client.get(f"/jobs/{ids['released']}").json()["Code"] == "InvalidResource.Released"
            pool = client.get(f"/clusters/{ids['pool']}").json()
            assert pool["Groups"]["g"]["ActualVMCount"] == 1
            body = {"Name": "pool", "ImageId": "img-ubuntu",
                    "Groups": {"g": {"DesiredVMCount": 1, "InstanceType": "ecs.sn1.medium"}}}  # fmt: skip
            replay = client.post("/clusters", body, {"IdempotentToken": "previous_cluster"})
            assert replay.json()["Id"] == ids["pool"]
            # the waiting job resumes once its cluster gets a VM, and new work runs beside it
            assert client.job(ids["waiting"])["State"] == "Waiting"
            grow = {"Groups": {"g": {"DesiredVMCount": 1}}}
            assert client.put(f"/clusters/{ids['empty']}", grow).status_code == 200
            assert client.wait_job(ids["waiting"])["State"] == "Finished"
            assert client.delete(f"/jobs/{ids['stopped']}").status_code == 204
        engine = create_engine(driver_url(url))
        with engine.connect() as conn:  # the 0.1.0 outbox row got its queued_at from the migration
            assert conn.execute(text("SELECT count(*) FROM outbox WHERE queued_at IS NULL")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() >= 1
        engine.dispose()
        bcsd.restart()  # a current store: nothing to do
        assert bcsd.log().count("store schema upgraded") == 1
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            assert client.job(ids["waiting"])["State"] == "Finished"
    finally:
        bcsd.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_schema_module_is_what_the_chain_builds(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A change to ``schema.py`` without its revision (or the reverse) fails here."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"fresh{next(_databases)}")
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == migrate.head()
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()
