"""The wait index: which jobs a placement pass looks at. Unit cases, and a property that a
pass over the selected jobs places exactly what a pass over every job would."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from service.scheduler import core
from service.scheduler.waiting import WaitIndex


def view(
    job_id: str, priority: int = 0, seq: int = 0, waiting: int = 1, cluster: str = "cls-a"
) -> core.JobView:
    task = core.TaskView("t", (), 0, [core.InstanceView(i) for i in range(waiting)], cluster_id=cluster)
    return core.JobView(job_id, "Waiting", True, False, {"t": task}, priority=priority, seq=seq)


def ids(views: list[core.JobView]) -> list[str]:
    return [v.id for v in views]


def test_first_pass_looks_at_every_job_with_ready_work_in_priority_then_fifo_order() -> None:
    views = {
        v.id: v for v in (view("old", 0, 1), view("high", 5, 3), view("new", 0, 2), view("none", 9, 0, 0))
    }
    assert ids(WaitIndex().select(views, budget=4)) == ["high", "old", "new"]


def test_a_freed_vm_wakes_only_its_clusters_waiters_and_the_touched_job() -> None:
    views = {v.id: v for v in (view("a1", seq=1), view("b1", seq=2, cluster="cls-b"), view("a2", seq=3))}
    index = WaitIndex()
    index.select(views, budget=4)
    for job_id, cluster in (("a1", "cls-a"), ("b1", "cls-b"), ("a2", "cls-a")):
        index.block_on_cluster(job_id, cluster)
    views["x"] = view("x", seq=0, cluster="cls-c")
    index.touch("x")
    assert ids(index.select(views, budget=4)) == ["x"]
    index.freed("cls-a")
    assert ids(index.select(views, budget=4)) == ["a1", "a2"]
    assert index.on_cluster == {"cls-b": {"b1"}}
    assert ids(index.select(views, budget=4)) == []  # nothing touched, nothing freed


def test_priority_decides_among_woken_jobs() -> None:
    views = {v.id: v for v in (view("low", 0, 1), view("high", 3, 2))}
    index = WaitIndex(rescan=False)
    index.block_on_cluster("low", "cls-a")
    index.block_on_cluster("high", "cls-a")
    views["high"].priority = 1  # PATCH priority while waiting: read at selection time
    index.freed("cls-a")
    assert ids(index.select(views, budget=1)) == ["high", "low"]


def test_without_budget_touched_jobs_wait_for_budget() -> None:
    views = {"j": view("j")}
    index = WaitIndex(rescan=False)
    index.touch("j")
    assert index.select(views, budget=0) == []
    assert index.on_budget == {"j"}
    assert ids(index.select(views, budget=1)) == ["j"]
    assert index.on_budget == set()


def test_unknown_cluster_rescans_and_forget_drops_a_job_everywhere() -> None:
    views = {v.id: v for v in (view("a"), view("b", seq=1))}
    index = WaitIndex(rescan=False)
    index.block_on_cluster("a", "cls-a")
    index.block_on_budget("a")
    index.forget("a")
    assert index.on_cluster == {} and index.on_budget == set()
    index.freed(None)
    assert ids(index.select(views, budget=1)) == ["a", "b"]


# ---------------------------------------------------------------- property: same placement as a full pass


@dataclass
class Model:
    """A toy scheduler: one task per job on one cluster, ``limit`` attempts at once."""

    limit: int
    free: dict[str, int]
    views: dict[str, core.JobView] = field(default_factory=dict)
    running: list[tuple[str, str]] = field(default_factory=list)  # (job, cluster) per attempt
    index: WaitIndex | None = None  # None: every pass looks at every job

    def place(self) -> None:
        budget = self.limit - len(self.running)
        if self.index is None:
            chosen = sorted(
                (v for v in self.views.values() if core.ready_tasks(v)), key=lambda v: (-v.priority, v.seq)
            )
        else:
            chosen = self.index.select(self.views, budget)
        for n, v in enumerate(chosen):
            if budget <= 0:
                for rest in chosen[n:]:
                    self.index and self.index.block_on_budget(rest.id)
                break
            task = v.tasks["t"]
            if self.index and task.cluster_id in self.index.full:
                self.index.block_on_cluster(v.id, task.cluster_id)
                continue
            take = min(budget, task.counts["Waiting"], self.free[task.cluster_id])
            for inst in core.waiting_instances(task, take) if take > 0 else []:
                core.step(v, core.InstanceLaunched("t", inst.idx), 0.0)
                self.running.append((v.id, task.cluster_id))
            self.free[task.cluster_id] -= take
            budget -= take
            if task.counts["Waiting"] and self.index:
                if budget <= 0:
                    self.index.block_on_budget(v.id)
                else:
                    self.index.block_on_cluster(v.id, task.cluster_id)

    def create(self, job_id: str, priority: int, waiting: int, cluster: str) -> None:
        self.views[job_id] = view(job_id, priority, len(self.views), waiting, cluster)
        if self.index:
            self.index.touch(job_id)

    def exit_oldest(self) -> None:
        if not self.running:
            return
        job_id, cluster = self.running.pop(0)
        task = self.views[job_id].tasks["t"]
        idx = next(i.idx for i in task.instances if i.state == "Running")
        core.step(self.views[job_id], core.InstanceExited("t", idx, 0, True), 0.0)
        self.free[cluster] += 1
        if self.index:
            self.index.touch(job_id)
            self.index.freed(cluster)

    def grow(self, cluster: str) -> None:
        self.free[cluster] += 1
        if self.index:
            self.index.rescan_all()

    def placed(self) -> dict[str, tuple[str, ...]]:
        return {j: tuple(i.state for i in v.tasks["t"].instances) for j, v in self.views.items()}


ops = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, 2), st.integers(1, 3), st.sampled_from("abc")),
        st.tuples(st.just("exit")),
        st.tuples(st.just("grow"), st.sampled_from("abc")),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    ops=ops, limit=st.integers(1, 4), free=st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2))
)
def test_index_places_exactly_what_a_pass_over_every_job_places(
    ops: list[tuple], limit: int, free: tuple
) -> None:
    start = dict(zip("abc", free, strict=True))
    full, indexed = Model(limit, dict(start)), Model(limit, dict(start), index=WaitIndex())
    for n, op in enumerate(ops):
        for model in (full, indexed):
            if op[0] == "create":
                model.create(f"j{n}", op[1], op[2], op[3])
            elif op[0] == "exit":
                model.exit_oldest()
            else:
                model.grow(op[1])
            model.place()
        assert indexed.placed() == full.placed()
        assert indexed.running == full.running
