"""Job leases: which bcsd node schedules which job when several share one PostgreSQL.

One row per job: the owning ``node`` ("" = nobody), when its lease ``expires`` (UNIX seconds),
and a ``version`` bumped by every change any node makes to the job. Every writer locks the
row first (``SELECT … FOR UPDATE``), so changes to one job are serialized across nodes, and the
owner sees from the version whether its in-memory view is stale. Free jobs and expired leases
are claimed with ``FOR UPDATE SKIP LOCKED``: two nodes never claim the same job.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Row,
    String,
    Table,
    and_,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from api.states import ACTIVE_STATES
from service.store.pipeline import NO_RESULT
from service.store.schema import instances, jobs, metadata, vms

job_leases = Table(
    "job_leases",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("node", String(64), nullable=False, default=""),
    Column("expires", Float, nullable=False, default=0.0),
    Column("version", BigInteger, nullable=False, default=0),
    Index("ix_job_leases_node", "node"),
)


def create_table(engine: Engine) -> None:
    job_leases.create(engine, checkfirst=True)


def lock(conn: Connection, job_id: str) -> Row | None:
    """The job's lease row, locked until the caller's transaction ends."""
    return conn.execute(select(job_leases).where(job_leases.c.job_id == job_id).with_for_update()).first()


_INSERT_LEASE = insert(job_leases)


def insert_lease(conn: Connection, job_id: str, node: str, expires: float, version: int = 1) -> None:
    """Queued in a flush's pipeline (``store.pipeline``): a duplicate fails the flush at its next sync."""
    row = {"job_id": job_id, "node": node, "expires": expires, "version": version}
    conn.execute(_INSERT_LEASE, row, execution_options=NO_RESULT)


def write(conn: Connection, job_id: str, *, node: str, expires: float, version: int) -> None:
    conn.execute(
        update(job_leases)
        .where(job_leases.c.job_id == job_id)
        .values(node=node, expires=expires, version=version)
    )


def renew(conn: Connection, node: str, expires: float) -> None:
    conn.execute(update(job_leases).where(job_leases.c.node == node).values(expires=expires))


def owned(conn: Connection, node: str) -> dict[str, int]:
    """job id -> version of every lease this node holds."""
    rows = conn.execute(select(job_leases.c.job_id, job_leases.c.version).where(job_leases.c.node == node))
    return {r.job_id: r.version for r in rows}


def claim_orphans(conn: Connection, node: str, now: float, expires: float, limit: int) -> list[str]:
    """Claim active jobs nobody holds, or whose holder stopped renewing (crashed node). Rows
    another node is writing are skipped, not waited for."""
    query = (
        select(job_leases.c.job_id, job_leases.c.version)
        .join(jobs, jobs.c.id == job_leases.c.job_id)
        .where(
            and_(
                jobs.c.state.in_(ACTIVE_STATES),
                job_leases.c.node != node,
                or_(job_leases.c.node == "", job_leases.c.expires < now),
            )
        )
        .order_by(jobs.c.priority.desc(), jobs.c.seq)
        .limit(limit)
        .with_for_update(skip_locked=True, of=job_leases)
    )
    claimed = []
    for row in list(conn.execute(query)):
        write(conn, row.job_id, node=node, expires=expires, version=row.version + 1)
        claimed.append(row.job_id)
    return claimed


def adopt_unleased(conn: Connection) -> None:
    """Give active jobs without a lease row (written before leases existed) a free one."""
    missing = select(jobs.c.id).where(
        and_(jobs.c.state.in_(ACTIVE_STATES), ~exists().where(job_leases.c.job_id == jobs.c.id))
    )
    for (job_id,) in list(conn.execute(missing)):
        try:
            with conn.begin_nested():
                insert_lease(conn, job_id, "", 0.0, 0)
        except IntegrityError:  # another node starting at the same moment inserted it
            pass


def free_idle_vms(conn: Connection, job_id: str) -> None:
    """Free the job's VM slots whose instance is no longer Running. Whichever node changes a
    job (its owner or the node that accepted a stop) releases the slots, from the database's
    truth rather than from the owner's memory."""
    running = exists().where(
        and_(
            instances.c.job_id == vms.c.busy_job,
            instances.c.task_name == vms.c.busy_task,
            instances.c.instance_id == vms.c.busy_instance,
            instances.c.state == "Running",
        )
    )
    conn.execute(
        update(vms)
        .where(and_(vms.c.busy_job == job_id, ~running))
        .values(busy_job="", busy_task="", busy_instance=-1)
    )
