"""Reference §12 #10 as one table: which cluster takes effect, and whether a failure reserves VMs.

Job acceptance, the launcher and the provider's outputs read ``TaskDescription``'s properties;
the validator and the instance-type check read the raw-body twin in ``api.rules.dag`` (they run
before any model exists). These cases pin the rule both spell.
"""

from __future__ import annotations

from typing import Any

import pytest

from api import check_job, parse_job
from api.rules.dag import auto_cluster_taking_effect

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
def test_the_rule(
    seed_job: dict[str, Any], task: dict[str, Any], auto: dict[str, Any] | None, reserves: bool
) -> None:
    """The validated task and the raw body pick the same AutoCluster; only that one reserves."""
    assert auto_cluster_taking_effect(task) == auto
    spec = dict(seed_job["DAG"]["Tasks"]["taskA"])
    spec.pop("ClusterId", None)
    spec.pop("AutoCluster", None)
    body = {**seed_job, "DAG": {"Tasks": {"taskA": {**spec, **task}}}}
    assert list(check_job(body)) == []
    parsed = parse_job(body).dag.tasks["taskA"]
    taking = parsed.effective_auto_cluster
    assert (taking.model_dump(by_alias=True, exclude_unset=True) if taking else None) == auto
    assert parsed.reserves_on_fail is reserves
