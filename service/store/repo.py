"""Reads and writes of the bcsd store. Every function takes an open SQLAlchemy ``Connection``
(the caller owns the transaction, so one accepted change = one commit).

The statements of the create and scheduler hot paths are built once at import, with bind
parameters (``bindparam("w_…")``; the ``w_`` prefix keeps them apart from the SET columns):
building a Core statement and its cache key per call cost more than running it on SQLite.
An UPDATE executed with a values dict sets exactly the keys given (compiled once per key set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError

from api.states import ACTIVE_STATES, RUN_STATES
from service.store import driver_sql, job_count, pipeline
from service.store.schema import (
    clusters,
    groups,
    idempotency,
    instances,
    jobs,
    nonces,
    outbox,
    tasks,
    tombstones,
    transitions,
    vms,
)

_INSERT_JOB = insert(jobs)
_INSERT_TASKS = insert(tasks)
_INSERT_INSTANCES = insert(instances)
_GET_JOB = select(jobs).where(jobs.c.id == bindparam("w_job"))
_SET_JOB = update(jobs).where(jobs.c.id == bindparam("w_job"))
_SET_TASK = update(tasks).where(
    and_(tasks.c.job_id == bindparam("w_job"), tasks.c.name == bindparam("w_task"))
)
_SET_INSTANCE = update(instances).where(
    and_(
        instances.c.job_id == bindparam("w_job"),
        instances.c.task_name == bindparam("w_task"),
        instances.c.instance_id == bindparam("w_idx"),
    )
)
_INSERT_TRANSITIONS = insert(transitions)


def _insert_rows(conn: Connection, statement: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """One ``execute`` for one row (executemany's per-call setup costs more than the row), one
    ``executemany`` for more, nothing for none (``driver_sql.insert_rows`` is its driver-SQL twin)."""
    if len(rows) == 1:
        conn.execute(statement, rows[0])
    elif rows:
        conn.execute(statement, list(rows))


# ---------------------------------------------------------------- jobs


def insert_job(
    conn: Connection, job: dict[str, Any], task_rows: list[dict[str, Any]], inst_rows: list[dict[str, Any]]
) -> None:
    """One row per statement for the job, ``executemany`` for tasks and instances (as driver
    SQL on SQLite: ``store.driver_sql``); on PostgreSQL one statement for all three."""
    fast = driver_sql.create_path(conn)
    if fast is not None and fast.insert_whole_job:  # PostgreSQL: one statement for the three
        driver_sql.insert_whole_job(conn, fast, job, task_rows, inst_rows)
        return
    if fast is not None:
        driver_sql.insert_rows(conn, fast.insert_job, [job])
        driver_sql.insert_rows(conn, fast.insert_task, task_rows)
        driver_sql.insert_rows(conn, fast.insert_instance, inst_rows)
        return
    conn.execute(_INSERT_JOB, job)
    _insert_rows(conn, _INSERT_TASKS, task_rows)
    _insert_rows(conn, _INSERT_INSTANCES, inst_rows)


def get_job(conn: Connection, job_id: str) -> Row | None:
    return conn.execute(_GET_JOB, {"w_job": job_id}).first()


def list_jobs(
    conn: Connection, *, state: str, marker: str, limit: int, reverse: bool, cluster_id: str = ""
) -> tuple[list[Row], str]:
    """One page, newest first (``reverse`` flips). Marker = id of the page's first item."""
    order = jobs.c.seq.asc() if reverse else jobs.c.seq.desc()
    query = select(jobs)
    if state:
        query = query.where(jobs.c.state == state)
    if cluster_id:
        query = query.where(jobs.c.id.in_(select(tasks.c.job_id).where(tasks.c.cluster_id == cluster_id)))
    if marker:
        seq = conn.execute(select(jobs.c.seq).where(jobs.c.id == marker)).scalar()
        if seq is None:
            return [], ""
        query = query.where(jobs.c.seq >= seq if reverse else jobs.c.seq <= seq)
    rows = list(conn.execute(query.order_by(order).limit(limit + 1)))
    next_marker = rows[limit].id if len(rows) > limit else ""
    return rows[:limit], next_marker


def _state_counts(table: Table, where: ColumnElement[bool]) -> Select[Any]:
    """(which, job_id, state, count): which = 0 for tasks, 1 for instances."""
    which = literal(0 if table is tasks else 1)
    return (
        select(which, table.c.job_id, table.c.state, func.count())
        .where(where)
        .group_by(table.c.job_id, table.c.state)
    )


# GetJob's metrics (one job) and a ListJobs page's (many): both tables in one round trip
_ONE_JOB_METRICS = union_all(
    *(_state_counts(t, t.c.job_id == bindparam("w_job")) for t in (tasks, instances))
)
_JOBS_METRICS = union_all(
    *(_state_counts(t, t.c.job_id.in_(bindparam("w_jobs", expanding=True))) for t in (tasks, instances))
)


def job_metrics(conn: Connection, job_ids: Sequence[str]) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """(TaskMetrics, InstanceMetrics) counters per job."""
    out: dict[str, tuple[dict[str, int], dict[str, int]]] = {
        j: (dict.fromkeys(RUN_STATES, 0), dict.fromkeys(RUN_STATES, 0)) for j in job_ids
    }
    if not job_ids:
        return out
    if len(job_ids) == 1:
        rows = conn.execute(_ONE_JOB_METRICS, {"w_job": job_ids[0]})
    else:
        rows = conn.execute(_JOBS_METRICS, {"w_jobs": list(job_ids)})
    for which, jid, state, n in rows:
        out[jid][which][state] = n
    return out


def set_job(conn: Connection, job_id: str, **values: Any) -> int:
    """Returns the rows written (1, or 0 when the job is gone): callers that must hit it check."""
    return conn.execute(_SET_JOB, {"w_job": job_id, **values}).rowcount


WAITING_NOTE = "waiting: "
"""Prefix of a job Message that says why an instance cannot be placed yet (reasons of the
Failed/Stopped states are never overwritten by it, and a started instance clears only it)."""


_NOTE_WAITING = (
    update(jobs)
    .where(jobs.c.id == bindparam("w_job"))
    .where((jobs.c.message == "") | jobs.c.message.startswith(WAITING_NOTE, autoescape=True))
)


def note_waiting(conn: Connection, job_id: str, reason: str) -> None:
    """Show on the job why one of its instances waits (``reason``), or clear that note (``""``)."""
    conn.execute(_NOTE_WAITING, {"w_job": job_id, "message": WAITING_NOTE + reason if reason else ""})


_DELETE_JOB_ROWS = [
    delete(t).where(t.c.job_id == bindparam("w_job")) for t in (instances, tasks, transitions)
]
_DELETE_JOB = delete(jobs).where(jobs.c.id == bindparam("w_job"))
_ACTIVE_JOBS = select(jobs).where(jobs.c.state.in_(sorted(ACTIVE_STATES)))


def delete_job(conn: Connection, job_id: str) -> None:
    """Delete the job's rows and uncount it (MaxJobCount counts stored jobs)."""
    for statement in _DELETE_JOB_ROWS:
        conn.execute(statement, {"w_job": job_id})
    if conn.execute(_DELETE_JOB, {"w_job": job_id}).rowcount:
        job_count.uncount(conn)


def active_jobs(conn: Connection) -> list[Row]:
    return list(conn.execute(_ACTIVE_JOBS))


# ---------------------------------------------------------------- tasks / instances


_JOB_TASKS = select(tasks).where(tasks.c.job_id == bindparam("w_job")).order_by(tasks.c.ordinal)
_GET_TASK = select(tasks).where(
    and_(tasks.c.job_id == bindparam("w_job"), tasks.c.name == bindparam("w_task"))
)
_TASK_INSTANCE_METRICS = (
    select(instances.c.task_name, instances.c.state, func.count())
    .where(instances.c.job_id == bindparam("w_job"))
    .group_by(instances.c.task_name, instances.c.state)
)


def job_tasks(conn: Connection, job_id: str) -> list[Row]:
    return list(conn.execute(_JOB_TASKS, {"w_job": job_id}))


def get_task(conn: Connection, job_id: str, name: str) -> Row | None:
    return conn.execute(_GET_TASK, {"w_job": job_id, "w_task": name}).first()


def task_instance_metrics(conn: Connection, job_id: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, state, n in conn.execute(_TASK_INSTANCE_METRICS, {"w_job": job_id}):
        out.setdefault(name, {s: 0 for s in RUN_STATES})[state] = n
    return out


def set_task(conn: Connection, job_id: str, name: str, **values: Any) -> int:
    """Returns the rows written (see ``set_job``)."""
    return conn.execute(_SET_TASK, {"w_job": job_id, "w_task": name, **values}).rowcount


_TASK_INSTANCES = select(instances).where(
    and_(
        instances.c.job_id == bindparam("w_job"),
        instances.c.task_name == bindparam("w_task"),
        instances.c.instance_id >= bindparam("w_start"),
    )
)
_TASK_INSTANCES_BY_SHAPE: dict[tuple[bool, bool], Select[Any]] = {
    (by_state, limited): (
        (_TASK_INSTANCES.where(instances.c.state == bindparam("w_state")) if by_state else _TASK_INSTANCES)
        .order_by(instances.c.instance_id)
        .limit(bindparam("w_limit") if limited else None)
    )
    for by_state in (False, True)
    for limited in (False, True)
}
_JOB_INSTANCES = select(instances).where(instances.c.job_id == bindparam("w_job"))


def task_instances(
    conn: Connection, job_id: str, name: str, *, state: str = "", start: int = 0, limit: int | None = None
) -> list[Row]:
    query = _TASK_INSTANCES_BY_SHAPE[(bool(state), limit is not None)]
    params = {"w_job": job_id, "w_task": name, "w_start": start, "w_state": state, "w_limit": limit}
    return list(conn.execute(query, params))


def job_instances(conn: Connection, job_id: str) -> list[Row]:
    return list(conn.execute(_JOB_INSTANCES, {"w_job": job_id}))


def set_instance(conn: Connection, job_id: str, task: str, idx: int, **values: Any) -> int:
    """Returns the rows written (see ``set_job``)."""
    return conn.execute(_SET_INSTANCE, {"w_job": job_id, "w_task": task, "w_idx": idx, **values}).rowcount


_RUNNING_INSTANCES = select(instances).where(instances.c.state == "Running")


def running_instances(conn: Connection) -> list[Row]:
    return list(conn.execute(_RUNNING_INSTANCES))


# ---------------------------------------------------------------- history


def log_transitions(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _insert_rows(conn, _INSERT_TRANSITIONS, rows)


_HISTORY = select(transitions).where(transitions.c.job_id == bindparam("w_job")).order_by(transitions.c.id)


def history(conn: Connection, job_id: str) -> list[Row]:
    return list(conn.execute(_HISTORY, {"w_job": job_id}))


# ---------------------------------------------------------------- idempotency / tombstones / nonces


def find_token(conn: Connection, kind: str, token: str) -> Row | None:
    return conn.execute(
        select(idempotency).where(and_(idempotency.c.kind == kind, idempotency.c.token == token))
    ).first()


def save_token(conn: Connection, kind: str, token: str, resource_id: str, body_hash: str, now: float) -> None:
    conn.execute(
        insert(idempotency).values(
            kind=kind, token=token, resource_id=resource_id, body_hash=body_hash, created=now
        )
    )


def tombstone(conn: Connection, job_id: str) -> Row | None:
    return conn.execute(select(tombstones).where(tombstones.c.job_id == job_id)).first()


def add_tombstone(conn: Connection, job_id: str, at: float) -> None:
    conn.execute(insert(tombstones).values(job_id=job_id, released_at=at))


def claim_nonce(conn: Connection, nonce: str, expires: float, sweep_before: float | None = None) -> bool:
    """Insert the nonce; False when another request (before a restart, or on any node) used it.

    ``sweep_before`` first deletes rows expired by then; callers pass it rarely (once a minute)
    so the hot path is a single INSERT against the primary key.
    """
    return claim_nonce_later(conn, nonce, expires, sweep_before)()


def claim_nonce_later(
    conn: Connection, nonce: str, expires: float, sweep_before: float | None = None
) -> Callable[[], bool]:
    """``claim_nonce`` sent now, its answer read by the returned call: in a flush's pipeline on
    PostgreSQL it comes back with the next statement read (``store.pipeline``)."""
    if sweep_before is not None:
        conn.execute(delete(nonces).where(nonces.c.expires < sweep_before))
    fast = driver_sql.create_path(conn)
    if fast is not None:
        # INSERT … ON CONFLICT DO NOTHING RETURNING: no savepoint; a replay returns no row.
        # (Not rowcount: psycopg's is not 1 for an inserted row here, so every nonce looked used.)
        sent = pipeline.read_later(conn, fast.claim_nonce, {"nonce": nonce, "expires": expires})
        return lambda: sent.first() is not None
    try:
        with conn.begin_nested():
            conn.execute(insert(nonces).values(nonce=nonce, expires=expires))
    except IntegrityError:
        return lambda: False
    return lambda: True


# ---------------------------------------------------------------- clusters, groups, VMs


_INSERT_CLUSTER = insert(clusters)
_INSERT_GROUPS = insert(groups)


def insert_cluster(conn: Connection, row: dict[str, Any], group_rows: list[dict[str, Any]]) -> None:
    conn.execute(_INSERT_CLUSTER, row)
    _insert_rows(conn, _INSERT_GROUPS, group_rows)


_GET_CLUSTER = select(clusters).where(clusters.c.id == bindparam("w_cluster"))
_CLUSTER_STATE = select(clusters.c.kind, clusters.c.state).where(clusters.c.id == bindparam("w_cluster"))


def get_cluster(conn: Connection, cluster_id: str) -> Row | None:
    return conn.execute(_GET_CLUSTER, {"w_cluster": cluster_id}).first()


def cluster_state(conn: Connection, cluster_id: str) -> Row | None:
    """(kind, state) only: what CreateJob checks, without decoding the stored description."""
    fast = driver_sql.create_path(conn)
    if fast is not None:
        return conn.exec_driver_sql(fast.cluster_state, {"id": cluster_id}).first()
    return conn.execute(_CLUSTER_STATE, {"w_cluster": cluster_id}).first()


class _ReadNow:
    """A read already made, for dialects without driver SQL (the ``LaterRead`` shape)."""

    def __init__(self, row: Row | None) -> None:
        self._row = row

    def first(self) -> Row | None:
        return self._row


def cluster_state_later(conn: Connection, cluster_id: str) -> pipeline.LaterRead | _ReadNow:
    """``cluster_state`` sent now, its ``(kind, state)`` (None: unknown) read by ``.first()``:
    on PostgreSQL the next synced statement brings it back with its own result."""
    fast = driver_sql.create_path(conn)
    if fast is not None:
        return pipeline.read_later(conn, fast.cluster_state, {"id": cluster_id})
    return _ReadNow(cluster_state(conn, cluster_id))


def list_clusters(conn: Connection, marker: str, limit: int) -> tuple[list[Row], str]:
    query = select(clusters).where(clusters.c.kind == "named")
    if marker:
        seq = conn.execute(select(clusters.c.seq).where(clusters.c.id == marker)).scalar()
        if seq is None:
            return [], ""
        query = query.where(clusters.c.seq >= seq)
    rows = list(conn.execute(query.order_by(clusters.c.seq).limit(limit + 1)))
    return rows[:limit], (rows[limit].id if len(rows) > limit else "")


_CLUSTER_GROUPS = select(groups).where(groups.c.cluster_id == bindparam("w_cluster")).order_by(groups.c.name)
_SET_GROUP = update(groups).where(
    and_(groups.c.cluster_id == bindparam("w_cluster"), groups.c.name == bindparam("w_group"))
)
_SET_CLUSTER = update(clusters).where(clusters.c.id == bindparam("w_cluster"))
_DELETE_CLUSTER = [
    delete(vms).where(vms.c.cluster_id == bindparam("w_cluster")),
    delete(groups).where(groups.c.cluster_id == bindparam("w_cluster")),
    delete(clusters).where(clusters.c.id == bindparam("w_cluster")),
]
_CLUSTER_VMS = select(vms).where(vms.c.cluster_id == bindparam("w_cluster")).order_by(vms.c.id)
_GROUP_VMS = (
    select(vms)
    .where(and_(vms.c.cluster_id == bindparam("w_cluster"), vms.c.group_name == bindparam("w_group")))
    .order_by(vms.c.id)
)
_INSERT_VMS = insert(vms)
_DELETE_VMS = delete(vms).where(vms.c.id.in_(bindparam("w_vms", expanding=True)))


def cluster_groups(conn: Connection, cluster_id: str) -> list[Row]:
    return list(conn.execute(_CLUSTER_GROUPS, {"w_cluster": cluster_id}))


def set_group(conn: Connection, cluster_id: str, name: str, **values: Any) -> None:
    conn.execute(_SET_GROUP, {"w_cluster": cluster_id, "w_group": name, **values})


def set_cluster(conn: Connection, cluster_id: str, **values: Any) -> None:
    conn.execute(_SET_CLUSTER, {"w_cluster": cluster_id, **values})


def delete_cluster(conn: Connection, cluster_id: str) -> None:
    for statement in _DELETE_CLUSTER:
        conn.execute(statement, {"w_cluster": cluster_id})


def cluster_vms(conn: Connection, cluster_id: str, group: str = "") -> list[Row]:
    if group:
        return list(conn.execute(_GROUP_VMS, {"w_cluster": cluster_id, "w_group": group}))
    return list(conn.execute(_CLUSTER_VMS, {"w_cluster": cluster_id}))


def add_vms(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    _insert_rows(conn, _INSERT_VMS, list(rows))


def delete_vms(conn: Connection, ids: Sequence[str]) -> None:
    if ids:
        conn.execute(_DELETE_VMS, {"w_vms": list(ids)})


_FREE_VMS = (
    select(vms.c.id)
    .where(and_(vms.c.cluster_id == bindparam("w_cluster"), vms.c.busy_job == "", vms.c.state == "Running"))
    .order_by(vms.c.id)
    .limit(bindparam("w_limit"))
    .with_for_update(skip_locked=True)
)
_SET_VM = update(vms).where(vms.c.id == bindparam("w_vm"))


def free_vms(conn: Connection, cluster_id: str, limit: int) -> list[str]:
    """Free slots of a cluster, locked for this transaction (SKIP LOCKED: two bcsd nodes on one
    PostgreSQL never hand out the same slot)."""
    return [r.id for r in conn.execute(_FREE_VMS, {"w_cluster": cluster_id, "w_limit": limit})]


_OCCUPY_VM = update(vms).where(and_(vms.c.id == bindparam("w_vm"), vms.c.busy_job == ""))


def occupy_vm(conn: Connection, vm_id: str, job_id: str, task: str, idx: int) -> bool:
    """Take a free slot; False when it is gone or busy (then nothing was written)."""
    values = {"w_vm": vm_id, "busy_job": job_id, "busy_task": task, "busy_instance": idx}
    return conn.execute(_OCCUPY_VM, values).rowcount == 1


_JOB_SLOTS = (
    select(vms.c.id, vms.c.cluster_id, instances.c.task_name, instances.c.instance_id, instances.c.attempt)
    .join(
        instances,
        and_(
            instances.c.job_id == vms.c.busy_job,
            instances.c.task_name == vms.c.busy_task,
            instances.c.instance_id == vms.c.busy_instance,
        ),
    )
    .where(
        and_(
            vms.c.busy_job == bindparam("w_job"),
            instances.c.state == "Running",
            instances.c.owner_node == bindparam("w_node"),
        )
    )
)


def job_slots(conn: Connection, job_id: str, node: str) -> list[Row]:
    """The VM slots ``node``'s Running attempts of the job hold, as committed: (id, cluster_id,
    task_name, instance_id, attempt). What a dropped view's slots are rebuilt from."""
    return list(conn.execute(_JOB_SLOTS, {"w_job": job_id, "w_node": node}))


def free_vm(conn: Connection, vm_id: str) -> None:
    conn.execute(_SET_VM, {"w_vm": vm_id, "busy_job": "", "busy_task": "", "busy_instance": -1})


_FREE_ALL_BUSY_VMS = (
    update(vms).where(vms.c.busy_job != "").values(busy_job="", busy_task="", busy_instance=-1)
)
_AUTO_CLUSTERS_OF_JOB = select(clusters).where(
    and_(clusters.c.kind == "auto", clusters.c.job_id == bindparam("w_job"))
)
_AUTO_CLUSTERS_OF_TASK = _AUTO_CLUSTERS_OF_JOB.where(clusters.c.task_name == bindparam("w_task"))


def free_all_busy_vms(conn: Connection) -> None:
    conn.execute(_FREE_ALL_BUSY_VMS)


def auto_clusters_of(conn: Connection, job_id: str, task: str = "") -> list[Row]:
    if task:
        return list(conn.execute(_AUTO_CLUSTERS_OF_TASK, {"w_job": job_id, "w_task": task}))
    return list(conn.execute(_AUTO_CLUSTERS_OF_JOB, {"w_job": job_id}))


# ---------------------------------------------------------------- notification outbox


_ENQUEUE = insert(outbox)
_DUE_NOTIFICATIONS = (
    select(outbox)
    .where(and_(outbox.c.state == "pending", outbox.c.next_at <= bindparam("w_now")))
    .order_by(outbox.c.id)
    .limit(bindparam("w_limit"))
)
_NEXT_NOTIFICATION_AT = select(func.min(outbox.c.next_at)).where(outbox.c.state == "pending")
_SET_NOTIFICATION = update(outbox).where(outbox.c.id == bindparam("w_id"))
_CLAIM_NOTIFICATION = (
    update(outbox)
    .where(
        and_(
            outbox.c.id == bindparam("w_id"),
            outbox.c.state == "pending",
            outbox.c.next_at <= bindparam("w_now"),
        )
    )
    .values(next_at=bindparam("w_until"))
)


def enqueue(conn: Connection, rows: list[dict[str, Any]]) -> None:
    _insert_rows(conn, _ENQUEUE, rows)


def due_notifications(conn: Connection, now: float, limit: int = 50) -> list[Row]:
    return list(conn.execute(_DUE_NOTIFICATIONS, {"w_now": now, "w_limit": limit}))


def next_notification_at(conn: Connection) -> float | None:
    return conn.execute(_NEXT_NOTIFICATION_AT).scalar()


def claim_notification(conn: Connection, nid: int, now: float, until: float) -> bool:
    """Take one due row for one delivery attempt: its ``next_at`` moves to ``until``, so no other
    deliverer on the same store sees it due before then. False when another took it first (on
    PostgreSQL the second UPDATE waits for the first's commit and then finds the row not due)."""
    return conn.execute(_CLAIM_NOTIFICATION, {"w_id": nid, "w_now": now, "w_until": until}).rowcount == 1


def set_notification(conn: Connection, nid: int, **values: Any) -> None:
    conn.execute(_SET_NOTIFICATION, {"w_id": nid, **values})
