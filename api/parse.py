"""The two modes over one rule set: ``parse_*`` (first error, raised) and ``check_*`` (all errors).

Pipeline: raw bytes -> ``parse_json_body`` -> JSON value -> the schema walk of ``api.rules``
(the only place rules live) -> pydantic model for typed access. The model is built only after
the walk found nothing, so a model never sees an input the API would reject.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from api.errors import ApiError, error
from api.models.cluster import ClusterDescription, ModifyClusterDescription
from api.models.job import JobDescription, JobUpdate
from api.rules.cluster import CLUSTER, JOB_UPDATE, MODIFY_CLUSTER, PRIORITY
from api.rules.field import Field
from api.rules.job import JOB
from api.rules.walk import walk_object

M = TypeVar("M", bound=BaseModel)

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


#: deepest nesting of objects/arrays a body may have (the top-level object is depth 1). The
#: deepest SDK body (a task's Mounts entries, Configs.Networks lists) nests ~9 levels; unknown
#: keys are stored verbatim, and past ~250 levels pydantic and the JSON renderer give up on
#: reads (500 forever), past ~950 Python's recursion limit is reached: 64 keeps a wide margin.
MAX_JSON_DEPTH = 64


def parse_json_body(raw: bytes) -> object:
    """Decode a request body; ``InvalidJsonFormat`` when it is not JSON (an empty body is not).

    The decoded value is then checked as a whole (``check_json_value``), so that nothing is ever
    stored that cannot be rendered back: every read of a stored body must answer 200.
    """
    try:
        encoding = json.detect_encoding(raw)
        if encoding.startswith("utf-8"):
            # invalid UTF-8 bytes become lone surrogates (surrogateescape), so that
            # check_json_value can name the key or value they sit in instead of the whole body
            value = json.loads(raw.decode(encoding, "surrogateescape"))
        else:
            value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise error("json_format") from None
    check_json_value(value)
    return value


def _show(key: str) -> str:
    """A key as it can be printed in a path: lone surrogates and NUL escaped (``\\ud800``)."""
    if key.isascii() and "\x00" not in key:
        return key
    return key.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _string_ok(s: str) -> bool:
    if "\x00" in s:
        return False
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:  # a lone UTF-16 surrogate (JSON "\\ud800" or WTF-8 bytes)
        return False
    return True


#: where a value sits: (where its parent sits, its key or index), ``None`` for the body itself;
#: the printable path is only built for a value that is refused
_Where = tuple["_Where", str | int] | None


def _path(where: _Where) -> str:
    """The property path of ``where`` (``Tasks.a.0``), as the API names it in errors."""
    steps: list[str | int] = []
    while where is not None:
        where, step = where
        steps.append(step)
    path = ""
    for step in reversed(steps):
        shown = _show(step) if isinstance(step, str) else str(step)
        path = f"{path}.{shown}" if path else shown
    return path


def check_json_value(value: object) -> None:
    """Refuse what decodes as JSON but cannot be stored and rendered back, naming its path.

    * a string (value or key) with a lone surrogate or NUL: pydantic and the UTF-8 encoder of
      every response refuse it, and PostgreSQL cannot store NUL (``InvalidString``);
    * ``NaN``/``Infinity``/``1e400``: JSON has no spelling for them, so no response can carry
      them back (``InvalidNumber``);
    * nesting deeper than ``MAX_JSON_DEPTH`` (``InvalidJsonDepth``).

    One pass over the body, before the rule walk, so it holds for unknown keys too, which the
    rules keep verbatim. Depth first in document order, an object's keys before its values, so
    the first culprit is named; the recursion stops at ``MAX_JSON_DEPTH`` + 1 levels, far
    below Python's limit, and a path is only spelled out for a refused value.
    """
    _check(value, None, 1)


def _check(item: object, where: _Where, depth: int) -> None:
    if isinstance(item, str):
        if not _string_ok(item):
            path = _path(where)
            raise error("json_string", path, param=path or "HttpBody")
    elif isinstance(item, float):
        if not math.isfinite(item):
            path = _path(where)
            raise error("json_number", path, param=path or "HttpBody")
    elif isinstance(item, dict | list):
        if depth > MAX_JSON_DEPTH:
            path = _path(where)
            raise error("json_depth", path, max=MAX_JSON_DEPTH, at=path or "HttpBody")
        steps: Iterable[tuple[str | int, object]]
        if isinstance(item, dict):
            for key in item:
                if not _string_ok(key):
                    path = _path((where, key))
                    raise error("json_string", path, param=path)
            steps = item.items()
        else:
            steps = enumerate(item)
        for step, child in steps:
            if isinstance(child, str | float | dict | list):
                _check(child, (where, step), depth + 1)


def _errors(body: object, schema: Field) -> Iterator[ApiError]:
    if not isinstance(body, dict):
        yield error("http_body")
        return
    yield from walk_object(body, schema, "", "")


def _first(body: object, schema: Field) -> None:
    first = next(_errors(body, schema), None)
    if first is not None:
        raise first


def _build(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError:  # the walk accepted what the model refuses: a bug, never shown raw
        raise error("internal_error") from None


def parse_job(body: object) -> JobDescription:
    """The CreateJob body as a model, or the first error in the API's order of checks."""
    _first(body, JOB)
    return _build(JobDescription, body)


def check_job(body: object) -> list[ApiError]:
    """Every error of a CreateJob body, each with its property path (``[]`` when valid)."""
    return list(_errors(body, JOB))


def parse_cluster(body: object) -> ClusterDescription:
    """The CreateCluster body as a model, or the first error."""
    _first(body, CLUSTER)
    return _build(ClusterDescription, body)


def check_cluster(body: object) -> list[ApiError]:
    """Every error of a CreateCluster body, each with its property path."""
    return list(_errors(body, CLUSTER))


def parse_modify_cluster(body: object) -> ModifyClusterDescription:
    """The partial body of ``PUT /clusters/{id}``; every key is optional (reference §12 #36)."""
    _first(body, MODIFY_CLUSTER)
    return _build(ModifyClusterDescription, body)


def parse_priority(body: object) -> int:
    """The body of ``PUT /jobs/{id}``: ``{"Priority": 0..1000}`` (MissingPriority, InvalidPriority)."""
    _first(body, PRIORITY)
    assert isinstance(body, dict)
    return int(body["Priority"])


def parse_job_update(body: object) -> JobUpdate:
    """The body of the ``PATCH /jobs/{id}`` extension: any of Priority, Description, Notification."""
    _first(body, JOB_UPDATE)
    return _build(JobUpdate, body)


def check_idempotent_token(token: str) -> None:
    """Raise ``InvalidIdempotentToken`` unless ``token`` is 1-64 chars of ``[A-Za-z0-9_]``."""
    if _TOKEN_RE.match(token) is None:
        raise error("invalid_idempotent_token")
