"""``on_failure``: what the next `up` does with a job that ended Failed.

``keep`` (default) leaves it alone (nothing is called: diff stays free for unchanged stacks);
``restart`` plans an update whose ``update`` calls StartJob, so only unfinished instances run
again; ``replace`` plans a replacement, so the job is submitted afresh. The live state is read
from the service only for the two non-default policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider import config
from provider.client import BatchComputeClient
from provider.errors import ProviderError
from provider.planner import Change, Plan

RESTART = Change(
    "on_failure",
    "Failed",
    "restart",
    "update",
    "the job is Failed and on_failure=restart; StartJob runs its unfinished instances again",
)
"""The change ``restart`` adds to a Failed job's plan; ``update`` calls StartJob when it is there."""


def restarts(plan: Plan) -> bool:
    """True when ``update`` should StartJob: the plan holds :data:`RESTART`."""
    return RESTART in plan.changes


def _live_state(id_: str, olds: Mapping[str, Any]) -> str:
    if olds.get("released"):
        return "Finished"
    try:
        with BatchComputeClient(config.current()) as client:
            return str(client.get_job(id_).get("State", ""))
    except ProviderError:
        return str(olds.get("state", ""))  # offline preview: the last known state


def _failed_under(policy: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    return bool(id_) and (news.get("on_failure") or "keep") == policy and _live_state(id_, olds) == "Failed"


def apply(plan: Plan, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Plan:
    """The plan, extended by the ``on_failure`` policy when the live job is Failed."""
    policy = news.get("on_failure") or "keep"
    if policy == "keep" or plan.action not in ("same", "update"):
        return plan
    if not _failed_under(policy, id_, olds, news):
        return plan
    if policy == "restart":
        return Plan("update", (*plan.changes, RESTART), (), False)
    why = "the job is Failed and on_failure=replace; it is submitted again"
    change = Change("on_failure", "Failed", "replace", "replace", why)
    return Plan("replace", (*plan.changes, change), ("on_failure",), True)
