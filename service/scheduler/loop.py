"""The thin async shell around the pure core.

It keeps a ``JobView`` per active job in its ``RunState`` (loaded from the store at start),
turns executor events and API actions into core events, writes every resulting instruction in
one transaction, and only then talks to the executor (launch / cancel). It wakes on events
(job created, instance exited, cluster grown), never on a timer, so create-to-start latency is
one loop turn. A pass looks only at the jobs ``waiting.WaitIndex`` selects (the ones whose
state changed and the ones a freed VM or budget unblocks), so an exit costs the same with 10
or 10,000 waiting jobs.

A turn is atomic in memory as in the store: when its transaction does not commit (a busy or
full SQLite file, a PostgreSQL serialization failure or deadlock), its events go back to the
inbox, the jobs it touched are dropped from the run-state and reloaded from the store at the
next turn, and nothing was launched or cancelled. API actions get the same guarantee through
:meth:`Scheduler.transaction`; a new job's view is registered only after its commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine

from api import AutoCluster, JobDescription, TaskDescription
from api.states import ACTIVE_STATES
from service.config import Settings
from service.executors.base import (
    Executor,
    ExecutorEvent,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
    InstanceWaiting,
)
from service.scheduler import core
from service.scheduler.effects import Applied, LostWrite, apply_instructions, free_slot
from service.scheduler.launch import build_launch
from service.scheduler.ownership import Ownership
from service.scheduler.recovery import recover_lost
from service.scheduler.runstate import InvariantBroken, RunState
from service.scheduler.views import load_view
from service.store import repo
from service.store.engine import STORE_ERRORS
from service.store.pipeline import pipelined_transaction

log = logging.getLogger("bcsd.scheduler")

#: per-job notification subscription: (endpoint, topic name, events, job name)
Topic = tuple[str, str, frozenset[str], str]


class Scheduler:
    """Carries out the core's decisions: all methods run on the event loop thread, and the
    run-state (``self.state``) changes only through its methods."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.state = RunState(limit=settings.running_limit)
        self.sandbox_root = settings.sandbox_root  # built once: every write of a turn passes it
        self.validate = settings.validate
        self.executor: Executor | None = None
        self.on_notify: Any = None  # callable woken when the outbox has new rows
        self.on_launch: Any = None  # metrics hooks
        self.on_exit: Any = None
        self.on_turn: Any = None  # metrics hook: called with the seconds each turn took
        self._inbox: list[ExecutorEvent] = []
        self._waiting_noted: set[str] = set()  # jobs whose Message says why an instance waits
        self._signal = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # several nodes on one PostgreSQL: job leases (a no-op on SQLite), see ownership.py
        self.ownership = Ownership(
            engine, self.state, uuid.uuid4().hex[:12], settings.data_dir, settings.sandbox_root,
            self._apply, self.wake, settings.lease_ttl_s,
        )  # fmt: skip
        self.ownership.executor_cancel = self._cancel
        self.ownership.notify = self._wake_deliverer
        self.node_id = self.ownership.node_id

    # ------------------------------------------------------------ lifecycle

    async def start(self, executor: Executor) -> None:
        self.executor = executor
        await executor.start()
        with self.transaction() as conn:
            self._recover(conn)
        self._task = asyncio.create_task(self._run(), name="bcsd-scheduler")
        self.ownership.start()
        self.wake()

    async def close(self) -> None:
        await self.ownership.close()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.executor:
            await self.executor.close()

    def wake(self, job_id: str | None = None) -> None:
        """Schedule a placement pass: over one job whose state changed, or (``None``) over every
        active job (start-up, clusters created or grown, other nodes' changes)."""
        if job_id is None:
            self.state.waiting.rescan_all()
        else:
            self.state.waiting.touch(job_id)
        self._signal.set()

    async def sink(self, event: ExecutorEvent) -> None:
        """The executors' EventSink. An exit touches its job and frees its VM when handled."""
        self._inbox.append(event)
        self._signal.set()

    @property
    def running(self) -> int:
        """Attempts this node runs now (``/metrics``)."""
        return len(self.state.slots)

    # ------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def transaction(self, pipelined: bool = False) -> Iterator[Connection]:
        """One store transaction whose memory changes share its fate: when it does not commit,
        the jobs it touched are dropped and reloaded from the store by the next turn.
        ``pipelined``: in psycopg pipeline mode on PostgreSQL, COMMIT included (``store.pipeline``;
        the group commit's flushes)."""
        self.state.begin()
        try:
            with pipelined_transaction(self.engine) if pipelined else self.engine.begin() as conn:
                yield conn
        except BaseException:
            dropped = self.state.end()
            self.state.mark_stale(dropped)
            if dropped:
                self._signal.set()
            raise
        self.state.end()
        self._check()

    def _check(self) -> None:
        """``validate`` mode: the run-state invariants hold after every committed change."""
        if not self.validate:
            return
        try:
            self.state.check()
        except InvariantBroken:
            log.critical("run-state invariant broken (validate mode); stopping", exc_info=True)
            os._exit(70)

    # ------------------------------------------------------------ API-driven actions (in ``transaction``)

    def adopt(self, conn: Connection, job_id: str, spec: JobDescription, event: core.Event) -> Applied:
        """Apply an API event to the job inside the caller's :meth:`transaction`: on our own
        view when we schedule the job, else on a fresh one from the store. Returns what to hand
        to :meth:`after_commit`."""
        view = self.ownership.view(conn, job_id) if self.ownership.enabled else self.state.views.get(job_id)
        if view is None:
            view = load_view(conn, job_id)
            if view is None:
                return Applied()
        self.state.set_spec(job_id, spec)
        self.state.touch(job_id)
        done = self._apply(conn, view, core.step(view, event, time.time()), spec=spec)
        fresh = job_id not in self.state.views
        if fresh and view.state in ACTIVE_STATES and (done.version is not None or not self.ownership.enabled):
            self.state.register(view, spec, done.version)  # started here: we schedule it now
        return done

    def create(self, conn: Connection, view: core.JobView, spec: JobDescription) -> Applied:
        """A freshly inserted job: apply ``JobCreated`` inside the caller's transaction. Its view
        is registered by :meth:`admit` once that transaction committed."""
        instructions = core.step(view, core.JobCreated(), time.time())
        return self._apply(conn, view, instructions, spec=spec, created=True)

    def admit(self, view: core.JobView, spec: JobDescription, done: Applied) -> None:
        """After the CreateJob commit: the next pass looks at the new job."""
        if view.state in ACTIVE_STATES:
            self.state.register(view, spec, done.version)
        self._check()

    def update_spec(self, job_id: str, spec: JobDescription) -> None:
        self.state.set_spec(job_id, spec)

    def set_priority(self, conn: Connection, job_id: str, priority: int, spec: JobDescription) -> None:
        """Re-order (active jobs) and emit OnPriorityChange."""
        view = self.ownership.view(conn, job_id) if self.ownership.enabled else self.state.views.get(job_id)
        if view is None:
            view = load_view(conn, job_id)
            if view is None:
                return
        self.state.touch(job_id)
        view.priority = priority
        self.state.set_spec(job_id, spec)
        self._notify(self._apply(conn, view, [core.Notify("OnPriorityChange")], spec=spec))

    def forget(self, job_id: str) -> None:
        """A deleted job (its rows are gone, it held no slot: only ended jobs are deleted)."""
        self.state.forget(job_id)

    async def after_commit(self, done: Applied, job_id: str | None = None) -> None:
        """Cancel what the action stopped; a pass then looks at ``job_id`` (created, started).
        Slots a stop freed already woke their clusters' waiters."""
        for key in done.cancels:
            await self._cancel(key)
        self._notify(done)
        if job_id is not None:
            self.state.waiting.touch(job_id)
        self._signal.set()

    async def _cancel(self, key: InstanceKey) -> None:
        if self.executor is not None:
            await self.executor.cancel(key)

    def _notify(self, done: Applied) -> None:
        if done.notified:
            self._wake_deliverer()

    def _wake_deliverer(self) -> None:
        if self.on_notify:
            self.on_notify()

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while True:
            await self._signal.wait()
            self._signal.clear()
            batch, self._inbox = self._inbox, []
            turn_started = time.perf_counter()
            try:
                done, launches, exits = self.turn(batch)
            except STORE_ERRORS + (LostWrite, LostSlot):  # the store failed: the batch is retried
                log.warning("scheduler turn not committed; its events go back to the inbox", exc_info=True)
                self._inbox[:0] = batch
                await asyncio.sleep(0.05)
                self.wake()  # the turn was rolled back: what it selected must be looked at again
                continue
            except Exception:  # a bug: keep scheduling the rest; the trace goes to the log
                log.exception("scheduler turn failed; its %d event(s) are dropped", len(batch))
                await asyncio.sleep(0.05)
                self.wake()
                continue
            for event in exits:
                if self.on_exit:
                    self.on_exit(event)
            self._notify(done)
            for key in done.cancels:
                await self._cancel(key)
            await self._launch(launches)
            if self.on_turn:
                self.on_turn(time.perf_counter() - turn_started)

    def turn(self, batch: list[ExecutorEvent]) -> tuple[Applied, list[InstanceLaunch], list[InstanceExited]]:
        """One transaction: reload the jobs a failed turn dropped, the batch of executor events,
        then placement. Returns what to carry out after the commit (cancels, notifications),
        the launches and the exits handled; raises when the transaction does not commit, with
        the jobs it touched dropped from memory (the loop then puts ``batch`` back)."""
        done = Applied()
        noted: list[tuple[str, bool]] = []
        with self.transaction() as conn:
            for job_id in sorted(self.state.stale):
                self._restore(conn, job_id)
            for event in batch:
                done.add(self._on_executor_event(conn, event, noted))
            launches = self._plan(conn, done)
        for job_id, waits in noted:  # committed: the job's Message now says so
            if waits:
                self._waiting_noted.add(job_id)
            else:
                self._waiting_noted.discard(job_id)
        return done, launches, [e for e in batch if isinstance(e, InstanceExited)]

    def _restore(self, conn: Connection, job_id: str) -> None:
        """Read a job dropped after a failed commit back from the store: its view (when it is
        still active and ours), the slots its Running attempts hold and its AutoCluster ids."""
        self.state.reloaded(job_id)
        self.state.touch(job_id)
        if self.ownership.enabled:
            view = self.ownership.view(conn, job_id)  # reloads: the job has no view
        else:
            row = repo.get_job(conn, job_id)
            view = load_view(conn, job_id) if row is not None else None
            if row is not None and view is not None and view.state in ACTIVE_STATES:
                self.state.register(view, JobDescription.model_validate(row.description))
            else:
                view = None
        if view is None:
            return
        for slot in repo.job_slots(conn, job_id, self.node_id):
            key = (job_id, slot.task_name, slot.instance_id)
            self.state.take_slot(key, max(slot.attempt - 1, 0), slot.id, slot.cluster_id)
        for cluster in repo.auto_clusters_of(conn, job_id):
            self.state.set_auto_cluster(job_id, cluster.task_name, cluster.id)

    def _on_executor_event(
        self, conn: Connection, event: ExecutorEvent, noted: list[tuple[str, bool]]
    ) -> Applied:
        k = event.key
        view = self.ownership.view(conn, k.job_id)
        if isinstance(event, InstanceStarted):
            repo.set_instance(
                conn, k.job_id, k.task_name, k.instance_id,
                node=event.node, node_ip=event.node_ip, sandbox_path=event.sandbox_path,
                pid=getattr(event, "pid", 0) or None,
            )  # fmt: skip
            if k.job_id in self._waiting_noted:  # only jobs that were told why they wait
                repo.note_waiting(conn, k.job_id, "")
                noted.append((k.job_id, False))
            return Applied()
        if isinstance(event, InstanceWaiting):
            repo.set_instance(conn, k.job_id, k.task_name, k.instance_id, detail=event.reason)
            repo.note_waiting(conn, k.job_id, f"{k.task_name}.{k.instance_id}: {event.reason}")
            noted.append((k.job_id, True))
            return Applied()
        assert isinstance(event, InstanceExited)
        free_slot(self.state, conn, (k.job_id, k.task_name, k.instance_id), k.attempt)
        results = {
            "exit_code": event.exit_code, "error_code": event.error_code,
            "error_message": event.error_message, "detail": event.detail,
            "stdout_object": event.stdout_object, "stderr_object": event.stderr_object,
            "sandbox_path": event.sandbox_path, "node": event.node or "", "pid": None,
        }  # fmt: skip
        if view is None:
            repo.set_instance(conn, k.job_id, k.task_name, k.instance_id, **results)
            return Applied()
        self.state.touch(k.job_id)
        self.state.waiting.touch(k.job_id)  # its next instances / downstream tasks may be ready
        cause = event.error_code or f"exit {event.exit_code}"
        ev = core.InstanceExited(k.task_name, k.instance_id, k.attempt, event.succeeded, cause)
        extra = {(k.task_name, k.instance_id): results}
        return self._apply(conn, view, core.step(view, ev, time.time()), extra)

    # ------------------------------------------------------------ placement

    def _plan(self, conn: Connection, done: Applied) -> list[InstanceLaunch]:
        """Place Waiting instances on free VMs inside ``conn``'s transaction; return the launches
        to hand to the executor once it is committed (what else the launches bring about, such
        as the Running notifications, is added to ``done``). Looks only at the jobs the wait index
        selects and files again, by cluster or budget, what it could not place."""
        waiting = self.state.waiting
        budget = self.state.budget
        views = waiting.select(self.state.views, budget)
        launches: list[InstanceLaunch] = []
        for n, cached in enumerate(views):
            if budget <= 0:
                for rest in views[n:]:
                    waiting.block_on_budget(rest.id)
                break
            if self._filed_from_memory(cached):
                continue
            view = self.ownership.view(conn, cached.id)
            if view is None:  # another node owns the job now
                continue
            for task in core.ready_tasks(view):
                if budget <= 0:
                    waiting.block_on_budget(view.id)
                    break
                cluster_id = self.state.cluster_of(view.id, task)
                if cluster_id and cluster_id in waiting.full:
                    waiting.block_on_cluster(view.id, cluster_id)
                    continue
                launches.extend(self._place_task(conn, view, task, budget, done))
                budget = self.state.budget
                if task.counts["Waiting"] > 0:  # fewer VMs than asked for, or the budget ran out
                    if budget <= 0:
                        waiting.block_on_budget(view.id)
                    else:
                        cluster_id = self.state.cluster_of(view.id, task)
                        waiting.block_on_cluster(view.id, cluster_id)
        return launches

    def _filed_from_memory(self, view: core.JobView) -> bool:
        """File a job whose every ready task waits on a cluster this pass (or an earlier one,
        since no VM of it was freed) found without a free VM, without touching the store.

        Each job looked at costs a locking read of its lease on PostgreSQL (``Ownership.view``),
        and a rescan (every lease poll, 4 times a second) looks at every active job: with a few
        hundred jobs parked on a full cluster that was most of the event loop's time, between
        the creates it should have been committing. A placement would need the lease; filing
        does not: a view another node changed is reloaded by the poll, which touches it."""
        if not self.ownership.enabled:
            return False  # SQLite: the view is all there is to read, the pass below is free
        waiting = self.state.waiting
        blocked: list[str] = []
        for task in core.ready_tasks(view):
            cluster_id = self.state.cluster_of(view.id, task)
            if not cluster_id or cluster_id not in waiting.full:
                return False
            blocked.append(cluster_id)
        if not blocked:
            return False
        for cluster_id in blocked:
            waiting.block_on_cluster(view.id, cluster_id)
        return True

    async def _launch(self, launches: list[InstanceLaunch]) -> None:
        for launch in launches:
            if self.on_launch:
                self.on_launch(launch)
            assert self.executor is not None
            await self.executor.launch(launch)

    def _place_task(
        self, conn: Connection, view: core.JobView, task: core.TaskView, budget: int, done: Applied
    ) -> list[InstanceLaunch]:
        spec = self.state.specs[view.id].dag.tasks[task.name]
        cluster_id = task.cluster_id
        if not cluster_id:  # AutoCluster: (re)created when the task (re)starts
            cluster_id = self.state.auto_cluster(view.id, task.name)
            fresh = all(i.attempt == 0 for i in task.instances)  # never placed: no cluster yet
            if not cluster_id and not fresh:
                live = repo.auto_clusters_of(conn, view.id, task.name)
                cluster_id = live[0].id if live else ""
            if not cluster_id:
                cluster_id = self._create_auto_cluster(conn, view.id, task.name, spec, len(task.instances))
            self.state.set_auto_cluster(view.id, task.name, cluster_id)
        free = repo.free_vms(conn, cluster_id, min(budget, task.counts["Waiting"]))
        if not free:
            return []
        cluster_env: dict[str, str] = {}
        groups: dict[str, Any] = {}
        vm_groups: dict[str, str] = {}
        if task.cluster_id:  # a named cluster: its EnvVars and each group's instance type apply
            cluster = repo.get_cluster(conn, cluster_id)
            cluster_env = dict((cluster.description or {}).get("EnvVars") or {}) if cluster else {}
            groups = {g.name: g for g in repo.cluster_groups(conn, cluster_id)}
            free_set = set(free)
            vm_groups = {v.id: v.group_name for v in repo.cluster_vms(conn, cluster_id) if v.id in free_set}
        out = []
        now = time.time()
        self.state.touch(view.id)
        for inst, vm_id in zip(core.waiting_instances(task, len(free)), free, strict=False):
            if not repo.occupy_vm(conn, vm_id, view.id, task.name, inst.idx):
                raise LostSlot(f"VM {vm_id} of cluster {cluster_id} was taken under our lock")
            instructions = core.step(view, core.InstanceLaunched(task.name, inst.idx), now)
            done.add(  # its Running notifications must wake the deliverer
                self._apply(
                    conn,
                    view,
                    instructions,
                    {(task.name, inst.idx): {"vm_id": vm_id, "owner_node": self.node_id}},
                )
            )
            attempt = inst.attempt - 1
            self.state.take_slot((view.id, task.name, inst.idx), attempt, vm_id, cluster_id)
            group = groups.get(vm_groups.get(vm_id, ""))
            auto = spec.auto_cluster or AutoCluster()
            itype = (group.instance_type if group else "") or auto.instance_type
            out.append(
                build_launch(
                    self.settings,
                    view.id,
                    task.name,
                    spec,
                    inst.idx,
                    attempt,
                    cluster_id,
                    vm_id,
                    itype,
                    cluster_env,
                )
            )
        return out

    def _create_auto_cluster(
        self, conn: Connection, job_id: str, task: str, spec: TaskDescription, n: int
    ) -> str:
        """An anonymous cluster for an AutoCluster task, created when the task first starts."""
        from service.clusters import create_auto_cluster  # local: clusters imports the store only

        auto = spec.auto_cluster or AutoCluster()
        cluster_id = create_auto_cluster(conn, job_id, task, auto, n, self.settings)
        repo.set_task(conn, job_id, task, auto_cluster_id=cluster_id)
        return cluster_id

    # ------------------------------------------------------------ writing instructions

    def _apply(
        self,
        conn: Connection,
        view: core.JobView,
        instructions: list[core.Instruction],
        extra: dict[tuple[str, int], dict[str, Any]] | None = None,
        spec: JobDescription | None = None,
        created: bool = False,
    ) -> Applied:
        """Write a view's instructions, bump its lease, and forget the job in memory once it
        ended (what the caller's transaction takes back if it does not commit). ``created``:
        the job was inserted by this transaction (``Ownership.after_apply``)."""
        if spec is None:
            spec = self.state.specs.get(view.id)
        done = apply_instructions(self.state, conn, view, spec, instructions, extra, self.sandbox_root)
        done.version = self.ownership.after_apply(conn, view, created)
        self.state.set_version(view.id, done.version)
        self.state.settle(view)
        return done

    # ------------------------------------------------------------ restart recovery

    def _recover(self, conn: Connection) -> None:
        """Rebuild views; every instance the store says is Running lost its process with the
        old bcsd and is counted a failed attempt (``NodeLost``, ``recovery.recover_lost``) so
        MaxRetryCount decides. On a shared database only the jobs this node held (or nobody
        holds) are recovered: see ``Ownership.recover``."""
        if self.ownership.enabled:
            self.ownership.recover(conn)
            return
        lost = repo.running_instances(conn)
        repo.free_all_busy_vms(conn)
        for row in repo.active_jobs(conn):
            view = load_view(conn, row.id)
            if view is not None:
                self.state.register(view, JobDescription.model_validate(row.description))

        def reap_unrecorded() -> None:  # anything else left in our sandboxes (no pid recorded yet)
            if self.settings.executor == "local":
                from service.executors.process import reap_orphans

                with contextlib.suppress(OSError):
                    reap_orphans(str(self.settings.sandbox_root))

        recover_lost(
            conn, lost, self.state.views, self.state.specs, self.settings.sandbox_root,
            "bcsd restarted while the instance ran", self._apply, before_cleanup=reap_unrecorded,
        )  # fmt: skip
        if lost:
            log.info("recovered %d instance(s) that were running before the restart", len(lost))


class LostSlot(RuntimeError):
    """A VM handed out by ``free_vms`` under our lock could not be occupied: never expected;
    the turn is rolled back rather than run two attempts on one slot."""
