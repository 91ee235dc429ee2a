"""The thin async shell around the pure core.

It keeps a ``JobView`` per active job (loaded from the store at start), turns executor events
and API actions into core events, writes every resulting instruction in one transaction, and
only then talks to the executor (launch / cancel). It wakes on events (job created, instance
exited, cluster grown), never on a timer, so create-to-start latency is one loop turn. A pass
looks only at the jobs ``waiting.WaitIndex`` selects (the ones whose state changed and the ones
a freed VM or budget unblocks), so an exit costs the same with 10 or 10,000 waiting jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from typing import Any

from sqlalchemy import Connection, Engine

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
from service.executors.sandbox import remove_lost
from service.scheduler import core
from service.scheduler.launch import build_launch
from service.scheduler.ownership import Ownership
from service.scheduler.views import load_view
from service.scheduler.waiting import WaitIndex
from service.store import repo

log = logging.getLogger("bcsd.scheduler")

#: per-job notification subscription: (endpoint, topic name, events, job name)
Topic = tuple[str, str, frozenset[str], str]


class Scheduler:
    """Owns the active jobs' views and the executor; all methods run on the event loop thread."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.node_id = uuid.uuid4().hex[:12]
        self.views: dict[str, core.JobView] = {}
        self.specs: dict[str, dict[str, Any]] = {}  # job id -> stored description
        self.running: dict[tuple[str, str, int], tuple[int, str]] = {}  # -> (attempt, vm id)
        self.auto_clusters: dict[tuple[str, str], str] = {}  # (job, task) -> live AutoCluster id
        self.executor: Executor | None = None
        self.on_notify: Any = None  # callable woken when the outbox has new rows
        self.on_launch: Any = None  # metrics hooks
        self.on_exit: Any = None
        self.on_turn: Any = None  # metrics hook: called with the seconds each turn took
        self._inbox: list[ExecutorEvent] = []
        self._waiting_noted: set[str] = set()  # jobs whose Message says why an instance waits
        self._signal = asyncio.Event()
        # which jobs the next placement pass looks at (touched, or unblocked by a freed VM/budget)
        self.waiting = WaitIndex()
        self.vm_cluster: dict[str, str] = {}  # VM id -> cluster id of the slots this node holds
        self._limit = settings.running_limit
        self._task: asyncio.Task[None] | None = None
        # several nodes on one PostgreSQL: job leases (a no-op on SQLite), see ownership.py
        self.ownership = Ownership(engine, self, settings.data_dir, settings.lease_ttl_s)
        self.node_id = self.ownership.node_id

    # ------------------------------------------------------------ lifecycle

    async def start(self, executor: Executor) -> None:
        self.executor = executor
        await executor.start()
        with self.engine.begin() as conn:
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
            self.waiting.rescan_all()
        else:
            self.waiting.touch(job_id)
        self._signal.set()

    async def sink(self, event: ExecutorEvent) -> None:
        """The executors' EventSink. An exit touches its job and frees its VM when handled."""
        self._inbox.append(event)
        self._signal.set()

    # ------------------------------------------------------------ API-driven actions (caller commits)

    def adopt(self, conn: Connection, job_id: str, spec: dict[str, Any], event: core.Event) -> list[Any]:
        """Load (or reuse) the job's view, apply an API event inside the caller's transaction.
        Returns post-commit actions to hand to :meth:`after_commit`."""
        view = self.ownership.view_for_action(conn, job_id)
        if view is None:
            return []
        self.specs[job_id] = spec
        instructions = core.step(view, event, time.time())
        post = self._apply(conn, view, instructions)
        if view.state in ("Waiting", "Running"):
            self.views[job_id] = view
        else:
            self.views.pop(job_id, None)
        return post

    def adopt_new(self, conn: Connection, view: core.JobView, spec: dict[str, Any]) -> list[Any]:
        """A freshly inserted job: register its view and apply ``JobCreated``."""
        self.register(view, spec)
        return self._apply(conn, view, core.step(view, core.JobCreated(), time.time()))

    def update_spec(self, job_id: str, spec: dict[str, Any]) -> None:
        if job_id in self.specs:
            self.specs[job_id] = spec

    def set_priority(self, conn: Connection, job_id: str, priority: int, spec: dict[str, Any]) -> None:
        """Re-order (active jobs) and emit OnPriorityChange."""
        view = self.ownership.view_for_action(conn, job_id)
        if view is None:
            return
        view.priority = priority
        self.specs[job_id] = spec
        self._apply(conn, view, [core.Notify("OnPriorityChange")])
        if job_id not in self.views:
            self.specs.pop(job_id, None)

    def slot_freed(self, vm_id: str) -> None:
        """A VM this node held is free again: its cluster may take work at the next pass."""
        self.waiting.freed(self.vm_cluster.pop(vm_id, None))

    def register(self, view: core.JobView, spec: dict[str, Any]) -> None:
        """A new or reloaded view: the next pass looks at it."""
        self.views[view.id] = view
        self.specs[view.id] = spec
        self.waiting.touch(view.id)

    def forget(self, job_id: str) -> None:
        self.views.pop(job_id, None)
        self.specs.pop(job_id, None)
        self.waiting.forget(job_id)
        self._waiting_noted.discard(job_id)
        for key in [k for k in self.auto_clusters if k[0] == job_id]:
            del self.auto_clusters[key]

    async def after_commit(self, post: list[Any], job_id: str | None = None) -> None:
        """Cancel what the action stopped; a pass then looks at ``job_id`` (created, started).
        Slots a stop freed already woke their clusters' waiters (``slot_freed``)."""
        for action in post:
            if isinstance(action, InstanceKey) and self.executor:
                await self.executor.cancel(action)
        if job_id is not None:
            self.waiting.touch(job_id)
        self._signal.set()

    # ------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while True:
            await self._signal.wait()
            self._signal.clear()
            turn_started = time.perf_counter()
            try:
                # one transaction per turn: the batch of executor events, then placement
                batch, self._inbox = self._inbox, []
                post: list[Any] = []
                with self.engine.begin() as conn:
                    for event in batch:
                        post.extend(self._on_executor_event(conn, event))
                    launches = self._plan(conn)
                for action in post:
                    if isinstance(action, InstanceKey) and self.executor:
                        await self.executor.cancel(action)
                await self._launch(launches)
            except Exception:  # keep scheduling whatever one bad event did; the trace goes to the log
                log.exception("scheduler turn failed")
                await asyncio.sleep(0.05)
                self.wake()  # the turn was rolled back: what it selected must be looked at again
            if self.on_turn:
                self.on_turn(time.perf_counter() - turn_started)

    def _on_executor_event(self, conn: Connection, event: ExecutorEvent) -> list[Any]:
        k = event.key
        view = self.ownership.view(conn, k.job_id)
        if isinstance(event, InstanceStarted):
            repo.set_instance(
                conn, k.job_id, k.task_name, k.instance_id,
                node=event.node, node_ip=event.node_ip, sandbox_path=event.sandbox_path,
                pid=getattr(event, "pid", 0) or None,
            )  # fmt: skip
            if k.job_id in self._waiting_noted:  # only jobs that were told why they wait
                self._waiting_noted.discard(k.job_id)
                repo.note_waiting(conn, k.job_id, "")
            return []
        if isinstance(event, InstanceWaiting):
            repo.set_instance(conn, k.job_id, k.task_name, k.instance_id, detail=event.reason)
            repo.note_waiting(conn, k.job_id, f"{k.task_name}.{k.instance_id}: {event.reason}")
            self._waiting_noted.add(k.job_id)
            return []
        assert isinstance(event, InstanceExited)
        slot = self.running.get((k.job_id, k.task_name, k.instance_id))
        if slot and slot[0] == k.attempt:
            self.running.pop((k.job_id, k.task_name, k.instance_id))
            repo.free_vm(conn, slot[1])
            self.slot_freed(slot[1])
        if self.on_exit:
            self.on_exit(event)
        results = {
            "exit_code": event.exit_code, "error_code": event.error_code,
            "error_message": event.error_message, "detail": event.detail,
            "stdout_object": event.stdout_object, "stderr_object": event.stderr_object,
            "sandbox_path": event.sandbox_path, "node": event.node or "", "pid": None,
        }  # fmt: skip
        if view is None:
            repo.set_instance(conn, k.job_id, k.task_name, k.instance_id, **results)
            return []
        self.waiting.touch(k.job_id)  # its next instances / downstream tasks may be ready
        cause = event.error_code or f"exit {event.exit_code}"
        ev = core.InstanceExited(k.task_name, k.instance_id, k.attempt, event.succeeded, cause)
        extra = {(k.task_name, k.instance_id): results}
        return self._apply(conn, view, core.step(view, ev, time.time()), extra)

    # ------------------------------------------------------------ placement

    def _plan(self, conn: Connection) -> list[InstanceLaunch]:
        """Place Waiting instances on free VMs inside ``conn``'s transaction; return the launches
        to hand to the executor once it is committed. Looks only at the jobs the wait index
        selects and files again, by cluster or budget, what it could not place."""
        budget = self._limit - len(self.running)
        views = self.waiting.select(self.views, budget)
        launches: list[InstanceLaunch] = []
        for n, cached in enumerate(views):
            if budget <= 0:
                for rest in views[n:]:
                    self.waiting.block_on_budget(rest.id)
                break
            view = self.ownership.view(conn, cached.id)
            if view is None:  # another node owns the job now
                continue
            for task in core.ready_tasks(view):
                if budget <= 0:
                    self.waiting.block_on_budget(view.id)
                    break
                cluster_id = task.cluster_id or self.auto_clusters.get((view.id, task.name), "")
                if cluster_id and cluster_id in self.waiting.full:
                    self.waiting.block_on_cluster(view.id, cluster_id)
                    continue
                launches.extend(self._place_task(conn, view, task, budget))
                budget = self._limit - len(self.running)
                if task.counts["Waiting"] > 0:  # fewer VMs than asked for, or the budget ran out
                    if budget <= 0:
                        self.waiting.block_on_budget(view.id)
                    else:
                        cluster_id = task.cluster_id or self.auto_clusters.get((view.id, task.name), "")
                        self.waiting.block_on_cluster(view.id, cluster_id)
        return launches

    async def _launch(self, launches: list[InstanceLaunch]) -> None:
        for launch in launches:
            if self.on_launch:
                self.on_launch(launch)
            assert self.executor is not None
            await self.executor.launch(launch)

    def _place_task(
        self, conn: Connection, view: core.JobView, task: core.TaskView, budget: int
    ) -> list[InstanceLaunch]:
        spec = self.specs[view.id]["DAG"]["Tasks"][task.name]
        cluster_id = task.cluster_id
        if not cluster_id:  # AutoCluster: (re)created when the task (re)starts
            cluster_id = self.auto_clusters.get((view.id, task.name), "")
            fresh = all(i.attempt == 0 for i in task.instances)  # never placed: no cluster yet
            if not cluster_id and not fresh:
                live = repo.auto_clusters_of(conn, view.id, task.name)
                cluster_id = live[0].id if live else ""
            if not cluster_id:
                cluster_id = self._create_auto_cluster(conn, view.id, task.name, spec, len(task.instances))
            self.auto_clusters[(view.id, task.name)] = cluster_id
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
        for inst, vm_id in zip(core.waiting_instances(task, len(free)), free, strict=False):
            instructions = core.step(view, core.InstanceLaunched(task.name, inst.idx), now)
            self._apply(
                conn,
                view,
                instructions,
                {(task.name, inst.idx): {"vm_id": vm_id, "owner_node": self.node_id}},
            )
            repo.occupy_vm(conn, vm_id, view.id, task.name, inst.idx)
            attempt = inst.attempt - 1
            self.running[(view.id, task.name, inst.idx)] = (attempt, vm_id)
            self.vm_cluster[vm_id] = cluster_id
            group = groups.get(vm_groups.get(vm_id, ""))
            itype = (group.instance_type if group else "") or (spec.get("AutoCluster") or {}).get(
                "InstanceType", ""
            )
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
        self, conn: Connection, job_id: str, task: str, spec: dict[str, Any], n: int
    ) -> str:
        """An anonymous cluster for an AutoCluster task, created when the task first starts."""
        from service.clusters import create_auto_cluster  # local: clusters imports the store only

        cluster_id = create_auto_cluster(conn, job_id, task, spec.get("AutoCluster") or {}, n, self.settings)
        repo.set_task(conn, job_id, task, auto_cluster_id=cluster_id)
        return cluster_id

    # ------------------------------------------------------------ writing instructions

    def _apply(
        self,
        conn: Connection,
        view: core.JobView,
        instructions: list[core.Instruction],
        extra: dict[tuple[str, int], dict[str, Any]] | None = None,
    ) -> list[Any]:
        from service.scheduler.effects import apply_instructions

        post = apply_instructions(self, conn, view, instructions, extra)
        self.ownership.after_apply(conn, view)
        return post

    # ------------------------------------------------------------ restart recovery

    def _recover(self, conn: Connection) -> None:
        """Rebuild views; every instance the store says is Running lost its process with the
        old bcsd: kill its orphaned process group if known, then count it as a failed attempt
        (``NodeLost``) so MaxRetryCount decides. On a shared database only the jobs this
        node held (or nobody holds) are recovered: see ``Ownership.recover``."""
        if self.ownership.enabled:
            self.ownership.recover(conn)
            return
        lost = repo.running_instances(conn)
        repo.free_all_busy_vms(conn)
        for row in repo.active_jobs(conn):
            view = load_view(conn, row.id)
            if view is not None:
                self.register(view, row.description)
        for inst in lost:
            if inst.pid and _runs_in(inst.pid, self.settings.sandbox_root):
                with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
                    os.killpg(inst.pid, signal.SIGKILL)
        if self.settings.executor == "local":  # anything else left in our sandboxes (no pid recorded yet)
            from service.executors.process import reap_orphans

            with contextlib.suppress(OSError):
                reap_orphans(str(self.settings.sandbox_root))
        for inst in lost:  # their processes are dead now: the sandboxes go, unless ReserveOnFail
            tasks = (self.specs.get(inst.job_id) or {}).get("DAG", {}).get("Tasks", {})
            key = InstanceKey(inst.job_id, inst.task_name, inst.instance_id, max(inst.attempt - 1, 0))
            spec = tasks.get(inst.task_name) or {}
            kept = remove_lost(self.settings.sandbox_root, key, inst.sandbox_path or "", spec)
            repo.set_instance(
                conn, inst.job_id, inst.task_name, inst.instance_id,
                error_code="NodeLost", error_message="bcsd restarted while the instance ran", pid=None,
                sandbox_path=kept,
            )  # fmt: skip
            view = self.views.get(inst.job_id)
            if view is None:
                continue
            ev = core.InstanceExited(
                inst.task_name, inst.instance_id, max(inst.attempt - 1, 0), False, "NodeLost"
            )
            self._apply(conn, view, core.step(view, ev, time.time()))
            if view.state not in ("Waiting", "Running"):
                self.views.pop(view.id, None)
        if lost:
            log.info("recovered %d instance(s) that were running before the restart", len(lost))


def _runs_in(pid: int, root: Any) -> bool:
    """True when process ``pid`` works inside ``root``: a recorded pid is only killed when it is
    still one of our instances (never a recycled pid of an unrelated program)."""
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    base = os.path.realpath(str(root)) + os.sep
    return (cwd + os.sep).startswith(base)
