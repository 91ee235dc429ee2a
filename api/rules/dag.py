"""Cross-key rules of a job body: Dependencies name declared tasks, the DAG is acyclic, and
every task has a cluster that takes effect (reference §12 #10)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from api.errors import ApiError, error


def find_cycle(tasks: list[str], edges: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``edges`` (upstream -> downstream) as ``[a, b, …, a]``, or ``None``.

    Deterministic: tasks are explored in the order given, so the same DAG names the same cycle.
    """
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(tasks, white)
    for start in tasks:
        if colour[start] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(edges.get(start, ())))]
        colour[start] = grey
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = black
                stack.pop()
            elif colour.get(child, black) == grey:
                trail = [n for n, _ in stack]
                return trail[trail.index(child) :] + [child]
            elif colour.get(child) == white:
                colour[child] = grey
                stack.append((child, iter(edges.get(child, ()))))
    return None


def check_dag(dag: dict[str, Any], param: str, path: str) -> Iterator[ApiError]:
    """Dependencies may name only declared tasks; then the graph must be acyclic (BadDAG).

    Runs whenever Dependencies is well formed, also beside errors inside the tasks (it needs only
    their names); with no usable Tasks map there is nothing to check against."""
    tasks = dag.get("Tasks")
    if not isinstance(tasks, dict):
        return
    deps: dict[str, list[str]] = dag.get("Dependencies", {})
    dpath = f"{path}.Dependencies"
    clean = True
    for upstream, downstream in deps.items():
        if upstream not in tasks:
            clean = False
            yield error(
                "detail",
                f"{dpath}.{upstream}",
                param=f"Dependencies.{upstream}",
                detail=f"Task {upstream} is not declared in DAG.Tasks.",
            )
            continue
        for i, name in enumerate(downstream):
            if not isinstance(name, str) or name not in tasks:
                clean = False
                yield error(
                    "detail",
                    f"{dpath}.{upstream}.{i}",
                    param=f"Dependencies.{upstream}.value",
                    detail=f"Task {name} is not declared in DAG.Tasks.",
                )
    if clean:
        cycle = find_cycle(list(tasks), deps)
        if cycle is not None:
            yield error("bad_dag", dpath, cycle=" -> ".join(cycle))


def auto_cluster_taking_effect(task: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The AutoCluster that takes effect for a raw task body (reference §12 #10), for the checks
    that run before any model exists; ``TaskDescription.effective_auto_cluster`` is the same rule
    over a valid task.

    A non-empty ClusterId wins. Otherwise an AutoCluster counts only when it names an instance
    type or an image: the SDK materialises ``{"InstanceType": "", "ECSImageId": "", …}`` on mere
    attribute access, and the CLI sends ``AutoCluster: {}`` beside a ClusterId.
    """
    if task.get("ClusterId"):
        return None
    auto = task.get("AutoCluster")
    if isinstance(auto, Mapping) and any(auto.get(k) for k in ("InstanceType", "ImageId", "ECSImageId")):
        return auto
    return None


def check_task_cluster(task: dict[str, Any], param: str, path: str) -> Iterator[ApiError]:
    """A task needs a non-empty ClusterId or a usable AutoCluster (reference §12 #10).

    A non-empty ClusterId takes effect and the AutoCluster beside it is ignored (the seed's own
    example has both). Otherwise the AutoCluster must name an InstanceType and exactly one of
    ImageId / ECSImageId.
    """
    if task.get("ClusterId"):
        return
    auto = auto_cluster_taking_effect(task)
    if auto is None:
        yield error("missing", f"{path}.ClusterId", param="ClusterId")
        return
    apath = f"{path}.AutoCluster"
    if not auto.get("InstanceType"):
        yield error("missing", f"{apath}.InstanceType", param="AutoCluster.InstanceType")
    if auto.get("ImageId") and auto.get("ECSImageId"):
        yield error(
            "detail",
            f"{apath}.ECSImageId",
            param="AutoCluster.ECSImageId",
            detail="Only one of ImageId and ECSImageId can be set, and the other one must be left blank.",
        )
    elif not auto.get("ImageId") and not auto.get("ECSImageId"):
        yield error("missing", f"{apath}.ImageId", param="AutoCluster.ImageId")
