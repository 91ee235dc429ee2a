"""The rule tables (api/rules) and the pydantic models (api/models) name the same fields.

Why: a key the model knows but no rule checks is stored with any JSON type and then breaks every
read that renders it (issue 10: a cluster's ``InputMappingConfig`` sent as a string made
GetCluster answer 500). Walking both trees side by side makes such drift a test failure: same
wire names at every level, matching kinds, a model-required key is rule-required, and a default
the model spells out is the rule's default.
"""

from __future__ import annotations

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

PAIRS = [
    (JobDescription, JOB),
    (ClusterDescription, CLUSTER),
    (ModifyClusterDescription, MODIFY_CLUSTER),
    (JobUpdate, JOB_UPDATE),
]

_SCALARS: dict[type, str] = {str: "string", int: "integer", bool: "boolean", float: "number"}


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
