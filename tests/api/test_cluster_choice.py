"""Reference §12 #10 as one table: which cluster takes effect, and whether a failure reserves VMs.

The validator, the instance-type check, job acceptance, the launcher and the provider's outputs
all read ``api.cluster_choice``; these cases pin the rule they share.
"""

from __future__ import annotations

from typing import Any

import pytest

from api import check_job, effective_auto_cluster, effective_cluster, parse_job, reserves_on_fail

AUTO = {"InstanceType": "ecs.sn1.medium", "ImageId": "img-ubuntu", "ReserveOnFail": True}
KEEP_NONE = {**AUTO, "ReserveOnFail": False}
CLS = "cls-0123456789abcdefghijkl"

#: task keys -> (the AutoCluster that takes effect, reserves on fail)
CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, bool]] = [
    ("cluster-only", {"ClusterId": CLS}, None, False),
    ("both: ClusterId wins", {"ClusterId": CLS, "AutoCluster": AUTO}, None, False),
    ("empty ClusterId: AutoCluster", {"ClusterId": "", "AutoCluster": AUTO}, AUTO, True),
    ("auto-only", {"AutoCluster": AUTO}, AUTO, True),
    ("auto without ReserveOnFail", {"AutoCluster": KEEP_NONE}, KEEP_NONE, False),
    ("SDK's empty AutoCluster", {"ClusterId": CLS, "AutoCluster": {"InstanceType": ""}}, None, False),
]  # fmt: skip


@pytest.mark.parametrize(("task", "auto", "reserves"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_rule(task: dict[str, Any], auto: dict[str, Any] | None, reserves: bool) -> None:
    assert effective_auto_cluster(task) == auto
    assert reserves_on_fail(task) is reserves


@pytest.mark.parametrize(("task", "auto", "reserves"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_model_choice_agrees(
    seed_job: dict[str, Any], task: dict[str, Any], auto: Any, reserves: bool
) -> None:
    """The validated model picks the same side as the wire-level rule."""
    body = {**seed_job}
    spec = dict(body["DAG"]["Tasks"]["taskA"])
    spec.pop("ClusterId", None)
    spec.pop("AutoCluster", None)
    body["DAG"] = {**body["DAG"], "Tasks": {"taskA": {**spec, **task}}}
    body["DAG"].pop("Dependencies", None)
    assert list(check_job(body)) == []
    choice = effective_cluster(parse_job(body).dag.tasks["taskA"])
    assert (choice.auto_cluster is not None) == (auto is not None)
    assert (choice.cluster_id is not None) == (auto is None)
