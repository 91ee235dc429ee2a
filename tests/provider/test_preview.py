"""The preview placeholder's one home agrees with Pulumi and does what the planner relies on."""

from __future__ import annotations

from pulumi.runtime import rpc

from api.types import CLUSTER_ID_RE
from provider.preview import STAND_IN, UNKNOWN, has_unknown, swap


def test_the_placeholder_is_pulumis() -> None:
    assert UNKNOWN == rpc.UNKNOWN


def test_the_stand_in_is_a_valid_cluster_id() -> None:
    """So a task whose ClusterId is not known yet still parses and is compared field by field."""
    assert CLUSTER_ID_RE.match(STAND_IN)


def test_unknowns_are_found_at_any_depth_and_swapped_both_ways() -> None:
    spec = {"DAG": {"Tasks": {"a": {"ClusterId": UNKNOWN, "Mounts": {"Entries": [{"Source": "x"}]}}}}}
    assert has_unknown(spec)
    assert not has_unknown({"DAG": {"Tasks": {"a": {"ClusterId": "cls-1", "List": [1, "x"]}}}})
    stood_in = swap(spec, UNKNOWN, STAND_IN)
    assert not has_unknown(stood_in)
    assert swap(stood_in, STAND_IN, UNKNOWN) == spec
