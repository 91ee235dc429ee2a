"""The scheduler's run-state: everything it holds in memory about active jobs, in one owner.

Before this module five public dicts and the wait index sat on ``Scheduler`` and were changed
from the loop, the effects and the lease keeper alike, so nobody could say what held when a
turn failed. ``RunState`` now owns them behind methods; the rest of ``service/scheduler`` only
reads them or calls those methods. It does no I/O, so it sits at the bottom of the package.

Invariants (checked by :meth:`RunState.check` after every turn when ``validate`` is on):

1. ``views`` holds only active jobs (Waiting, Running), each under its own id, and ``specs``
   has exactly the same keys.
2. A view's per-task counters match its instances' states, and no Waiting instance lies
   below the task's placement cursor.
3. Every slot ``(job, task, idx) -> (attempt, vm)`` belongs to a job in ``views`` whose
   instance is Running with that very attempt (``attempt == instance.attempt - 1``); no two
   slots share a VM.
4. At most ``limit`` slots are held (the node's running budget).
5. AutoCluster ids and lease versions are kept only for jobs in ``views``.
6. A job marked ``stale`` (its turn failed to commit) has no view, no slot and no AutoCluster
   id until it is reloaded from the store.

The memory of a job only changes through these methods, and each records the job as touched
while a transaction is open (:meth:`begin`/:meth:`end`); ``core.step`` changes a view in place,
so the caller :meth:`touch`-es the job before stepping it. When that transaction does not
commit, the caller drops exactly the touched jobs (:meth:`mark_stale`) and reloads them from
the store, so memory never keeps what the database rolled back.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from api import JobDescription
from api.states import ACTIVE_STATES
from service.executors.base import InstanceKey
from service.scheduler.core import JobView, TaskView
from service.scheduler.waiting import WaitIndex

#: (job id, task name, instance index)
SlotKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Slot:
    """A VM slot an attempt of this node runs on."""

    attempt: int
    vm_id: str
    cluster_id: str


class InvariantBroken(AssertionError):
    """The run-state contradicts itself: a scheduler bug (raised only in ``validate`` mode)."""


@dataclass
class RunState:
    """Views, specs, slots, AutoCluster ids, lease versions and the wait index of one node."""

    limit: int
    views: dict[str, JobView] = field(default_factory=dict)
    specs: dict[str, JobDescription] = field(default_factory=dict)
    slots: dict[SlotKey, Slot] = field(default_factory=dict)
    auto_clusters: dict[tuple[str, str], str] = field(default_factory=dict)  # (job, task) -> id
    versions: dict[str, int] = field(default_factory=dict)  # job -> lease version our view reflects
    waiting: WaitIndex = field(default_factory=WaitIndex)
    stale: set[str] = field(default_factory=set)  # dropped after a failed commit; reload first
    _touched: set[str] | None = None

    # ---------------------------------------------------------------- transactions

    def begin(self) -> None:
        """Start recording which jobs the open transaction changes in memory."""
        self._touched = set()

    def end(self) -> set[str]:
        """Stop recording; the jobs changed since :meth:`begin`."""
        touched, self._touched = self._touched or set(), None
        return touched

    def touch(self, job_id: str) -> None:
        """The job's view is about to change (``core.step``): remember it for a rollback."""
        if self._touched is not None:
            self._touched.add(job_id)

    def mark_stale(self, job_ids: set[str]) -> None:
        """A transaction that changed these jobs did not commit: forget what memory holds of
        them until :meth:`reloaded`. Nothing is cancelled: the store still says which of their
        attempts run, and the reload takes their slots back from it."""
        for job_id in job_ids:
            self._drop(job_id)
            self.stale.add(job_id)

    # ---------------------------------------------------------------- jobs

    def register(self, view: JobView, spec: JobDescription, version: int | None = None) -> None:
        """A new or reloaded view of an active job: the next pass looks at it."""
        self.touch(view.id)
        self.views[view.id] = view
        self.specs[view.id] = spec
        self.stale.discard(view.id)
        if version is not None:
            self.versions[view.id] = version
        self.waiting.touch(view.id)

    def settle(self, view: JobView) -> None:
        """After an event: keep the view while the job is active, forget it once it ended."""
        if view.state not in ACTIVE_STATES:
            self.forget(view.id)

    def set_spec(self, job_id: str, spec: JobDescription) -> None:
        if job_id in self.views:
            self.touch(job_id)
            self.specs[job_id] = spec

    def set_version(self, job_id: str, version: int | None) -> None:
        if version is None or job_id not in self.views:
            self.versions.pop(job_id, None)
        else:
            self.versions[job_id] = version

    def forget(self, job_id: str) -> list[InstanceKey]:
        """Drop an ended, deleted or lost job; returns its attempts still held here (to cancel)."""
        self.touch(job_id)
        cancels = self._drop(job_id)
        self.stale.discard(job_id)
        return cancels

    def reloaded(self, job_id: str) -> None:
        """A stale job was read again from the store (registered, or found inactive)."""
        self.stale.discard(job_id)

    def _drop(self, job_id: str) -> list[InstanceKey]:
        self.views.pop(job_id, None)
        self.specs.pop(job_id, None)
        self.versions.pop(job_id, None)
        self.waiting.forget(job_id)
        for key in [k for k in self.auto_clusters if k[0] == job_id]:
            del self.auto_clusters[key]
        cancels = []
        for slot_key in [k for k in self.slots if k[0] == job_id]:
            slot = self.slots.pop(slot_key)
            self.waiting.freed(slot.cluster_id)
            cancels.append(InstanceKey(*slot_key, slot.attempt))
        return cancels

    # ---------------------------------------------------------------- VM slots

    @property
    def budget(self) -> int:
        """Attempts this node may still start."""
        return self.limit - len(self.slots)

    def take_slot(self, key: SlotKey, attempt: int, vm_id: str, cluster_id: str) -> None:
        self.touch(key[0])
        self.slots[key] = Slot(attempt, vm_id, cluster_id)

    def slot_of(self, key: SlotKey, attempt: int | None = None) -> Slot | None:
        """The slot ``key``'s attempt holds (any attempt when ``attempt`` is None)."""
        slot = self.slots.get(key)
        if slot is None or (attempt is not None and slot.attempt != attempt):
            return None
        return slot

    def free_slot(self, key: SlotKey, attempt: int | None = None) -> Slot | None:
        """The one place a slot is given back: its cluster's waiters are woken. Returns the slot
        (its VM must be freed in the store by the caller's transaction), None when ``key`` held
        none (or held it for another attempt)."""
        slot = self.slot_of(key, attempt)
        if slot is None:
            return None
        self.touch(key[0])
        del self.slots[key]
        self.waiting.freed(slot.cluster_id)
        return slot

    def drop_stale_slots(self, job_id: str, running: dict[tuple[str, int], int]) -> list[InstanceKey]:
        """Keep only the job's slots whose attempt ``running`` (task, idx) -> attempt still lists;
        returns the others' attempts to cancel (the store no longer runs them)."""
        cancels = []
        for key in [k for k in self.slots if k[0] == job_id]:
            slot = self.slots[key]
            if running.get((key[1], key[2])) != slot.attempt:
                self.touch(job_id)
                del self.slots[key]
                self.waiting.freed(slot.cluster_id)
                cancels.append(InstanceKey(key[0], key[1], key[2], slot.attempt))
        return cancels

    # ---------------------------------------------------------------- AutoClusters

    def auto_cluster(self, job_id: str, task: str) -> str:
        return self.auto_clusters.get((job_id, task), "")

    def cluster_of(self, job_id: str, task: TaskView) -> str:
        """The cluster a task's instances are placed on: the one it names, else its AutoCluster
        ("" until that is made, at its first placement)."""
        return task.cluster_id or self.auto_cluster(job_id, task.name)

    def set_auto_cluster(self, job_id: str, task: str, cluster_id: str) -> None:
        self.touch(job_id)
        self.auto_clusters[(job_id, task)] = cluster_id

    def drop_auto_cluster(self, job_id: str, task: str) -> str:
        """Forget the task's AutoCluster (released); returns the id we knew ("" if none)."""
        self.touch(job_id)
        return self.auto_clusters.pop((job_id, task), "")

    # ---------------------------------------------------------------- validate mode

    def check(self) -> None:
        """Raise :class:`InvariantBroken` naming the first invariant (module docstring) broken."""
        if set(self.specs) != set(self.views):
            raise InvariantBroken(f"1: specs {sorted(set(self.specs) ^ set(self.views))} without a view")
        for job_id, view in self.views.items():
            if view.id != job_id or view.state not in ACTIVE_STATES:
                raise InvariantBroken(f"1: view {job_id} is {view.id} in state {view.state}")
            if job_id in self.stale:
                raise InvariantBroken(f"6: stale job {job_id} has a view")
            for task in view.tasks.values():
                counts = Counter(i.state for i in task.instances)
                if +task.counts != counts:
                    where = f"{job_id}.{task.name}"
                    raise InvariantBroken(f"2: {where} counts {dict(task.counts)} != {dict(counts)}")
                if any(i.state == "Waiting" for i in task.instances[: task.cursor]):
                    raise InvariantBroken(f"2: {job_id}.{task.name} has a Waiting instance below its cursor")
        vms: set[str] = set()
        for (job_id, task_name, idx), slot in self.slots.items():
            slot_view = self.views.get(job_id)
            slot_task = slot_view.tasks.get(task_name) if slot_view else None
            inst = slot_task.instances[idx] if slot_task and idx < len(slot_task.instances) else None
            if inst is None or inst.state != "Running" or inst.attempt - 1 != slot.attempt:
                where = f"{job_id}.{task_name}.{idx}"
                raise InvariantBroken(f"3: slot {where} attempt {slot.attempt} runs nothing")
            if slot.vm_id in vms:
                raise InvariantBroken(f"3: VM {slot.vm_id} holds two attempts")
            vms.add(slot.vm_id)
        if len(self.slots) > self.limit:
            raise InvariantBroken(f"4: {len(self.slots)} slots held, limit {self.limit}")
        for job_id, _task in self.auto_clusters:
            if job_id not in self.views:
                raise InvariantBroken(f"5: AutoCluster id kept for {job_id}, which has no view")
        for job_id in self.versions:
            if job_id not in self.views:
                raise InvariantBroken(f"5: lease version kept for {job_id}, which has no view")
