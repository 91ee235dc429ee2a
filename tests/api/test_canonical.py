"""Specs that mean the same thing have equal normal forms (``.wire``); different ones do not."""

from __future__ import annotations

import copy
from typing import Any

from api import parse_cluster, parse_job


def _canon(body: dict[str, Any]) -> dict[str, Any]:
    return parse_job(body).wire


def test_defaults_spelled_out_or_omitted(job: dict[str, Any]) -> None:
    spelled = copy.deepcopy(job)
    spelled.update(Description="", AutoRelease=False, Priority=1)
    task = spelled["DAG"]["Tasks"]["taskA"]
    task.update(Timeout=86400, MaxRetryCount=0, InputMapping={}, OutputMapping={}, LogMapping={})
    task["Parameters"].update(
        StdoutRedirectPath="", StderrRedirectPath="", InputMappingConfig={"Locale": "GBK", "Lock": False}
    )
    task["Parameters"]["Command"].update(PackagePath="", EnvVars={}, Docker={"Image": ""})
    spelled["DAG"]["Dependencies"] = {}
    task["AutoCluster"] = {}
    assert _canon(spelled) == _canon(job)


def test_key_order_and_order_free_lists(job: dict[str, Any]) -> None:
    tasks = job["DAG"]["Tasks"]
    tasks["b"] = copy.deepcopy(tasks["taskA"])
    tasks["c"] = copy.deepcopy(tasks["taskA"])
    job["DAG"]["Dependencies"] = {"taskA": ["b", "c"]}
    job["Notification"] = {
        "Topic": {"Name": "t", "Endpoint": "e", "Events": ["OnJobFailed", "OnJobFinished"]}
    }
    other = copy.deepcopy(job)
    other["DAG"]["Dependencies"] = {"taskA": ["c", "b"]}
    other["Notification"]["Topic"]["Events"].reverse()
    other["DAG"]["Tasks"] = dict(reversed(list(other["DAG"]["Tasks"].items())))
    assert _canon(other) == _canon(job)


def test_a_real_change_is_visible(job: dict[str, Any]) -> None:
    changed = copy.deepcopy(job)
    changed["DAG"]["Tasks"]["taskA"]["Parameters"]["Command"]["CommandLine"] = "python other.py"
    assert _canon(changed) != _canon(job)
    changed = copy.deepcopy(job)
    changed["DAG"]["Tasks"]["taskA"]["Timeout"] = 3600
    assert _canon(changed) != _canon(job)


def test_unknown_keys_survive(job: dict[str, Any]) -> None:
    job["DAG"]["Tasks"]["taskA"]["Extra"] = {"z": 1}
    assert _canon(job)["DAG"]["Tasks"]["taskA"]["Extra"] == {"z": 1}


def test_canonical_is_stable_through_the_wire(seed_job: dict[str, Any]) -> None:
    first = _canon(seed_job)
    assert _canon(copy.deepcopy(first)) == first


def test_cluster(cluster: dict[str, Any]) -> None:
    spelled = copy.deepcopy(cluster)
    spelled.update(UserData={}, EnvVars={}, InputMapping={}, Bootstrap="", InstanceType="")
    spelled["Notification"]["Topic"]["Events"].reverse()
    assert parse_cluster(spelled).wire == parse_cluster(cluster).wire
