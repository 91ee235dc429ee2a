"""The rule tables (api/rules) and the pydantic models (api/models) name the same fields.

Why: a key the model knows but no rule checks is stored with any JSON type and then breaks every
read that renders it (issue 10: a cluster's ``InputMappingConfig`` sent as a string made
GetCluster answer 500). Walking both trees side by side makes such drift a test failure: same
wire names at every level, matching kinds, a key is required by both or by neither, and a default
the model spells out is the rule's default.

Defaults have two levels on purpose: a model attribute left ``None`` means "absent" (the wire
JSON is echoed as sent), and what an absent key means is the rule row's ``default``, which
``canonical_job`` spells out; so a model default is either ``None`` or exactly the rule's.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from api.models.cluster import ClusterDescription, ModifyClusterDescription
from api.models.job import JobDescription, JobUpdate
from api.rules.cluster import CLUSTER, JOB_UPDATE, MODIFY_CLUSTER
from api.rules.field import ABSENT, Field
from api.rules.job import JOB

PAIRS = [
    (JobDescription, JOB),
    (ClusterDescription, CLUSTER),
    (ModifyClusterDescription, MODIFY_CLUSTER),
    (JobUpdate, JOB_UPDATE),
]

_SCALARS: dict[type, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}

#: rule-required keys whose model is shared with a body where the key is optional (with why)
SHARED_OPTIONAL: dict[str, str] = {
    "Groups.*.DesiredVMCount": "GroupDescription also parses ModifyCluster groups, where it may be omitted",
}


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        assert len(args) == 1, annotation
        return args[0]
    return annotation


def _compare(annotation: Any, row: Field, where: str, problems: list[str]) -> None:
    """Append to ``problems`` every way the type ``annotation`` and the rule ``row`` disagree."""
    ann = _unwrap(annotation)
    origin = typing.get_origin(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        if row.kind != "object":
            problems.append(f"{where}: model object, rule {row.kind}")
            return
        _compare_model(ann, row, where, problems)
    elif origin is dict:
        if row.kind != "map":
            problems.append(f"{where}: model dict, rule {row.kind}")
        elif row.value is not None:
            _compare(typing.get_args(ann)[1], row.value, f"{where}.*", problems)
    elif origin is list:
        if row.kind != "array":
            problems.append(f"{where}: model list, rule {row.kind}")
        elif row.items is not None:
            _compare(typing.get_args(ann)[0], row.items, f"{where}.*", problems)
    elif _SCALARS.get(ann) != row.kind:
        problems.append(f"{where}: model {ann}, rule {row.kind}")


def _compare_model(model: type[BaseModel], row: Field, where: str, problems: list[str]) -> None:
    by_wire = {f.wire: f for f in row.fields}
    wires = set()
    for name, info in model.model_fields.items():
        wire = info.alias or name
        wires.add(wire)
        here = f"{where}.{wire}" if where else wire
        child = by_wire.get(wire)
        if child is None:
            problems.append(f"{here}: in {model.__name__}, no rule row")
            continue
        if info.is_required() and not child.required:
            problems.append(f"{here}: required by the model, optional in the rules")
        if child.required and not info.is_required() and here not in SHARED_OPTIONAL:
            problems.append(f"{here}: required by the rules, optional in the model")
        if not info.is_required() and info.default is not None and info.default != child.default:
            problems.append(f"{here}: model default {info.default!r}, rule default {child.default!r}")
        _compare(info.annotation, child, here, problems)
    for wire in set(by_wire) - wires:
        problems.append(f"{where}.{wire}: rule row, not in {model.__name__}")


@pytest.mark.parametrize(("model", "schema"), PAIRS, ids=[m.__name__ for m, _ in PAIRS])
def test_rules_and_models_name_the_same_fields(model: type[BaseModel], schema: Field) -> None:
    problems: list[str] = []
    _compare_model(model, schema, "", problems)
    assert problems == []


def test_the_comparison_sees_a_missing_row() -> None:
    """The checker itself: a model field without a rule row is reported (what issue 10 found)."""
    trimmed = Field(
        "HttpBody", "object", fields=tuple(f for f in CLUSTER.fields if f.wire != "InputMappingConfig")
    )
    problems: list[str] = []
    _compare_model(ClusterDescription, trimmed, "", problems)
    assert problems == ["InputMappingConfig: in ClusterDescription, no rule row"]


def _with(schema: Field, path: tuple[str, ...], **change: Any) -> Field:
    """``schema`` with the row at ``path`` (wire names; ``*`` = a map's value) changed."""
    if not path:
        return dataclasses.replace(schema, **change)
    if path[0] == "*":
        assert schema.value is not None
        return dataclasses.replace(schema, value=_with(schema.value, path[1:], **change))
    fields = tuple(_with(f, path[1:], **change) if f.wire == path[0] else f for f in schema.fields)
    return dataclasses.replace(schema, fields=fields)


J = (JobDescription, JOB)
C = (ClusterDescription, CLUSTER)
OPT = "optional in the"


@pytest.mark.parametrize(
    ("pair", "path", "change", "problem"),
    [
        (J, ("Priority",), {"default": 5}, "Priority: model default 0, rule default 5"),
        (J, ("Priority",), {"default": ABSENT}, "Priority: model default 0, rule default ABSENT"),
        (J, ("Name",), {"required": False}, f"Name: required by the model, {OPT} rules"),
        (J, ("Description",), {"required": True}, f"Description: required by the rules, {OPT} model"),
        (J, ("Priority",), {"kind": "string"}, "Priority: model <class 'int'>, rule string"),
        (J, ("DAG", "Tasks"), {"kind": "array"}, "DAG.Tasks: model dict, rule array"),
        (C, ("Groups", "*", "DesiredVMCount"), {"kind": "number"},
         "Groups.*.DesiredVMCount: model <class 'int'>, rule number"),
    ],
    ids=["default", "default-absent", "model-required", "rule-required", "scalar", "container", "in-map"],
)  # fmt: skip
def test_the_comparison_sees_each_kind_of_drift(
    pair: tuple[type[BaseModel], Field], path: tuple[str, ...], change: dict[str, Any], problem: str
) -> None:
    """The checker itself: one changed rule row gives exactly the one problem it should."""
    model, schema = pair
    problems: list[str] = []
    _compare_model(model, _with(schema, path, **change), "", problems)
    assert problems == [problem]


def test_every_shared_optional_key_is_still_rule_required() -> None:
    """An entry of ``SHARED_OPTIONAL`` that no longer applies is removed, not kept as a blind spot."""
    for where in SHARED_OPTIONAL:
        row = CLUSTER
        for part in where.split("."):
            found = row.value if part == "*" else next(f for f in row.fields if f.wire == part)
            assert found is not None, where
            row = found
        assert row.required, where
