"""Which active jobs a placement pass looks at (pure bookkeeping, no I/O).

Walking every active job on each instance exit made an exit cost O(active jobs): thousands of
jobs waiting on a cluster without free VMs were re-examined per exit. Instead, a pass files
every job whose ready work it could not place under what blocks it:

* a cluster with no free VM (a named cluster id, or the task's own AutoCluster id): the job
  comes back when one of that cluster's VMs is freed on this node (``freed``);
* the node's running budget (``--max-running``): the job comes back at the first pass that
  has room again;

and a job whose own state changed (created, instance exited, started, view reloaded) is
``touch``-ed. A pass then looks at the touched jobs, the ones woken by the freed cluster, and
the budget waiters when there is budget, in priority-then-submission order. A full rescan
(start-up, recovery, cluster created or grown, lease poll on a shared database) re-examines
every job and rebuilds the index.

Invariant after each pass: every active job with ready Waiting work is touched, filed under a
cluster in ``full``, or filed under the budget. Jobs with no ready work are not filed: only
their own events (an exit, a start, a reload) can give them some, and those touch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from service.scheduler.core import JobView, ready_tasks


@dataclass(slots=True)
class WaitIndex:
    """Touched jobs and blocked jobs, keyed by what they wait for."""

    rescan: bool = True  # next pass looks at every active job
    touched: set[str] = field(default_factory=set)
    on_cluster: dict[str, set[str]] = field(default_factory=dict)  # cluster id -> blocked jobs
    on_budget: set[str] = field(default_factory=set)
    full: set[str] = field(default_factory=set)  # clusters found without a free VM since last freed
    _filed: dict[str, set[str]] = field(default_factory=dict)  # job -> clusters it is filed under

    # ---------------------------------------------------------------- stimuli

    def touch(self, job_id: str) -> None:
        """The job's own state changed: it may have new ready work."""
        self.touched.add(job_id)

    def freed(self, cluster_id: str | None) -> None:
        """A VM of ``cluster_id`` is free again (``None``: of an unknown cluster → rescan)."""
        if cluster_id is None:
            self.rescan_all()
            return
        self.full.discard(cluster_id)
        self.touched |= self.on_cluster.pop(cluster_id, set())

    def rescan_all(self) -> None:
        """Slots may have appeared anywhere (cluster created or grown, another node's changes)."""
        self.rescan = True
        self.full.clear()

    def forget(self, job_id: str) -> None:
        self.touched.discard(job_id)
        self.on_budget.discard(job_id)
        for cluster_id in self._filed.pop(job_id, ()):
            waiters = self.on_cluster.get(cluster_id)
            if waiters is not None:
                waiters.discard(job_id)
                if not waiters:
                    del self.on_cluster[cluster_id]

    # ---------------------------------------------------------------- the pass

    def select(self, views: Mapping[str, JobView], budget: int) -> list[JobView]:
        """The jobs this pass must look at, highest priority first, then submission order.
        They leave the index; the pass files again what it cannot place."""
        if budget <= 0:  # nothing can start: what was touched waits for budget
            if self.rescan:
                self._clear_filed()
                self.touched = set(views)
                self.rescan = False
            self.on_budget |= {j for j in self.touched if j in views}
            self.touched.clear()
            return []
        if self.rescan:
            ids: set[str] = set(views)
            self._clear_filed()
            self.rescan = False
        else:
            ids = self.touched | self.on_budget
            for job_id in ids:
                self.forget(job_id)
        self.touched = set()
        self.on_budget = set()
        picked = [views[j] for j in ids if j in views and ready_tasks(views[j])]
        picked.sort(key=lambda v: (-v.priority, v.seq))
        return picked

    def block_on_cluster(self, job_id: str, cluster_id: str) -> None:
        """``cluster_id`` has no free VM for the job's ready task."""
        self.full.add(cluster_id)
        self.on_cluster.setdefault(cluster_id, set()).add(job_id)
        self._filed.setdefault(job_id, set()).add(cluster_id)

    def block_on_budget(self, job_id: str) -> None:
        self.on_budget.add(job_id)

    def _clear_filed(self) -> None:
        self.on_cluster.clear()
        self.on_budget.clear()
        self._filed.clear()
        self.touched.clear()
