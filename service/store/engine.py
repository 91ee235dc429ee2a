"""Engine creation: SQLite in WAL mode with a busy timeout, or any SQLAlchemy URL (PostgreSQL)."""

from __future__ import annotations

import select
import sqlite3
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from service.store import faults, job_count, migrate, pipeline
from service.store.database_url import DatabaseUnavailable, driver_url, masked

#: what a transaction raises when the store failed rather than the caller (busy or full SQLite
#: file, lost connection, PostgreSQL serialization failure or deadlock): worth trying again.
#: Driver errors raised outside a statement (at commit) arrive unwrapped, hence the drivers' own
#: base classes too (psycopg only where the ``[postgres]`` extra is installed).
STORE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, sqlite3.Error)
try:
    import psycopg
except ImportError:  # pragma: no cover - bcsd without the [postgres] extra
    pass
else:
    STORE_ERRORS = (*STORE_ERRORS, psycopg.Error)


#: a pooled PostgreSQL connection back in use after this long idle is pinged first
PING_AFTER_IDLE_S = 1.0
_CHECKED_IN = "bcsd_checked_in"


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle (``PING_AFTER_IDLE_S``) or the
    server wrote to it while it was idle, not at every checkout as ``pool_pre_ping`` does: each
    flush and scheduler turn takes one, so a ping was a round trip per CreateJob, 17 % of the
    event loop's time with one client. An idle connection has nothing to read unless the server
    sent something unasked: the FATAL notice and end of stream of a terminated backend (server
    restart, ``pg_terminate_backend``, idle timeout). Looking for that is a zero-timeout
    ``select`` on the socket, no round trip; then the ping finds the connection gone and the
    pool replaces it before use. (A peer that vanished without a word, such as a cut network,
    is noticed by the first statement, as it was by a ping: a store error, 503 for a flush.)"""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:  # a new connection needs no ping
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        recent = since is not None and time.monotonic() - since < PING_AFTER_IDLE_S
        if recent and not _server_spoke(dbapi_conn):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)  # what pool_pre_ping runs, in autocommit
        except STORE_ERRORS as gone:
            raise DisconnectionError(f"pooled connection lost while idle: {gone}") from gone


def _server_spoke(dbapi_conn: Any) -> bool:
    """Whether an idle connection's socket has something to read (or is closed)."""
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):  # no socket any more
        return True
    except STORE_ERRORS:  # psycopg: the connection is closed
        return True
    return bool(readable)


def open_engine(url: str, max_jobs: int | None = None) -> Engine:
    """Create the engine and bring the schema up to date (``migrate``); with ``max_jobs`` (the
    MaxJobCount quota) the stored-job count is spread over its shards (``job_count``). SQLite gets WAL +
    ``synchronous=NORMAL`` + busy timeout: WAL keeps readers off the writer's back, and NORMAL
    in WAL mode still survives a process kill (only an OS crash may lose the last commits)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # pysqlite's own transaction handling (a BEGIN only before the first INSERT/UPDATE/
            # DELETE) turns a SAVEPOINT issued before it into the outermost transaction, whose
            # RELEASE commits: the group commit's per-write savepoints would commit half a flush.
            # SQLAlchemy's documented recipe: the driver does no BEGIN, SQLAlchemy emits it.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # deferred, as pysqlite's was: every writer of a data dir is on the one event loop
            # thread (the data dir lock allows one bcsd), so a read-then-write never meets a
            # concurrent writer's commit (SQLITE_BUSY_SNAPSHOT)
            conn.exec_driver_sql("BEGIN")

    else:
        url = driver_url(url)  # plain postgresql:// -> psycopg 3
        engine = create_engine(url)
        _ping_when_idle(engine)
        pipeline.install(engine)
    try:
        migrate.upgrade(engine)  # new, 0.1.0-made or current: the schema of this release
        with engine.begin() as conn:
            job_count.init(conn, max_jobs)
    except OperationalError as exc:  # unreachable server, bad password: one clear line, no secret
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
        raise DatabaseUnavailable(f"cannot open the database {masked(url)}: {reason}") from None
    faults.install_from_env(engine)  # test-only; nothing is installed unless BCSD_FAULT_COMMIT is set
    return engine
