"""MaxJobCount's count of stored jobs, without one row that every create locks.

The count is kept in counter rows, *shards*, whose sum is the number of stored jobs (any
state; DeleteJob and AutoRelease give a slot back). With one row, every CreateJob locked it
until its commit: on a PostgreSQL shared by several nodes that serialised all their creates
(each waited for the other's whole transaction, fsync included). With shards, each bcsd process
counts its creates in a shard of its own choosing and two nodes rarely touch the same row.

The limit stays exact without reading the other shards: each shard has a *cap*, the caps sum
to ``max_jobs`` (:func:`caps`), and a create claims a slot with one conditional UPDATE of a shard
below its cap (trying the other shards in a fixed order when its own is full). A create is
refused only when every shard is at its cap, i.e. ``max_jobs`` jobs are stored. That needs every
shard at or below its cap; only shard 0 (the single row of earlier releases, which also takes
the jobs added by ``bench/seed_store.py``) may hold more, so :func:`init` spreads the count over
the shards at start-up (under row locks, as other nodes may be creating) and a delete takes
its slot back from shard 0 first. SQLite has one writer: one shard, as before.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.store import driver_sql
from service.store.schema import counters, jobs

#: shard 0's name: the counter row of releases before the shards
JOB_COUNTER = "jobs"
#: shards per dialect; one where there is one writer anyway
SHARDS: dict[str, int] = {"postgresql": 8}


def shard_count(conn: Connection) -> int:
    return SHARDS.get(conn.dialect.name, 1)


def shard_name(index: int) -> str:
    return JOB_COUNTER if index == 0 else f"{JOB_COUNTER}.{index}"


def caps(max_jobs: int, shards: int) -> list[int]:
    """Each shard's share of ``max_jobs`` (the shares sum to it exactly)."""
    base, extra = divmod(max(max_jobs, 0), shards)
    return [base + (1 if i < extra else 0) for i in range(shards)]


def spread(total: int, shard_caps: list[int]) -> list[int]:
    """``total`` stored jobs laid over the shards, none above its cap; what does not fit (more
    stored than the limit, after it was lowered) stays in shard 0, which then refuses until
    deletes bring it under."""
    values = []
    left = total
    for cap in shard_caps:
        take = min(cap, left)
        values.append(take)
        left -= take
    values[0] += left
    return values


#: this process's own shard (never shard 0, which a start-up or an old release may hold)
_OWN = {n: 1 + secrets.randbelow(n - 1) for n in set(SHARDS.values()) if n > 1}


def _order(shards: int) -> list[int]:
    """Own shard first, then the others in index order (a fixed order: two full shards are
    always tried the same way round)."""
    own = _OWN.get(shards, 0)
    return [own, *(i for i in range(shards) if i != own)]


def init(conn: Connection, max_jobs: int | None) -> None:
    """Create the shard rows (shard 0 from ``COUNT(*)`` when it is missing: a data dir from
    before the counter, or a fresh one) and, with ``max_jobs``, spread the count over them."""
    shards = shard_count(conn)
    if conn.execute(select(counters.c.value).where(counters.c.name == JOB_COUNTER)).first() is None:
        total = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
        _insert_if_missing(conn, JOB_COUNTER, total)
    for i in range(1, shards):
        _insert_if_missing(conn, shard_name(i), 0)
    if shards == 1 or max_jobs is None:
        return
    names = [shard_name(i) for i in range(shards)]
    locked = conn.execute(  # in name order, as every node locks them here
        select(counters.c.name, counters.c.value)
        .where(counters.c.name.in_(names))
        .order_by(counters.c.name)
        .with_for_update()
    )
    total = sum(value for _, value in locked)
    for name, value in zip(names, spread(total, caps(max_jobs, shards)), strict=True):
        conn.execute(update(counters).where(counters.c.name == name).values(value=value))


def _insert_if_missing(conn: Connection, name: str, value: int) -> None:
    if conn.execute(select(counters.c.value).where(counters.c.name == name)).first() is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(counters).values(name=name, value=value))
    except IntegrityError:  # another node starting at the same moment inserted it
        pass


def claim(conn: Connection, max_jobs: int) -> bool:
    """Count one more stored job unless ``max_jobs`` are stored already: one conditional UPDATE
    of this process's shard while it has room (O(1) whatever the table holds; the row lock it
    takes until the commit is this node's own), the other shards only near the limit."""
    shards = shard_count(conn)
    shard_caps = caps(max_jobs, shards) if shards > 1 else [max_jobs]
    fast = driver_sql.create_path(conn)
    for i in _order(shards):
        if shard_caps[i] <= 0:
            continue
        name = shard_name(i)
        if fast is not None:
            claimed = conn.exec_driver_sql(fast.claim_job_slot, {"name": name, "max": shard_caps[i]})
        else:
            claimed = conn.execute(
                update(counters)
                .where(counters.c.name == name, counters.c.value < shard_caps[i])
                .values(value=counters.c.value + 1)
            )
        if claimed.rowcount == 1:
            return True
    return False


def uncount(conn: Connection) -> None:
    """Give back a deleted job's slot: from shard 0 first (the only one that may be above its
    cap), else from this process's shard, else any."""
    shards = shard_count(conn)
    order = [0, *(i for i in _order(shards) if i != 0)]
    for i in order:
        gave = conn.execute(
            update(counters)
            .where(counters.c.name == shard_name(i), counters.c.value > 0)
            .values(value=counters.c.value - 1)
        )
        if gave.rowcount == 1:
            return


def stored(conn: Connection) -> int:
    """Jobs stored, as counted."""
    names = [shard_name(i) for i in range(shard_count(conn))]
    total = conn.execute(select(func.sum(counters.c.value)).where(counters.c.name.in_(names))).scalar()
    return int(total or 0)
