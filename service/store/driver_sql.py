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


def _rows_from_json(table: Table, param: str) -> str:
    """PostgreSQL: INSERT the rows of a JSON array parameter (one object per row, keyed by
    column) whatever their number, so the statement text, and its prepared plan, stays one."""
    names = ", ".join(c.name for c in table.columns)
    return (
        f"INSERT INTO {table.name} ({names}) "
        f"SELECT {names} FROM json_populate_recordset(NULL::{table.name}, %({param})s::json)"
    )


def _whole_job(insert_job: Insert) -> str:
    """A new job's three INSERTs as one statement (data-modifying CTEs all run, read or not):
    one statement for PostgreSQL to execute and psycopg to send instead of three."""
    return (
        f"WITH job AS ({insert_job.sql}), task AS ({_rows_from_json(tasks, 'bcsd_tasks')}) "
        + _rows_from_json(instances, "bcsd_instances")
    )


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
    #: PostgreSQL: the job, its tasks and its instances in one statement (``insert_whole_job``)
    insert_whole_job: str
    claim_nonce: str
    claim_job_slot: str
    cluster_state: str


def _create_path(dialect: str) -> CreatePath:
    p = lambda name: _param(dialect, name)  # noqa: E731 - a local shorthand
    insert_job = _insert(jobs, dialect)
    return CreatePath(
        insert_job=insert_job,
        insert_task=_insert(tasks, dialect),
        insert_instance=_insert(instances, dialect),
        insert_whole_job=_whole_job(insert_job) if dialect == "postgresql" else "",
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


def insert_whole_job(
    conn: Connection,
    path: CreatePath,
    job: dict[str, Any],
    task_rows: list[dict[str, Any]],
    inst_rows: list[dict[str, Any]],
) -> None:
    """``path.insert_whole_job`` (PostgreSQL): the job's row as parameters, its tasks' and
    instances' rows as two JSON arrays (JSON columns nested as values), defaults filled from
    the tables as :meth:`Insert.complete` does; queued in a pipeline."""
    params = path.insert_job.complete(job)
    params["bcsd_tasks"] = json.dumps([{**path.insert_task.defaults, **row} for row in task_rows])
    params["bcsd_instances"] = json.dumps([{**path.insert_instance.defaults, **row} for row in inst_rows])
    conn.exec_driver_sql(path.insert_whole_job, params, NO_RESULT)


def insert_rows(conn: Connection, statement: Insert, rows: list[dict[str, Any]]) -> None:
    """One ``execute`` for one row, one ``executemany`` for more; queued in a pipeline (nothing
    of their result is read)."""
    if len(rows) == 1:
        conn.exec_driver_sql(statement.sql, statement.complete(rows[0]), NO_RESULT)
    elif rows:
        conn.exec_driver_sql(statement.sql, [statement.complete(row) for row in rows], NO_RESULT)
