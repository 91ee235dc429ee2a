"""The create path's statements as driver SQL (``Connection.exec_driver_sql``), built once per
dialect from the table definitions.

A Core ``insert(jobs)`` executed with a values dict costs, per call, a compiled-cache lookup,
Python-side column defaults filled in, one bind processor per column per row (JSON serialised
there) and a result object; for the few rows of a create that was ~0.3 ms of CPU, more than
SQLite took to run them (``bench/profile_hot_path.py``). Here the SQL text is made once, rows
arrive complete (:func:`complete` fills the defaults from the table, so a column added to the
schema is not forgotten), JSON is serialised once by us, and the driver gets the parameters as
they are. ``exec_driver_sql`` still fires the engine's cursor events (the test-only commit
faults of ``store.faults`` see these statements).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Connection, Table

from service.store.pipeline import NO_RESULT
from service.store.schema import clusters, counters, instances, jobs, nonces, tasks


def _param(dialect: str, name: str) -> str:
    """A named parameter in the driver's own style (sqlite3 ``:name``, psycopg ``%(name)s``)."""
    return f"%({name})s" if dialect == "postgresql" else f":{name}"


@dataclass(frozen=True)
class Insert:
    """One table's INSERT: its SQL and how a row is completed before it is sent."""

    sql: str
    defaults: Mapping[str, Any]
    json_columns: tuple[str, ...]

    def complete(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` with the table's Python-side defaults for the columns it leaves out, JSON
        columns serialised (what SQLAlchemy's bind processors would have done)."""
        out = {**self.defaults, **row}
        for name in self.json_columns:
            out[name] = json.dumps(out[name])
        return out


def _insert(table: Table, dialect: str) -> Insert:
    names = [c.name for c in table.columns]
    json_columns = tuple(c.name for c in table.columns if isinstance(c.type, JSON))
    values = []
    for name in names:
        cast = "::json" if dialect == "postgresql" and name in json_columns else ""
        values.append(_param(dialect, name) + cast)
    defaults: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if default is not None and default.is_scalar:
            defaults[column.name] = default.arg  # type: ignore[attr-defined]
        elif column.nullable:
            defaults[column.name] = None
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(values)})"
    return Insert(sql, defaults, json_columns)


@dataclass(frozen=True)
class CreatePath:
    """Every statement a CreateJob (and a nonce claim) sends, for one dialect."""

    insert_job: Insert
    insert_task: Insert
    insert_instance: Insert
    claim_nonce: str
    claim_job_slot: str
    cluster_state: str


def _create_path(dialect: str) -> CreatePath:
    p = lambda name: _param(dialect, name)  # noqa: E731 - a local shorthand
    return CreatePath(
        insert_job=_insert(jobs, dialect),
        insert_task=_insert(tasks, dialect),
        insert_instance=_insert(instances, dialect),
        # no savepoint and no exception for a replay: it simply returns no row
        claim_nonce=(
            f"INSERT INTO {nonces.name} (nonce, expires) VALUES ({p('nonce')}, {p('expires')}) "
            "ON CONFLICT DO NOTHING RETURNING nonce"
        ),
        claim_job_slot=(
            f"UPDATE {counters.name} SET value = value + 1 WHERE name = {p('name')} AND value < {p('max')}"
        ),
        cluster_state=f"SELECT kind, state FROM {clusters.name} WHERE id = {p('id')}",
    )


_BY_DIALECT = {name: _create_path(name) for name in ("sqlite", "postgresql")}


def create_path(conn: Connection) -> CreatePath | None:
    """The statements for ``conn``'s dialect (None: another dialect, use the Core ones)."""
    return _BY_DIALECT.get(conn.dialect.name)


def insert_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """One ``execute`` for one row, one ``executemany`` for more; queued in a pipeline (nothing
    of their result is read)."""
    if len(rows) == 1:
        conn.exec_driver_sql(statement.sql, statement.complete(rows[0]), NO_RESULT)
    elif rows:
        conn.exec_driver_sql(statement.sql, [statement.complete(row) for row in rows], NO_RESULT)
