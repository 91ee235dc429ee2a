"""The failed-commit scenarios of ``tests/service/test_commit_faults.py`` on PostgreSQL, where
the injected failure is a serialization failure (SQLSTATE 40001) raised by the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.test_commit_faults import create_job, exits_and_launches
from tests.support.postgres import PostgresCluster


def test_serialization_failures_of_exits_and_launches_lose_nothing(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("bcsd_faults_exits")
    exits_and_launches(tmp_path, scratch, monkeypatch, database_url=url)


def test_serialization_failure_of_a_create_leaves_nothing(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, postgres: PostgresCluster
) -> None:
    url = postgres.create_database("bcsd_faults_create")
    create_job(tmp_path, scratch, monkeypatch, database_url=url)
