"""Spec factories for the provider tests (wire format, as a YAML file would hold them)."""

from __future__ import annotations

import copy
from typing import Any


def task(command: str = "python -c pass", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "InstanceCount": 1,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
        "ClusterId": "",
        "AutoCluster": {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu", "ReserveOnFail": False},
    }
    out.update(extra)
    return out


def job(tasks: int = 2, **top: Any) -> dict[str, Any]:
    names = [f"task{i}" for i in range(tasks)]
    spec: dict[str, Any] = {
        "Name": "demo",
        "Priority": 1,
        "Type": "DAG",
        "JobFailOnInstanceFail": True,
        "DAG": {
            "Tasks": {name: task() for name in names},
            "Dependencies": {names[i]: [names[i + 1]] for i in range(len(names) - 1)},
        },
    }
    spec.update(top)
    return spec


def cluster(**top: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "Name": "pool",
        "ImageId": "img-ubuntu",
        "InstanceType": "bcs.a2.large",
        "Groups": {
            "group1": {"DesiredVMCount": 1, "InstanceType": "bcs.a2.large", "ResourceType": "OnDemand"}
        },
        "UserData": {},
    }
    spec.update(top)
    return spec


def edit(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``spec`` with the dotted ``path`` set to ``value``."""
    out = copy.deepcopy(spec)
    *head, last = path.split(".")
    node = out
    for seg in head:
        node = node.setdefault(seg, {})
    node[last] = value
    return out


def reorder(value: Any) -> Any:
    """The same document with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(v) for v in value]
    return value
