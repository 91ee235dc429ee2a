"""Walk a raw JSON value over a ``Field`` schema and yield every rule it breaks, in check order.

The generator is the whole validator: the service takes its first item (what the API answers),
the provider's ``check`` takes all of them. Children of a value with the wrong type are not
visited, and an object's cross-key ``checks`` run only when its own keys passed (or, for a
``CheckAfter``, the keys it names), so every yielded error is about the input as written, never a
consequence of an earlier one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from api.errors import ApiError, error
from api.rules.field import FORM_RULES, FORMS, NAME_RE, TYPE_NAMES, CheckAfter, Field, child_param


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return not isinstance(value, float) or math.isfinite(value)
    if kind in ("object", "map"):
        return isinstance(value, dict)
    return isinstance(value, list)


def _decimals(value: int | float) -> int:
    exponent = Decimal(repr(value)).as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


_SCALARS = frozenset({"string", "integer", "boolean", "number"})


def walk_object(data: dict[str, Any], schema: Field, param: str, path: str) -> Iterator[ApiError]:
    """Errors of the keys ``schema.fields`` of the object ``data``, then of its cross-key checks."""
    failed: list[str] = []
    for f in schema.fields:
        wire = f.wire
        if wire not in data or (f.empty_is_absent and data[wire] == ""):
            if f.required:
                failed.append(wire)
                yield error(
                    "missing", f"{path}.{wire}" if path else wire, param=child_param(schema, param, f)
                )
            continue
        value = data[wire]
        if f.kind in _SCALARS:
            # hot path: plain call, names built only when something is wrong
            err = scalar_error(value, f, schema, param, path)
            if err is not None:
                failed.append(wire)
                yield err
            continue
        for err in walk_value(value, f, child_param(schema, param, f), f"{path}.{wire}" if path else wire):
            failed.append(wire)
            yield err
    for check in schema.checks:
        if isinstance(check, CheckAfter):
            if not any(wire in check.needs for wire in failed):
                yield from check.check(data, param, path)
        elif not failed:
            yield from check(data, param, path)


def scalar_error(value: Any, f: Field, parent: Field, parent_param: str, parent_path: str) -> ApiError | None:
    """The first error of a scalar key of ``parent``, or ``None`` (no generator: the common case)."""
    if (
        _has_kind(value, f.kind)
        and (f.choices is None or value in f.choices)
        and (f.kind != "string" or _string_ok(value, f))
        and (f.range is None or f.range[0] <= value <= f.range[1])
        and (f.decimals is None or _decimals(value) <= f.decimals)
    ):
        return None
    path = f"{parent_path}.{f.wire}" if parent_path else f.wire
    return next(walk_value(value, f, child_param(parent, parent_param, f), path))


def _string_ok(value: str, f: Field) -> bool:
    if f.length is not None and not f.length[0] <= len(value) <= f.length[1]:
        return False
    if f.charset is not None and NAME_RE.match(value) is None:
        return False
    return f.form is None or (f.allow_empty and value == "") or FORMS[f.form](value)


def _walk_string(value: str, f: Field, param: str, path: str) -> Iterator[ApiError]:
    if f.length is not None and not f.length[0] <= len(value) <= f.length[1]:
        yield error("length", path, param=param, min=f.length[0], max=f.length[1])
        return
    if f.charset is not None and NAME_RE.match(value) is None:
        yield error(f.charset, path, param=param)
        return
    if f.form is not None and not (f.allow_empty and value == "") and not FORMS[f.form](value):
        yield error(FORM_RULES[f.form], path, param=param)


def walk_value(value: Any, f: Field, param: str, path: str) -> Iterator[ApiError]:
    """Errors of one value against its row ``f``; ``param`` names it in codes and messages."""
    if not _has_kind(value, f.kind):
        yield error(f.type_rule, path, param=param, type=TYPE_NAMES[f.kind])
        return
    if f.choices is not None and value not in f.choices:
        yield error("generic", path, param=param)
        return
    if f.kind == "string":
        yield from _walk_string(value, f, param, path)
        return
    if f.range is not None and not f.range[0] <= value <= f.range[1]:
        yield error("range", path, param=param, min=f.range[0], max=f.range[1])
        return
    if f.decimals is not None and _decimals(value) > f.decimals:
        yield error("detail", path, param=param, detail=f"It can contain at most {f.decimals} decimals.")
        return
    if f.size is not None and not f.size[0] <= len(value) <= f.size[1]:
        yield error("size", path, param=param, min=f.size[0], max=f.size[1])
        return
    if f.kind == "object":
        yield from walk_object(value, f, param, path)
    elif f.kind == "map":
        yield from _walk_map(value, f, param, path)
    elif f.kind == "array" and f.items is not None:
        for i, item in enumerate(value):
            yield from walk_value(item, f.items, param, f"{path}.{i}")


def _walk_map(value: dict[str, Any], f: Field, param: str, path: str) -> Iterator[ApiError]:
    for key, item in value.items():
        kpath = f"{path}.{key}"
        if f.key is not None:
            key_errors = list(_walk_string(key, f.key, f"{param}.{key}", kpath))
            if key_errors:
                yield from key_errors
                continue
        if f.value is None:
            continue
        # objects under a map are named by their key (InvalidTasks.taskA: "Its type must be object");
        # plain values by key + ".value" (InvalidEnvVars.FOO.value), as the seed names them
        vparam = f"{param}.{key}" if f.value.kind == "object" else f"{param}.{key}.value"
        if f.value.kind == "object" and not isinstance(item, dict):
            yield error("type", kpath, param=vparam, type="object")
            continue
        if f.value.kind == "object":
            yield from walk_object(item, f.value, vparam if f.value.prefix else "", kpath)
        else:
            yield from walk_value(item, f.value, vparam, kpath)
