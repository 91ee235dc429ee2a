"""The lifecycle tables: which changed path may be applied in place, and which forces a replacement.

Decisions are data. A BatchCompute DAG cannot change after submission, so the Job table is an
allowlist (as Nomad's ``annotateTask``): a path not listed replaces the job. A field added to the
API later therefore gets the safe action until someone lists it here on purpose.

Keys are dotted wire paths (PascalCase, as in a YAML spec) or provider-only input names; ``*``
matches any one segment (a group or task name). A rule covers its path and everything under it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Rule = Literal["update", "replace"]
UPDATE: Rule = "update"
REPLACE: Rule = "replace"

JOB_LIFECYCLE: Mapping[str, Rule] = {
    "Priority": UPDATE,
    "Description": UPDATE,  # PATCH /jobs/{id} extension
    "Notification": UPDATE,  # PATCH /jobs/{id} extension
    "wait_for": UPDATE,  # provider-only: how long `up` waits; nothing to send
    "on_failure": UPDATE,  # provider-only: a policy for the next `up`; nothing to send
    "triggers": REPLACE,  # provider-only: the whole point is to re-run the job
}
"""Job paths that do not replace the job. Anything else (the DAG, Name, Type, ...) replaces it."""

CLUSTER_LIFECYCLE: Mapping[str, Rule] = {
    "Groups.*.DesiredVMCount": UPDATE,
    "Groups.*.SpotStrategy": UPDATE,
    "Groups.*.SpotPriceLimit": UPDATE,
    "UserData": UPDATE,
    "EnvVars": UPDATE,
}
"""Cluster paths ModifyCluster can change. Name, ImageId, InstanceType, Configs, adding or removing
a group, and anything unlisted replace the cluster (create-before-delete)."""

JOB_DELETE_BEFORE_REPLACE = True
"""Two runs of one job must never overlap: the old job is stopped and deleted first."""

CLUSTER_DELETE_BEFORE_REPLACE = False
"""A replacement cluster comes up before the old one goes, so jobs can move over."""


def _matches(pattern: tuple[str, ...], segments: tuple[str, ...]) -> bool:
    if len(pattern) > len(segments):
        return False
    return all(p == "*" or p == s for p, s in zip(pattern, segments, strict=False))


def covering(table: Mapping[str, Rule], segments: tuple[str, ...]) -> tuple[Rule, int]:
    """The rule of the most specific table entry covering ``segments`` and that entry's depth
    (how many leading segments it names); ``(REPLACE, 0)`` when none does. The depth tells an
    in-place update which subtree to send: ``Groups.g1.DesiredVMCount`` or the whole ``UserData``."""
    best: tuple[Rule, int] = (REPLACE, 0)
    for key, rule in table.items():
        pattern = tuple(key.split("."))
        if _matches(pattern, segments) and len(pattern) > best[1]:
            best = (rule, len(pattern))
    return best


def classify(table: Mapping[str, Rule], segments: tuple[str, ...]) -> Rule:
    """The rule of the most specific table entry covering ``segments``; REPLACE when none does."""
    return covering(table, segments)[0]
