"""Which bcsd node schedules which job, when several nodes share one PostgreSQL database.

The scheduler keeps an in-memory ``JobView`` per active job. With several nodes, each job is
scheduled by exactly one of them, its owner, through a lease row (``service.store.leases``):

- a node owns the jobs it creates; it renews its leases every ``poll_s``;
- every transaction that changes a job locks the job's lease row and bumps its version, so
  changes are serialized across nodes and a stale view is noticed and reloaded from the store
  before the owner acts on it;
- an API action accepted by another node (stop, start, priority) is committed by that node on
  a fresh view; the owner notices the version change on its next poll (``poll_s``, 0.25 s) or on
  its next write to the job, whichever is first, reloads, and cancels the attempts the database
  no longer calls Running (the database is the truth, memory a cache);
- a job that reaches a terminal state is released (node ""); a node that starts it again claims it;
- leases of a node that stops renewing (crash, kill -9) expire after ``ttl_s``; another node
  claims them (``FOR UPDATE SKIP LOCKED``) and treats their Running instances as lost attempts
  (``NodeLost``), exactly as restart recovery does, so MaxRetryCount decides.

We poll rather than LISTEN/NOTIFY: the poll also renews leases and finds expired ones, works
through any connection pooler, and costs two indexed queries per 0.25 s per node.

On SQLite (one node by construction) all of this is off: every hook returns at once and the
single-node latency is unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine

from api import JobDescription
from api.states import ACTIVE_STATES
from service.executors.base import InstanceKey
from service.scheduler import core
from service.scheduler.recovery import Apply, recover_lost
from service.scheduler.runstate import RunState
from service.scheduler.views import load_view
from service.store import leases, repo
from service.store.database_url import is_sqlite

log = logging.getLogger("bcsd.ownership")

DEFAULT_TTL_S = 10.0


def stable_node_id(data_dir: Path) -> str:
    """This node's id, kept in ``DATA_DIR/node-id`` so a restarted node takes its own leases
    back at once instead of waiting for them to expire."""
    path = data_dir / "node-id"
    with contextlib.suppress(OSError):
        text = path.read_text().strip()
        if text:
            return text
    node_id = f"{socket.gethostname()[:40]}-{secrets.token_hex(4)}"
    with contextlib.suppress(OSError):
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(node_id + "\n")
    return node_id


class Ownership:
    """The scheduler's lease keeper. ``enabled`` only on a shared (non-SQLite) database.

    It changes the run-state only through ``RunState`` methods and returns what the loop must
    carry out after the commit (``cancels``); it never imports the loop: the loop hands it
    ``apply`` (write a view's instructions) and ``wake`` (schedule a full pass)."""

    def __init__(
        self,
        engine: Engine,
        state: RunState,
        node_id: str,
        data_dir: Path,
        sandbox_root: Path,
        apply: Apply,
        wake: Callable[[], None],
        ttl_s: float = DEFAULT_TTL_S,
    ) -> None:
        self.engine = engine
        self.state = state
        self.apply = apply
        self.wake = wake
        self.sandbox_root = sandbox_root
        self.enabled = not is_sqlite(engine.url.drivername)
        self.ttl_s = ttl_s
        self.poll_s = min(0.25, ttl_s / 4)
        self.node_id = stable_node_id(data_dir) if self.enabled else node_id
        self.cancels: list[InstanceKey] = []  # attempts to cancel after the commit
        self.executor_cancel: Callable[[InstanceKey], object] | None = None  # async, set by the loop
        self.notify: Callable[[], None] | None = None  # wakes the deliverer, set by the loop
        self._notified = False  # a take-over queued notifications: wake the deliverer after the commit
        self._task: asyncio.Task[None] | None = None
        if self.enabled:
            leases.create_table(engine)

    # ------------------------------------------------------------ hooks called by the scheduler

    def view(self, conn: Connection, job_id: str) -> core.JobView | None:
        """The view to schedule ``job_id`` with, or None when this node does not own it."""
        cached = self.state.views.get(job_id)
        if not self.enabled:
            return cached
        lease = leases.lock(conn, job_id)
        if lease is None or lease.node != self.node_id:
            self._let_go(job_id)
            return None
        if cached is not None and self.state.versions.get(job_id) == lease.version:
            return cached
        return self._reload(conn, job_id, lease.version)

    def owns(self, conn: Connection, job_id: str) -> bool:
        """Whether this node schedules ``job_id`` (always on SQLite)."""
        if not self.enabled:
            return True
        lease = leases.lock(conn, job_id)
        return lease is not None and lease.node == self.node_id

    def after_apply(self, conn: Connection, view: core.JobView, created: bool = False) -> int | None:
        """Record a change to the job: bump its version, release it when it ended, claim it
        when it is active and free (a start accepted here), free its idle VM slots. Returns the
        lease version our view now reflects (None when another node owns the job).

        ``created``: the job was inserted by this very transaction under a fresh id, so no lease
        row and no VM slot can exist yet: one INSERT instead of a locking read, an INSERT and a
        VM sweep (three round trips per CreateJob on PostgreSQL)."""
        if not self.enabled:
            return None
        now = time.time()
        if created:
            active = view.state in ACTIVE_STATES
            leases.insert_lease(conn, view.id, self.node_id if active else "", now + self.ttl_s)
            return 1 if active else None
        lease = leases.lock(conn, view.id)
        active = view.state in ACTIVE_STATES
        if lease is None:
            node = self.node_id if active else ""
            leases.insert_lease(conn, view.id, node, now + self.ttl_s)
            version = 1
        else:
            node = lease.node
            if not active:
                node = ""
            elif node == "":
                node = self.node_id
            version = lease.version + 1
            expires = now + self.ttl_s if node == self.node_id else lease.expires
            leases.write(conn, view.id, node=node, expires=expires, version=version)
        leases.free_idle_vms(conn, view.id)
        return version if node == self.node_id else None

    def recover(self, conn: Connection) -> None:
        """Start-up: take back our own leases (a previous run of this node) and any expired
        or free ones; jobs other live nodes hold are left alone."""
        leases.adopt_unleased(conn)
        now = time.time()
        mine = list(leases.owned(conn, self.node_id))
        mine += leases.claim_orphans(conn, self.node_id, now, now + self.ttl_s, limit=10_000)
        for job_id in mine:
            lease = leases.lock(conn, job_id)
            if lease is not None:
                self._take_over(conn, job_id, lease.version, "bcsd restarted while the instance ran")

    # ------------------------------------------------------------ the poll

    def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="bcsd-ownership")

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                self.tick()
                await self.flush_cancels()
                self.wake()  # VMs added or freed by other nodes show up here
            except Exception:  # a database hiccup must not end the poll; the next tick retries
                log.warning("lease poll failed; retrying", exc_info=log.isEnabledFor(logging.DEBUG))

    def tick(self) -> None:
        """Renew our leases, drop jobs we lost, reload jobs others changed, claim orphans.
        A tick that does not commit leaves the jobs it touched to be reloaded (``stale``)."""
        self.state.begin()
        try:
            with self.engine.begin() as conn:
                self._tick(conn)
        except BaseException:
            self.state.mark_stale(self.state.end())
            self._notified = False  # rolled back with the rest
            raise
        self.state.end()
        if self._notified:
            self._notified = False
            if self.notify is not None:
                self.notify()

    def _tick(self, conn: Connection) -> None:
        now = time.time()
        leases.renew(conn, self.node_id, now + self.ttl_s)
        mine = leases.owned(conn, self.node_id)
        for job_id in [j for j in self.state.views if j not in mine]:
            self._let_go(job_id)
        for job_id, version in mine.items():
            if self.state.versions.get(job_id) != version or job_id not in self.state.views:
                if job_id in self.state.stale:
                    continue  # the loop reloads it at its next turn
                lease = leases.lock(conn, job_id)
                if lease is not None and lease.node == self.node_id:
                    self._reload(conn, job_id, lease.version)
        for job_id in leases.claim_orphans(conn, self.node_id, now, now + self.ttl_s, limit=100):
            lease = leases.lock(conn, job_id)
            if lease is not None:
                log.info("took over job %s from a node that stopped renewing its lease", job_id)
                self._take_over(conn, job_id, lease.version, "the bcsd node running it was lost")

    async def flush_cancels(self) -> None:
        cancels, self.cancels = self.cancels, []
        for key in cancels:
            if self.executor_cancel is not None:
                with contextlib.suppress(Exception):
                    await self.executor_cancel(key)  # type: ignore[misc]

    # ------------------------------------------------------------ internals

    def _reload(self, conn: Connection, job_id: str, version: int) -> core.JobView | None:
        """Replace our view with the store's; cancel attempts the store no longer runs."""
        row = repo.get_job(conn, job_id)
        view = load_view(conn, job_id) if row is not None else None
        if row is None or view is None or view.state not in ACTIVE_STATES:
            self._let_go(job_id)
            if row is not None:  # ended while we held it: release it for a later start anywhere
                leases.write(conn, job_id, node="", expires=0.0, version=version + 1)
            return None
        self.state.register(view, JobDescription.model_validate(row.description), version)
        running = {
            (t.name, i.idx): i.attempt - 1
            for t in view.tasks.values()
            for i in t.instances
            if i.state == "Running"
        }
        self.cancels.extend(self.state.drop_stale_slots(job_id, running))
        return view

    def _let_go(self, job_id: str) -> None:
        """Forget a job we no longer own; its attempts here are cancelled (their slots are
        freed by whoever changed the job)."""
        self.cancels.extend(self.state.forget(job_id))

    def _take_over(self, conn: Connection, job_id: str, version: int, why: str) -> None:
        """Own a job whose previous owner is gone: its Running instances are lost attempts."""
        row = repo.get_job(conn, job_id)
        view = load_view(conn, job_id) if row is not None else None
        if row is None or view is None:
            return
        spec = JobDescription.model_validate(row.description)
        self.state.register(view, spec, version)
        done = recover_lost(
            conn, repo.job_instances(conn, job_id), {job_id: view}, {job_id: spec},
            self.sandbox_root, why, self.apply,
        )  # fmt: skip
        self.cancels.extend(done.cancels)
        self._notified = self._notified or done.notified
        leases.free_idle_vms(conn, job_id)
        self.state.settle(view)
