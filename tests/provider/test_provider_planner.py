"""The planner's table: spec change -> action, paths and reasons."""

from __future__ import annotations

from typing import Any

import pytest
from provider_specs import cluster, edit, job, reorder, task

from provider import planner
from provider.planner import Plan

BASE = job()
EVENTS = {
    "Topic": {"Name": "t", "Endpoint": "http://1.mns.local/", "Events": ["OnJobFailed", "OnJobFinished"]}
}
EVENTS_REORDERED = {
    "Topic": {"Name": "t", "Endpoint": "http://1.mns.local/", "Events": ["OnJobFinished", "OnJobFailed"]}
}

SAME_JOB_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("identical", BASE, job()),
    ("key order", BASE, reorder(BASE)),
    (
        "defaults spelled out",
        BASE,
        edit(edit(edit(BASE, "AutoRelease", False), "Description", ""), "DAG.Tasks.task0.MaxRetryCount", 0),
    ),
    ("events reordered", job(Notification=EVENTS), job(Notification=EVENTS_REORDERED)),
    ("on_failure default spelled out", BASE, {**BASE, "on_failure": "keep"}),
]


@pytest.mark.parametrize(("label", "old", "new"), SAME_JOB_CASES, ids=[c[0] for c in SAME_JOB_CASES])
def test_equivalent_job_specs_plan_nothing(label: str, old: dict, new: dict) -> None:
    assert planner.plan("Job", old, new) == Plan("same", (), (), False)


# (label, new spec, action, replaces, {path: reason fragment})
JOB_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...], dict[str, str]]] = [
    ("priority", edit(BASE, "Priority", 7), "update", (), {"Priority": "updated in place"}),
    ("description", edit(BASE, "Description", "nightly"), "update", (), {"Description": "updated in place"}),
    ("notification", job(Notification=EVENTS), "update", (), {"Notification": "updated in place"}),
    (
        "command",
        edit(BASE, "DAG.Tasks.task1.Parameters.Command.CommandLine", "python -c 1"),
        "replace",
        ("DAG",),
        {"DAG.Tasks.task1.Parameters.Command.CommandLine": "a submitted DAG cannot change"},
    ),
    (
        "autocluster instance type",
        edit(BASE, "DAG.Tasks.task0.AutoCluster.InstanceType", "bcs.a2.xlarge"),
        "replace",
        ("DAG",),
        {"DAG.Tasks.task0.AutoCluster.InstanceType": "AutoCluster field InstanceType of task task0"},
    ),
    (
        "reserve on fail",
        edit(BASE, "DAG.Tasks.task0.AutoCluster.ReserveOnFail", True),
        "replace",
        ("DAG",),
        {"DAG.Tasks.task0.AutoCluster.ReserveOnFail": "task task0"},
    ),
    ("task added", edit(BASE, "DAG.Tasks.extra", task()), "replace", ("DAG",), {"DAG.Tasks.extra": "added"}),
    (
        "dependency",
        edit(BASE, "DAG.Dependencies", {}),
        "replace",
        ("DAG",),
        {"DAG.Dependencies.task0": "removed; a submitted DAG cannot change"},
    ),
    (
        "name",
        edit(BASE, "Name", "other"),
        "replace",
        ("Name",),
        {"Name": "Name of a submitted job cannot change"},
    ),
    ("auto release", edit(BASE, "AutoRelease", True), "replace", ("AutoRelease",), {"AutoRelease": "cannot"}),
    ("triggers", {**BASE, "triggers": {"rev": "2"}}, "replace", ("triggers",), {"triggers": "runs again"}),
    ("wait_for", {**BASE, "wait_for": {"timeout": 60}}, "update", (), {"wait_for": "in place"}),
    ("on_failure", {**BASE, "on_failure": "restart"}, "update", (), {"on_failure": "in place"}),
    (
        "priority and command",
        edit(edit(BASE, "Priority", 3), "DAG.Tasks.task0.Timeout", 60),
        "replace",
        ("DAG",),
        {"Priority": "in place", "DAG.Tasks.task0.Timeout": "cannot change"},
    ),
]


@pytest.mark.parametrize(
    ("label", "new", "action", "replaces", "reasons"), JOB_CASES, ids=[c[0] for c in JOB_CASES]
)
def test_job_change_table(
    label: str, new: dict, action: str, replaces: tuple, reasons: dict[str, str]
) -> None:
    plan = planner.plan("Job", BASE, new)
    assert plan.action == action
    assert plan.replaces == replaces
    assert plan.delete_before_replace is (action == "replace")
    assert {c.path for c in plan.changes} == set(reasons)
    for change in plan.changes:
        assert reasons[change.path] in change.reason
        assert change.path in change.reason


def test_change_carries_old_and_new_values() -> None:
    plan = planner.plan("Job", BASE, edit(BASE, "DAG.Tasks.task0.AutoCluster.InstanceType", "bcs.a2.xlarge"))
    (change,) = plan.changes
    assert (change.old, change.new, change.action) == ("bcs.a2.large", "bcs.a2.xlarge", "replace")


def test_triggers_change_replaces_even_with_same_spec() -> None:
    plan = planner.plan("Job", {**BASE, "triggers": {"rev": "1"}}, {**BASE, "triggers": {"rev": "2"}})
    assert plan.action == "replace" and plan.replaces == ("triggers",)


def test_create_and_delete() -> None:
    assert planner.plan("Job", None, BASE).action == "create"
    assert planner.plan("Job", BASE, None).action == "delete"
    assert planner.plan("Cluster", None, cluster()).action == "create"


CLUSTER_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("same, reordered", reorder(cluster()), "same", ()),
    ("group size", edit(cluster(), "Groups.group1.DesiredVMCount", 3), "update", ()),
    (
        "spot",
        edit(
            edit(cluster(), "Groups.group1.SpotStrategy", "SpotAsPriceGo"),
            "Groups.group1.SpotPriceLimit",
            0.5,
        ),
        "update",
        (),
    ),
    ("user data", edit(cluster(), "UserData", {"k": "v"}), "update", ()),
    ("env vars", edit(cluster(), "EnvVars", {"A": "1"}), "update", ()),
    ("image", edit(cluster(), "ImageId", "img-centos"), "replace", ("ImageId",)),
    ("name", edit(cluster(), "Name", "pool2"), "replace", ("Name",)),
    ("instance type", edit(cluster(), "InstanceType", "bcs.a2.xlarge"), "replace", ("InstanceType",)),
    ("group added", edit(cluster(), "Groups.group2", {"DesiredVMCount": 1}), "replace", ("Groups",)),
    ("group type", edit(cluster(), "Groups.group1.InstanceType", "bcs.a2.xlarge"), "replace", ("Groups",)),
]


@pytest.mark.parametrize(
    ("label", "new", "action", "replaces"), CLUSTER_CASES, ids=[c[0] for c in CLUSTER_CASES]
)
def test_cluster_change_table(label: str, new: dict, action: str, replaces: tuple) -> None:
    plan = planner.plan("Cluster", cluster(), new)
    assert (plan.action, plan.replaces) == (action, replaces)
    assert plan.delete_before_replace is False  # clusters: create-before-delete
    assert all(c.path in c.reason for c in plan.changes)
