"""A job's DAG as a Mermaid flowchart, with what a change does to it marked.

GitHub renders ```` ```mermaid ```` blocks in comments, so the PR plan shows each changed job as a
picture: tasks are nodes (labelled with their name and the instance type their AutoCluster asks
for, or the cluster they run on), Dependencies are edges, and tasks and edges the change adds,
removes or changes are styled and labelled so (the label says it too: colour is not the only cue).
The picture is built from the same two wire specs and the planner's changes that the text of the
plan uses, so the two never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from api.rules.dag import auto_cluster_taking_effect

TaskMark = Literal["added", "removed", "changed", "same"]
TASKS_PREFIX = "DAG.Tasks."

#: classDef of each mark (the "same" tasks keep Mermaid's default look)
STYLES: dict[str, str] = {
    "added": "fill:#e6ffed,stroke:#22863a,stroke-width:2px",
    "removed": "fill:#ffeef0,stroke:#cb2431,stroke-width:2px,stroke-dasharray:5 3",
    "changed": "fill:#fff5b1,stroke:#b08800,stroke-width:2px",
}
#: what the node label says after the task name, for readers who do not see the colours
WORDS: dict[str, str] = {"added": "added", "removed": "removed", "changed": "changed", "same": ""}


@dataclass(frozen=True)
class TaskNode:
    """One task in the picture."""

    name: str
    mark: TaskMark
    runs_on: str
    changed: tuple[str, ...] = ()


def _tasks(body: Mapping[str, Any] | None) -> Mapping[str, Any]:
    dag = (body or {}).get("DAG")
    tasks = dag.get("Tasks") if isinstance(dag, Mapping) else None
    return tasks if isinstance(tasks, Mapping) else {}


def _edges(body: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    dag = (body or {}).get("DAG")
    deps = dag.get("Dependencies") if isinstance(dag, Mapping) else None
    if not isinstance(deps, Mapping):
        return set()
    return {(str(up), str(down)) for up, downs in deps.items() if isinstance(downs, list) for down in downs}


def runs_on(task: Any) -> str:
    """What the task runs on: its cluster when a ClusterId takes effect, else its AutoCluster's
    InstanceType (reference §12 #10: a non-empty ClusterId wins)."""
    if not isinstance(task, Mapping):
        return ""
    if task.get("ClusterId"):
        return f"cluster {task['ClusterId']}"
    auto = auto_cluster_taking_effect(task)
    return str(auto.get("InstanceType") or "") if auto is not None else ""


def task_nodes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
               changed_paths: Iterable[str]) -> list[TaskNode]:
    """Every task of either side, marked by what the change does to it."""
    before, after = _tasks(old), _tasks(new)
    touched: dict[str, list[str]] = {}
    for path in changed_paths:
        if path.startswith(TASKS_PREFIX):
            name, _, rest = path[len(TASKS_PREFIX):].partition(".")
            touched.setdefault(name, []).append(rest)
    nodes = []
    for name in sorted(set(before) | set(after), key=str):
        if name not in before:
            nodes.append(TaskNode(name, "added", runs_on(after[name])))
        elif name not in after:
            nodes.append(TaskNode(name, "removed", runs_on(before[name])))
        else:
            was, now = runs_on(before[name]), runs_on(after[name])
            where = now if was == now else f"{was} → {now}"
            fields = tuple(sorted({p for p in touched.get(name, []) if p}))
            nodes.append(TaskNode(name, "changed" if name in touched else "same", where, fields))
    return nodes


def _label(node: TaskNode) -> str:
    parts = [f"<b>{node.name}</b>"]
    if node.runs_on:
        parts.append(node.runs_on)
    if node.mark != "same":
        word = WORDS[node.mark]
        if node.changed:
            more = len(node.changed) - 2
            shown = ", ".join(node.changed[:2]) + (f" +{more}" if more > 0 else "")
            word += f": {shown}"
        parts.append(f"<i>{word}</i>")
    text = "<br/>".join(parts)
    # inside a quoted Mermaid label: entity codes for the quote and the characters that end a label
    return text.replace('"', "#quot;")


def job_mermaid(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                changed_paths: Iterable[str] = ()) -> str:
    """The flowchart of a job going from ``old`` to ``new`` (either may be None: created/released)."""
    nodes = task_nodes(old, new, changed_paths)
    ids = {node.name: f"t{i}" for i, node in enumerate(nodes)}
    lines = ["flowchart TD"]
    for node in nodes:
        mark = f":::{node.mark}" if node.mark != "same" else ""
        lines.append(f'    {ids[node.name]}["{_label(node)}"]{mark}')
    before, after = _edges(old), _edges(new)
    if old is None or new is None:  # a whole job created or released: its edges are plain
        before = after = before | after
    for up, down in sorted(before | after):
        if up not in ids or down not in ids:
            continue  # a Dependencies entry naming no task: the spec check reports it
        if (up, down) in after and (up, down) not in before:
            lines.append(f"    {ids[up]} -->|added| {ids[down]}")
        elif (up, down) in before and (up, down) not in after:
            lines.append(f"    {ids[up]} -.->|removed| {ids[down]}")
        else:
            lines.append(f"    {ids[up]} --> {ids[down]}")
    used = {node.mark for node in nodes}
    lines += [f"    classDef {mark} {style}" for mark, style in STYLES.items() if mark in used]
    return "\n".join(lines) + "\n"
