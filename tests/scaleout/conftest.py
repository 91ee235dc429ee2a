"""Backends for the scale-out suite: the same scenarios against bcsd on
``local+sqlite``, ``dask+sqlite``, ``local+postgresql`` and ``dask+postgresql``.

The service suite's scenarios take ``shared_client`` (one bcsd per module); here that fixture is
parametrized over the backends, so the imported scenario functions run once per backend. The
PostgreSQL cluster and the Dask cluster (real ``dask scheduler`` + two ``dask worker``
processes) are started once per module, only when a backend needs them, and stopped by PID.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.dask_cluster import DaskCluster
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.postgres import PostgresCluster, PostgresUnavailable, start_postgres

BACKENDS = ("local+sqlite", "dask+sqlite", "local+postgresql", "dask+postgresql")
#: two workers, each big enough for the suite's instance types (ecs.sn1.medium: 2 cores, 4 GB)
WORKER_RESOURCES = "CPU=4,MEMORY=8e9"
_databases = itertools.count()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresCluster]:
    try:
        cluster = start_postgres()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start_scheduler()
        for name in ("w1", "w2"):
            cluster.start_worker(name, WORKER_RESOURCES, nthreads=4)
        cluster.wait_for_workers({"w1", "w2"})
        yield cluster
    finally:
        cluster.stop()


def backend_options(request: pytest.FixtureRequest, backend: str) -> dict[str, object]:
    """CLI flags of ``bcsd serve`` for one backend; starts the clusters it needs."""
    executor, database = backend.split("+")
    options: dict[str, object] = {}
    if executor == "dask":
        options["executor"] = "dask"
        options["dask_scheduler"] = request.getfixturevalue("dask_cluster").address
    if database == "postgresql":
        pg: PostgresCluster = request.getfixturevalue("postgres")
        options["database_url"] = pg.create_database(f"bcsd_{next(_databases)}")
    return options


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def shared_bcsd(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BcsdProcess]:
    with start_bcsd(tmp_path_factory.mktemp("bcsd"), **backend_options(request, backend)) as proc:
        yield proc


@pytest.fixture
def bcsd(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[BcsdProcess]:
    """The service suite's per-test ``bcsd``, on this module's backend."""
    with start_bcsd(tmp_path, **backend_options(request, backend)) as proc:
        yield proc
