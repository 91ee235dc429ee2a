"""The driver's :class:`StackState` as Pulumi's own deployment (``pulumi stack export``), and back.

What the engine writes and the driver therefore writes too:

* ``pulumi:pulumi:Stack`` (``<project>-<stack>``) first, holding the stack outputs; every
  top-level resource names it as ``parent``;
* the default provider of dynamic resources, ``pulumi:providers:pulumi-python::default``, with a
  UUID id and the whole stack config (namespaced keys, secure values as secrets) as its inputs and
  outputs — the engine passes dynamic providers the full config;
* each custom resource with ``provider: <provider urn>::<provider id>``, its checked inputs, its
  outputs, ``dependencies``, ``propertyDependencies`` and ``delete: true`` while a replaced
  resource waits for its delete.

Values stay in the wire form of ``pulumi.runtime.rpc`` here; sealing secrets is the caller's job
(``state.py``). Fields the CLI writes that the driver does not model (``created``,
``sourcePosition`` ...) are kept as they were read.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from provider.driver.state_model import ResourceState, StackState

STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE = "pulumi:providers:pulumi-python"
CHECKPOINT_VERSION = 3
DEPLOYMENT_VERSION = 3
_MODELLED = frozenset({
    "urn", "custom", "id", "type", "inputs", "outputs", "parent", "dependencies", "provider",
    "propertyDependencies", "delete",
})


class CheckpointError(Exception):
    """The checkpoint holds something the driver cannot carry over faithfully."""


def stack_urn(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


def provider_urn(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{PROVIDER_TYPE}::default"


def _engine_version() -> str:
    """The engine release whose protocol the driver speaks: the pinned Python SDK's."""
    try:
        return "v" + metadata.version("pulumi")
    except metadata.PackageNotFoundError:  # pragma: no cover - the SDK is a dependency
        return ""


def to_deployment(
    state: StackState, project: str, provider_inputs: dict[str, Any], salt: str | None
) -> dict[str, Any]:
    """The deployment (``checkpoint.latest``) for ``state``; secrets still in plaintext wire form."""
    version = _engine_version()
    deployment: dict[str, Any] = {
        "manifest": {
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "magic": hashlib.sha256(version.encode()).hexdigest() if version else "",
            "version": version,
        },
    }
    if salt:
        deployment["secrets_providers"] = {"type": "passphrase", "state": {"salt": salt}}
    resources: list[dict[str, Any]] = []
    if state.has_root or state.resources or state.outputs:
        root = {"urn": stack_urn(state.stack, project), "custom": False, "type": STACK_TYPE}
        if state.outputs:
            root["outputs"] = state.outputs
        resources.append({**root, **state.root_extra})
    if any(r.custom for r in state.resources):
        if not state.provider_id:
            state.provider_id = str(uuid.uuid4())
        resources.append({
            "urn": provider_urn(state.stack, project),
            "custom": True,
            "id": state.provider_id,
            "type": PROVIDER_TYPE,
            "inputs": provider_inputs,
            "outputs": provider_inputs,
            **state.provider_extra,
        })
    else:
        state.provider_id = ""
    provider_ref = f"{provider_urn(state.stack, project)}::{state.provider_id}"
    for res in state.resources:
        resources.append(_resource(res, provider_ref))
    deployment["resources"] = resources
    deployment["metadata"] = {}
    return deployment


def _resource(res: ResourceState, provider_ref: str) -> dict[str, Any]:
    out: dict[str, Any] = {"urn": res.urn, "custom": res.custom}
    if res.custom:
        out["id"] = res.id
    out["type"] = res.type
    if res.inputs:
        out["inputs"] = res.inputs
    if res.outputs:
        out["outputs"] = res.outputs
    if res.parent:
        out["parent"] = res.parent
    if res.pending_delete:
        out["delete"] = True
    if res.dependencies:
        out["dependencies"] = list(res.dependencies)
    if res.custom:
        out["provider"] = provider_ref
    if res.property_dependencies:
        out["propertyDependencies"] = res.property_dependencies
    return {**out, **{k: v for k, v in res.extra.items() if k not in out}}


def from_deployment(deployment: dict[str, Any], stack: str) -> StackState:
    """A :class:`StackState` from a deployment (secrets already unsealed)."""
    state = StackState(stack=stack)
    for raw in deployment.get("resources") or []:
        extra = {k: v for k, v in raw.items() if k not in _MODELLED}
        type_ = raw["type"]
        if type_ == STACK_TYPE:
            state.has_root = True
            state.outputs = raw.get("outputs") or {}
            state.root_extra = extra
            continue
        if type_ == PROVIDER_TYPE and raw["urn"].endswith("::default"):
            state.provider_id = raw.get("id", "")
            state.provider_extra = {k: v for k, v in extra.items() if k not in ("inputs", "outputs")}
            continue
        if type_.startswith("pulumi:providers:"):
            raise CheckpointError(
                f"{raw['urn']}: the offline driver supports only the default pulumi-python provider"
            )
        state.resources.append(
            ResourceState(
                urn=raw["urn"],
                type=type_,
                name=raw["urn"].rsplit("::", 1)[1],
                custom=bool(raw.get("custom")),
                parent=raw.get("parent", ""),
                id=raw.get("id", ""),
                inputs=raw.get("inputs") or {},
                outputs=raw.get("outputs") or {},
                dependencies=list(raw.get("dependencies") or []),
                pending_delete=bool(raw.get("delete")),
                property_dependencies=dict(raw.get("propertyDependencies") or {}),
                extra=extra,
            )
        )
    return state
