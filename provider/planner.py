"""THE planner: what `up` would do to one Job or Cluster, as plain values.

Pipeline (each step produces values, no I/O)::

    wire spec (old, new) --split--> API part + provider-only keys (triggers, on_failure, wait_for)
        --canonical--> api.parse_job / parse_cluster(...).wire (defaults filled, order-free lists sorted)
        --equal / hash--> equal?  -> Plan("same")    (cheap: most specs in a stack did not change)
        --prune--> equal subtrees (unchanged tasks, ...) dropped, so only changed parts reach deepdiff
        --deepdiff--> dotted wire paths (``DAG.Tasks.taskA.AutoCluster.InstanceType``)
        --lifecycle table--> Change(path, old, new, action, reason) --> Plan

The Pulumi ``DiffResult`` and the pull-request preview are both built from a :class:`Plan`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff

from provider import lifecycle
from provider.lifecycle import REPLACE, UPDATE, Rule
from provider.preview import STAND_IN, UNKNOWN, swap

__all__ = [
    "Action",
    "Change",
    "Plan",
    "PROVIDER_ONLY_KEYS",
    "canonical_cluster_spec",
    "canonical_job_spec",
    "plan_cluster",
    "plan_job",
    "spec_hash",
]

Action = Literal["same", "create", "update", "replace", "delete"]

PROVIDER_ONLY_KEYS: tuple[str, ...] = ("triggers", "on_failure", "wait_for")
"""Job inputs that never reach the API; they are compared as they are."""

_ON_FAILURE_DEFAULT = "keep"


@dataclass(frozen=True)
class Change:
    """One changed path, the action it needs, and a sentence saying why."""

    path: str
    old: Any
    new: Any
    action: Literal["update", "replace"]
    reason: str


@dataclass(frozen=True)
class Plan:
    """What to do with one resource. ``replaces`` holds top-level input property names."""

    action: Action
    changes: tuple[Change, ...]
    replaces: tuple[str, ...]
    delete_before_replace: bool


_ABSENT = object()


def spec_hash(value: Any) -> str:
    """A stable digest of a JSON-like value (key order does not matter)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _api_part(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in PROVIDER_ONLY_KEYS}


def canonical_job_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The job's API part in the normal form of ``api.parse_job`` (``.wire``).

    A spec the API rejects (check reports it; during preview a non-string value may still be
    unknown) is compared as written, so the planner never fails where ``check`` already explains
    why. Unknown strings stay unknown in the result.
    """
    import api

    body = _api_part(spec)
    try:
        return swap(api.parse_job(swap(body, UNKNOWN, STAND_IN)).wire, STAND_IN, UNKNOWN)
    except api.ApiError:
        return body


def canonical_cluster_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The cluster spec in the normal form of ``api.parse_cluster`` (as written when the API rejects it)."""
    import api

    body = dict(spec)
    try:
        return api.parse_cluster(body).wire
    except api.ApiError:
        return body


def _segments(level: Any) -> tuple[str, ...]:
    """A deepdiff path as wire segments, cut at the first list index: a list changes as a whole."""
    out: list[str] = []
    for part in level.path(output_format="list"):
        if isinstance(part, int):
            break
        out.append(str(part))
    return tuple(out)


def _lookup(doc: Any, segments: tuple[str, ...]) -> Any:
    for seg in segments:
        if not isinstance(doc, Mapping) or seg not in doc:
            return _ABSENT
        doc = doc[seg]
    return doc


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _prune(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both documents cut down to the keys whose values differ, descending through mappings.

    Equal subtrees (most tasks of a changed job) drop out here at C speed, so deepdiff, whose
    fixed cost is high, only ever sees the parts that changed.
    """
    po: dict[str, Any] = {}
    pn: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if _same(a, b):
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            po[key], pn[key] = _prune(a, b)
            continue
        if a is not _ABSENT:
            po[key] = a
        if b is not _ABSENT:
            pn[key] = b
    return po, pn


def _changed_paths(old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[tuple[str, ...]]:
    """Changed wire paths of two canonical specs: pruned to what differs, then deepdiff."""
    yield from _deep_paths(*_prune(old, new))


def _deep_paths(old: Any, new: Any) -> Iterator[tuple[str, ...]]:
    # threshold 0: always name the deepest changed key, even when the pruned dicts share none
    tree = DeepDiff(old, new, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    seen: set[tuple[str, ...]] = set()
    for report in tree.values():
        for level in report:
            seg = _segments(level)
            if seg not in seen:
                seen.add(seg)
                yield seg


def _jsonable(value: Any) -> Any:
    return None if value is _ABSENT else value


def _what(path: str, old: Any, new: Any) -> str:
    """``path added`` / ``removed`` / ``changed``: the first half of every reason."""
    if old is _ABSENT:
        return f"{path} added"
    return f"{path} removed" if new is _ABSENT else f"{path} changed"


def _job_reason(path: str, segments: tuple[str, ...], old: Any, new: Any, rule: Rule) -> str:
    what = _what(path, old, new)
    if rule == UPDATE:
        return f"{what}; updated in place"
    if segments[0] == "triggers":
        return f"{what}; the job runs again"
    if segments[0] == "DAG":
        if len(segments) >= 5 and segments[3] == "AutoCluster":
            task, field = segments[2], ".".join(segments[4:])
            return f"{what}; a submitted DAG cannot change (AutoCluster field {field} of task {task})"
        return f"{what}; a submitted DAG cannot change"
    return f"{what}; {segments[0]} of a submitted job cannot change"


def _cluster_reason(path: str, segments: tuple[str, ...], old: Any, new: Any, rule: Rule) -> str:
    what = _what(path, old, new)
    if rule == UPDATE:
        return f"{what}; modified in place (ModifyCluster)"
    return f"{what}; the cluster is replaced (a new one is created before the old one is deleted)"


Reasoner = Callable[[str, tuple[str, ...], Any, Any, Rule], str]


def _changes(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    paths: Iterator[tuple[str, ...]],
    table: Mapping[str, Rule],
    reasoner: Reasoner,
) -> tuple[Change, ...]:
    out: list[Change] = []
    for segments in sorted(set(paths)):
        if not segments:
            continue
        before, after = _lookup(old, segments), _lookup(new, segments)
        rule = lifecycle.classify(table, segments)
        path = ".".join(segments)
        reason = reasoner(path, segments, before, after, rule)
        out.append(Change(path, _jsonable(before), _jsonable(after), rule, reason))
    return tuple(out)


def _plan(changes: tuple[Change, ...], delete_before_replace: bool) -> Plan:
    replaces = tuple(sorted({c.path.split(".", 1)[0] for c in changes if c.action == REPLACE}))
    if replaces:
        return Plan("replace", changes, replaces, delete_before_replace)
    if changes:
        return Plan("update", changes, (), False)
    return Plan("same", (), (), False)


def _provider_only(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: spec[k] for k in PROVIDER_ONLY_KEYS if spec.get(k) not in (None, {}, "")}
    if out.get("on_failure") == _ON_FAILURE_DEFAULT:
        del out["on_failure"]  # spelling the default out is not a change
    return out


def plan_job(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Plan:
    """Plan one Job from its previous and desired wire specs (``None``: absent).

    Priority, Description and Notification update in place; any other change to the API part
    replaces the job (delete-before-replace); ``triggers`` replaces; ``wait_for`` and
    ``on_failure`` are provider policy and update in place.
    """
    if old is None and new is None:
        return Plan("same", (), (), False)
    if old is None:
        return Plan("create", (), (), False)
    if new is None:
        return Plan("delete", (), (), False)
    if old == new:  # the common case: nothing was touched (deep equality, no canonical form needed)
        return Plan("same", (), (), False)
    old_extra, new_extra = _provider_only(old), _provider_only(new)
    old_api, new_api = canonical_job_spec(old), canonical_job_spec(new)
    api_paths: Iterator[tuple[str, ...]] = iter(())
    if spec_hash(old_api) != spec_hash(new_api):
        api_paths = _changed_paths(old_api, new_api)
    changes = _changes(old_api, new_api, api_paths, lifecycle.JOB_LIFECYCLE, _job_reason)
    extra = _changes(
        old_extra,
        new_extra,
        iter((k,) for k in PROVIDER_ONLY_KEYS if spec_hash(old_extra.get(k)) != spec_hash(new_extra.get(k))),
        lifecycle.JOB_LIFECYCLE,
        _job_reason,
    )
    return _plan(changes + extra, lifecycle.JOB_DELETE_BEFORE_REPLACE)


def plan_cluster(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Plan:
    """Plan one Cluster: group sizes, spot settings, UserData and EnvVars in place; the rest
    (Name, ImageId, InstanceType, Configs, adding or removing a group) replaces it, new first."""
    if old is None and new is None:
        return Plan("same", (), (), False)
    if old is None:
        return Plan("create", (), (), False)
    if new is None:
        return Plan("delete", (), (), False)
    if old == new:
        return Plan("same", (), (), False)
    old_c, new_c = canonical_cluster_spec(old), canonical_cluster_spec(new)
    paths = _changed_paths(old_c, new_c) if spec_hash(old_c) != spec_hash(new_c) else iter(())
    changes = _changes(old_c, new_c, paths, lifecycle.CLUSTER_LIFECYCLE, _cluster_reason)
    return _plan(changes, lifecycle.CLUSTER_DELETE_BEFORE_REPLACE)
