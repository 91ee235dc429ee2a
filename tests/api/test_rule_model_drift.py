"""The rule tables (api/rules) and the pydantic models (api/models) describe the same bodies.

Why: a key the model knows but no rule checks is stored with any JSON type and then breaks every
read that renders it (issue 10: a cluster's ``InputMappingConfig`` sent as a string made
GetCluster answer 500). Walking both trees side by side makes such drift a test failure: same
wire names at every level, the same types (scalars, objects, maps and lists, down to their
items), a key is required by both or by neither.

Defaults have one home: the models (the rule rows hold none), and the parsed model is the normal
form that is stored. A default must still be a value the rules accept for that key (a model must
not invent what the API would refuse), which the walk checks here.
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
from api.rules.field import Field
from api.rules.job import JOB
from api.rules.walk import walk_value

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
    """``X | None`` and ``Annotated[X, …]`` (``OrderFree``, ``Omittable``) -> ``X``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
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
        before = len(problems)
        _compare(info.annotation, child, here, problems)
        if len(problems) == before and not info.is_required() and info.default is not None:
            _check_default(info.default, child, here, problems)
    for wire in set(by_wire) - wires:
        problems.append(f"{where}.{wire}: rule row, not in {model.__name__}")


def _check_default(default: Any, row: Field, where: str, problems: list[str]) -> None:
    """A model default must pass its rule row (``""`` where "" means absent is exempt)."""
    wire = default.model_dump(by_alias=True) if isinstance(default, BaseModel) else default
    if row.empty_is_absent and wire == "":
        return
    refused = next(walk_value(wire, row, row.wire, where), None)
    if refused is not None:
        problems.append(f"{where}: model default {wire!r} breaks its rule ({refused.code})")


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
IMC = "DAG.Tasks.*.Parameters.InputMappingConfig"


@pytest.mark.parametrize(
    ("pair", "path", "change", "problem"),
    [
        (J, ("Priority",), {"range": (1, 9)}, "Priority: model default 0 breaks its rule (InvalidPriority)"),
        (J, ("DAG", "Tasks", "*", "Parameters", "InputMappingConfig", "Locale"), {"choices": ("UTF-8",)},
         f"{IMC}.Locale: model default 'GBK' breaks its rule (InvalidLocale)"),
        (J, ("Name",), {"required": False}, f"Name: required by the model, {OPT} rules"),
        (J, ("Description",), {"required": True}, f"Description: required by the rules, {OPT} model"),
        (J, ("Priority",), {"kind": "string"}, "Priority: model <class 'int'>, rule string"),
        (J, ("DAG", "Tasks"), {"kind": "array"}, "DAG.Tasks: model dict, rule array"),
        (C, ("Groups", "*", "DesiredVMCount"), {"kind": "number"},
         "Groups.*.DesiredVMCount: model <class 'int'>, rule number"),
    ],
    ids=["default", "nested-default", "model-required", "rule-required", "scalar", "container", "in-map"],
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
