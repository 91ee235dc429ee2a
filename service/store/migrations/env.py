"""Alembic's environment for bcsd's store: always run from ``service.store.migrate.upgrade``,
which hands over an open connection (inside its transaction, under a PostgreSQL advisory lock)."""

from __future__ import annotations

from alembic import context

from service.store import leases  # noqa: F401 - registers job_leases on the metadata
from service.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
