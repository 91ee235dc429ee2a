"""The two modes over one rule set: ``parse_*`` (first error, raised) and ``check_*`` (all errors).

Pipeline: raw bytes -> ``parse_json_body`` -> JSON value -> the schema walk of ``api.rules``
(the only place rules live) -> pydantic model for typed access. The model is built only after
the walk found nothing, so a model never sees an input the API would reject.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
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


def parse_json_body(raw: bytes) -> object:
    """Decode a request body; ``InvalidJsonFormat`` when it is not JSON (an empty body is not)."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise error("json_format") from None


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
