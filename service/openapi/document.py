"""Build the OpenAPI 3.1 document from the operation table, the response models and the ``api``
request models. Built once per process (it only depends on code) and served as JSON."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel

from api import ClusterDescription, JobDescription
from service.openapi import responses
from service.openapi.operations import OPERATIONS, Operation

REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Invalid request or signature",
    403: "Unknown access key, quota exhausted or forbidden", 404: "No such resource (or path)",
    409: "Not allowed in the resource's current state", 410: "Released automatically (AutoRelease)",
    413: "Body larger than --max-body-bytes",
}  # fmt: skip
SIGNATURE = (
    "`Authorization: acs <AccessKeyId>:<Signature>`, Signature = base64(HMAC-SHA1(secret, string-to-sign)) "
    "over the method, Accept, Content-MD5, Content-Type, Date, the sorted x-acs-* headers and the "
    "resource (path + sorted query), as the official SDK computes it (reference §2). Every signed "
    "request also needs `Date` (within 15 minutes) and a fresh `x-acs-signature-nonce`."
)


def _strip_nulls(schema: Any) -> Any:
    """pydantic writes an optional field as ``anyOf [T, null]`` with ``default: null``. On the wire
    such a key is simply absent: ``null`` for a known key is refused (400), so document T alone."""
    if isinstance(schema, list):
        return [_strip_nulls(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strip_nulls(v) for k, v in schema.items() if k != "title"}
    if "properties" in schema:  # property names are data, not keywords: keep every one
        out["properties"] = {k: _strip_nulls(v) for k, v in schema["properties"].items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        out.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        if out.get("default", 0) is None:
            del out["default"]
    return out


def _components(models: Sequence[type[BaseModel]], mode: str) -> dict[str, Any]:
    """JSON schemas of ``models`` and everything they reference, keyed by model name."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(by_alias=True, mode=mode, ref_template=REF)  # type: ignore[arg-type]
        for name, sub in schema.pop("$defs", {}).items():
            schemas[name] = _strip_nulls(sub)
        schemas[model.__name__] = _strip_nulls(schema)
    return schemas


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in (part[1:-1] for part in op.path.split("/") if part.startswith("{"))
    ]
    for q in op.query:
        param: dict[str, Any] = {"name": q.name, "in": "query", "required": False, "schema": q.schema,
                                 "description": q.description}  # fmt: skip
        if q.flag:
            param["allowEmptyValue"] = True
        params.append(param)
    return params


def _responses(op: Operation) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": STATUS_TEXT[op.status]}
    if op.response is not None:
        schema = _ref(op.response) if isinstance(op.response, type) else op.response
        ok["content"] = {op.media_type: {"schema": schema}}
    out: dict[str, Any] = {str(op.status): ok}
    error = {"application/json": {"schema": _ref(responses.ErrorBody)}}
    for status in op.errors:
        out[str(status)] = {"description": STATUS_TEXT[status], "content": error}
    return out


def _operation(op: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.public:
        spec["security"] = []
    if op.body is not None:
        media: dict[str, Any] = {"schema": _ref(op.body)}
        if op.example is not None:
            media["example"] = op.example
        spec["requestBody"] = {"required": True, "content": {"application/json": media}}
    if op.extension:
        spec["x-bcsd-extension"] = True
    return spec


@cache
def _document(version: str) -> dict[str, Any]:
    response_models = [
        m for m in vars(responses).values()
        if isinstance(m, type) and issubclass(m, responses.Body) and m is not responses.Body
    ]  # fmt: skip
    bodies = [op.body for op in OPERATIONS if op.body is not None]
    schemas = {
        **_components([JobDescription, ClusterDescription, *bodies], "validation"),
        **_components(response_models, "serialization"),
    }
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bcsd — a self-hosted BatchCompute-compatible service",
            "version": version,
            "description": "Alibaba Cloud BatchCompute REST API 2015-11-11, plus the extensions marked "
            "x-bcsd-extension. Errors are {Code, Message, RequestId, HostId}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "acs": {"type": "apiKey", "in": "header", "name": "Authorization", "description": SIGNATURE}
            },
        },
        "security": [{"acs": []}],
    }


def build_document(version: str) -> dict[str, Any]:
    """The document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document(version))
