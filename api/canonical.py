"""One spelling per meaning: the normal form the provider diffs and idempotent replays compare.

Two specs that mean the same job give equal dicts: documented defaults are spelled out, an
absent optional object equals an empty one (``Docker: {"Image": ""}`` is no container,
``AutoCluster: {}`` beside a ClusterId is no AutoCluster, an empty Topic is no notification),
and lists whose order carries no meaning (Events, Dependencies targets, allow lists, NAS lists)
are sorted. Unknown keys are kept as sent. It reads the same schema rows as the validator.
"""

from __future__ import annotations

from typing import Any

from api.models.cluster import ClusterDescription
from api.models.job import JobDescription
from api.rules.cluster import CLUSTER
from api.rules.field import ABSENT, Field
from api.rules.job import JOB


def _sort_key(item: Any) -> tuple[str, str]:
    return (type(item).__name__, repr(item))


def _value(value: Any, f: Field) -> Any:
    kind = f.kind
    if kind == "object":
        return _object(value, f) if isinstance(value, dict) else value
    if kind == "map":
        if not isinstance(value, dict) or f.value is None:
            return value
        inner = f.value
        if inner.kind == "object":
            return {k: _object(v, inner) if isinstance(v, dict) else v for k, v in value.items()}
        return {k: _value(v, inner) for k, v in value.items()}
    if kind == "array" and isinstance(value, list):
        items = [_value(v, f.items) for v in value] if f.items is not None else list(value)
        if f.unordered:
            items.sort(key=_sort_key)
        return items
    return value


def _object(data: dict[str, Any], schema: Field) -> dict[str, Any]:
    out = dict(data)
    for f in schema.fields:
        wire = f.wire
        if wire in out and not (f.empty_is_absent and out[wire] == ""):
            out[wire] = _value(out[wire], f)
        elif f.default is not ABSENT:
            out[wire] = _value(_fresh(f.default), f)
        else:
            continue
        if f.kind == "object" and f.default is ABSENT and not f.required and out[wire] == _empty(f):
            del out[wire]
    return out


def _fresh(default: Any) -> Any:
    if isinstance(default, dict | list):
        return type(default)()
    return default


_EMPTY: dict[int, dict[str, Any]] = {}


def _empty(f: Field) -> dict[str, Any]:
    """The normal form of ``{}`` under ``f``: an absent object means exactly this (memoised;
    schema rows live for the whole process)."""
    found = _EMPTY.get(id(f))
    if found is None:
        found = _EMPTY[id(f)] = _object({}, f)
    return found


def canonical_job(job: JobDescription) -> dict[str, Any]:
    """The wire-keyed normal form of a job spec (see the module docstring)."""
    return _object(job.model_dump(by_alias=True), JOB)


def canonical_cluster(cluster: ClusterDescription) -> dict[str, Any]:
    """The wire-keyed normal form of a cluster spec."""
    return _object(cluster.model_dump(by_alias=True), CLUSTER)
