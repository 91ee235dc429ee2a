"""The ModifyCluster body is built from the lifecycle table alone: what may change in place is
listed once (provider/lifecycle.py), and exactly that subtree of the new spec is sent."""

from __future__ import annotations

from typing import Any

import pytest

from provider import planner
from provider.cluster_provider import modify_body

BASE: dict[str, Any] = {
    "Name": "pool",
    "ImageId": "img-ubuntu",
    "InstanceType": "bcs.a2.large",
    "Groups": {"g1": {"DesiredVMCount": 1, "InstanceType": "bcs.a2.large"}},
    "UserData": {"a": "1"},
}


def _with(**changes: Any) -> dict[str, Any]:
    spec = {**BASE, **changes}
    return {k: v for k, v in spec.items() if v is not None}


@pytest.mark.parametrize(
    "new, body",
    [
        (
            _with(Groups={"g1": {"DesiredVMCount": 4, "InstanceType": "bcs.a2.large"}}),
            {"Groups": {"g1": {"DesiredVMCount": 4}}},
        ),
        (
            _with(Groups={"g1": {"DesiredVMCount": 1, "InstanceType": "bcs.a2.large",
                                 "ResourceType": "Spot", "SpotStrategy": "SpotWithPriceLimit",
                                 "SpotPriceLimit": 0.25}}),
            None,  # ResourceType is not in the table: the cluster is replaced, nothing is modified
        ),
        (_with(UserData={"a": "2", "b": "3"}), {"UserData": {"a": "2", "b": "3"}}),
        (_with(UserData=None), {"UserData": {}}),
        (_with(EnvVars={"MODE": "fast"}), {"EnvVars": {"MODE": "fast"}}),
    ],
    ids=["group-size", "resource-type-replaces", "user-data", "user-data-removed", "env-vars"],
)  # fmt: skip
def test_modify_body_sends_the_subtree_each_rule_covers(new: dict[str, Any], body: dict | None) -> None:
    plan = planner.plan("Cluster", BASE, new)
    if body is None:
        assert plan.action == "replace"
    else:
        assert plan.action == "update"
        assert modify_body(plan, new) == body
