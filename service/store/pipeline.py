"""A flush's statements in psycopg pipeline mode: the statements whose result nobody reads go
to PostgreSQL together with the next one that is read, one round trip instead of one each.

A CreateJob on PostgreSQL sent ~11 statements, each a blocking round trip on the event loop
thread (~0.1 ms of loopback and server time apiece on this VM, more under load); the INSERTs of
the job, its tasks and instances, its lease and the savepoint around them return nothing we
look at. Inside :func:`pipelined` those are marked :data:`NO_RESULT` and only queued; every
other statement is synced at once (``after_cursor_execute``: the pipeline is flushed and its
results read before SQLAlchemy looks at the cursor), so a statement not marked behaves exactly
as outside a pipeline and a reader never sees an empty result. A server error in a queued
statement surfaces at the next sync, inside the same flush: the flush fails as a whole, as it
did when the statement failed at once (writes refuse with ``ApiError``, never with a server
error). :func:`read_later` sends a read whose result is fetched when first needed, so two
independent reads share one round trip.

SQLite has no pipeline: everything here runs each statement at once there, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event

#: execution options of a statement whose result (rows, rowcount) nobody reads
NO_RESULT: Mapping[str, Any] = {"bcsd_no_result": True}
_PIPELINE = "bcsd_pipeline"


def install(engine: Engine) -> None:
    """Sync the pipeline after every statement not marked :data:`NO_RESULT` (PostgreSQL only)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _sync_unless_unread(
        conn: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        pipeline = conn.info.get(_PIPELINE)
        if pipeline is not None and not context.execution_options.get("bcsd_no_result"):
            pipeline.sync()


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Run the block's statements in pipeline mode on PostgreSQL (a no-op elsewhere). Leaving
    it sends and checks everything queued, so a commit after it commits only what succeeded."""
    if conn.dialect.name != "postgresql":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.pipeline() as pipeline:
        conn.info[_PIPELINE] = pipeline
        try:
            yield
        finally:
            conn.info.pop(_PIPELINE, None)


class LaterRead:
    """A statement sent now whose first row is read when :meth:`first` is called (in pipeline
    mode, that sync also carries whatever was queued since)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def first(self) -> Any:
        try:
            return self._cursor.fetchone()
        finally:
            self._cursor.close()


def read_later(conn: Connection, sql: str, params: Mapping[str, Any]) -> LaterRead:
    """Send a read (driver SQL in the driver's parameter style) on ``conn``'s transaction, to be
    read later. On the driver's own cursor: no SQLAlchemy result is made (and no cursor events
    fire: only reads go this way, the commit faults watch writes)."""
    cursor = conn.connection.cursor()
    cursor.execute(sql, params)
    return LaterRead(cursor)
