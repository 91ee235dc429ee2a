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
independent reads share one round trip; :func:`check_after_sync` runs a check of such a read
right after the next synced statement (a signed CreateJob's nonce verdict rides with its count
claim instead of a round trip of its own).

SQLite has no pipeline: everything here runs each statement at once there, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event

#: execution options of a statement whose result (rows, rowcount) nobody reads
NO_RESULT: Mapping[str, Any] = {"bcsd_no_result": True}
_PIPELINE = "bcsd_pipeline"
_CHECKS = "bcsd_pipeline_checks"


def install(engine: Engine) -> None:
    """Sync the pipeline after every statement not marked :data:`NO_RESULT` (PostgreSQL only)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _sync_unless_unread(
        conn: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        pipeline = conn.info.get(_PIPELINE)
        if pipeline is not None and not context.execution_options.get("bcsd_no_result"):
            pipeline.sync()
            settle_checks(conn)  # raised from this statement: its caller's write refuses


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Run the block's statements in pipeline mode on PostgreSQL (a no-op elsewhere, and inside
    :func:`pipelined_transaction`). Leaving it sends and checks everything queued, so a commit
    after it commits only what succeeded."""
    if conn.dialect.name != "postgresql" or _PIPELINE in conn.info:
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
            conn.info.pop(_CHECKS, None)


@contextmanager
def pipelined_transaction(engine: Engine) -> Iterator[Connection]:
    """``engine.begin()`` whose COMMIT is pipelined too (PostgreSQL): the statements still
    queued and the COMMIT go in one round trip, and the commit reports any error among them
    (nothing is committed then). A commit fault (``store.faults``) is queued before the COMMIT
    and aborts it the same way. Elsewhere plain ``engine.begin()``."""
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn, pipelined(conn), conn.begin():
        yield conn


def check_after_sync(conn: Connection, check: Callable[[], None]) -> None:
    """Run ``check`` (which reads results sent before it and may raise) once those results are
    there: in a pipeline, right after the next synced statement, or at :func:`settle_checks`;
    elsewhere at once."""
    if _PIPELINE in conn.info:
        conn.info.setdefault(_CHECKS, []).append(check)
    else:
        check()


def settle_checks(conn: Connection) -> None:
    """Run the checks still waiting for a sync now (their reads fetch what they need)."""
    checks = conn.info.pop(_CHECKS, None)
    for check in checks or ():
        check()


class LaterRead:
    """A statement sent now whose first row is read when :meth:`first` is called (in pipeline
    mode, that sync also carries whatever was queued since)."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._row: Any = None

    def first(self) -> Any:
        if self._cursor is not None:
            try:
                self._row = self._cursor.fetchone()
            finally:
                self._cursor.close()
                self._cursor = None
        return self._row


def read_later(conn: Connection, sql: str, params: Mapping[str, Any]) -> LaterRead:
    """Send a statement that returns rows (driver SQL in the driver's parameter style) on
    ``conn``'s transaction, to be read later. On the driver's own cursor: no SQLAlchemy result
    is made; the engine's ``before_cursor_execute`` listeners still see it (``store.faults``)."""
    cursor = conn.connection.cursor()
    for listener in conn.dispatch.before_cursor_execute:
        listener(conn, cursor, sql, params, None, False)
    cursor.execute(sql, params)
    return LaterRead(cursor)
