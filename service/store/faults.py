"""Test-only fault injection at the store boundary: make chosen commits fail, once each.

A commit can fail in production: a busy or full SQLite file, a PostgreSQL serialization
failure or deadlock. The scheduler must then keep memory and store in step (nothing lost, no
slot leaked, nothing run twice); the tests prove it by failing real commits of a real bcsd.

``BCSD_FAULT_COMMIT`` (read once at start, never reachable through the API) lists faults as
``kind[@skip]`` separated by commas: the commit of the ``skip + 1``-th transaction (counted
from 0) that wrote a ``kind`` row fails; ``kind`` is ``create`` (CreateJob inserts the job),
``launch`` (placement starts an attempt), ``exit`` (an attempt's results are recorded) or
``nonce`` (a signed request's nonce is claimed). On
SQLite the commit raises ``database is locked``; on PostgreSQL the server itself raises a
serialization failure (SQLSTATE 40001) inside the transaction, which aborts it as a real one
would. Each injection logs one ``injected commit failure`` warning. Unset, nothing is
installed and the store's hot path is untouched.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger("bcsd.faults")

ENV = "BCSD_FAULT_COMMIT"

#: a fragment of the SQL only that kind of write sends
KINDS = {
    "create": "INSERT INTO jobs ",
    "launch": "owner_node=",
    "exit": "stdout_object=",
    "nonce": "INTO nonces ",
}
_ARMED = "bcsd_fault"
_SERIALIZATION_FAILURE = (
    "DO $$ BEGIN RAISE EXCEPTION 'injected commit failure' USING ERRCODE = 'serialization_failure'; END $$"
)


@dataclass
class Fault:
    kind: str
    skip: int
    seen: int = 0
    fired: bool = False


def parse(plan: str) -> list[Fault]:
    """``"exit@2,create"`` -> the third exit commit and the first create commit fail."""
    faults = []
    for item in filter(None, (part.strip() for part in plan.split(","))):
        kind, _, skip = item.partition("@")
        if kind not in KINDS:
            raise ValueError(f"{ENV}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        faults.append(Fault(kind, int(skip or 0)))
    return faults


def install_from_env(engine: Engine) -> None:
    plan = os.environ.get(ENV, "")
    if plan:
        install(engine, parse(plan))


def install(engine: Engine, faults: list[Fault]) -> None:
    """Arm ``faults`` on every connection of ``engine``."""
    sqlite = engine.url.drivername.startswith("sqlite")

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        for fault in faults:
            if not fault.fired and KINDS[fault.kind] in statement:
                conn.info.setdefault(_ARMED, set()).add(id(fault))

    @event.listens_for(engine, "commit")
    def _commit(conn: Any) -> None:
        armed = conn.info.pop(_ARMED, set())
        for fault in faults:
            if id(fault) not in armed:
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            fault.fired = True
            log.warning("injected commit failure (%s, transaction %d of its kind)", fault.kind, fault.seen)
            if sqlite:
                raise sqlite3.OperationalError("database is locked (injected commit failure)")
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.execute(_SERIALIZATION_FAILURE)  # raises SerializationFailure from the server

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        conn.info.pop(_ARMED, None)
