"""What each key of a Job or Cluster property bag is, decided once, and the bag split by it.

The engine stores one bag per resource and hands it to every provider call. Its keys are of
four kinds, told apart by name (outputs are snake_case, so they never meet a PascalCase API key):

- API keys: the CreateJob / CreateCluster document's top-level wire keys (``Name``, ``DAG``, …),
  sent to the service and planned;
- provider-only keys (:data:`PROVIDER_ONLY`): Job inputs that steer the provider; planned, never
  sent;
- bookkeeping: :data:`URN`, an input set by ``provider.resources`` for IdempotentTokens (neither
  planned nor sent), and the dynamic host's pickled provider (:data:`HOST_OWNED`);
- server-owned outputs (:data:`JOB_OUTPUTS`, :data:`CLUSTER_OUTPUTS`), which the service reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider.preview import UNKNOWN, is_unknown

URN = "resource_urn"
"""The resource's URN, an input so that create (which the dynamic host gives no URN) can derive
an IdempotentToken. Never planned, never sent."""

HOST_OWNED: frozenset[str] = frozenset({"__provider"})
"""The dynamic host's serialized provider, added to every bag it sends; no input of ours."""

PROVIDER_ONLY: tuple[str, ...] = ("triggers", "on_failure", "wait_for")
"""Job inputs that never reach the API; the planner compares them as they are."""

JOB_OUTPUTS: tuple[str, ...] = (
    "job_id",
    "state",
    "message",
    "creation_time",
    "start_time",
    "end_time",
    "released",
    "tasks",
)
CLUSTER_OUTPUTS: tuple[str, ...] = ("cluster_id", "state", "creation_time", "groups")

SERVER_OWNED: frozenset[str] = frozenset({*HOST_OWNED, *JOB_OUTPUTS, *CLUSTER_OUTPUTS})
"""Keys the service (or the host) owns: not inputs, removed from both sides before planning."""

_NOT_PLANNED = SERVER_OWNED | {URN}
_NOT_SENT = _NOT_PLANNED | set(PROVIDER_ONLY)


def whole_numbers(value: Any) -> Any:
    """Pulumi's wire carries every number as a double: give integral ones back their int type,
    which the API's integer fields (Priority, InstanceCount, ...) require.

    Values not known yet come back as the wire's ``UNKNOWN`` string: the dynamic host hands
    Check and Diff ``pulumi.output.Unknown`` objects (``keep_unknowns``), which the ``api``
    validators would report as wrong types (e.g. a task's ClusterId taken from a Cluster that
    is only created by this deployment) and which the planner could not hash.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    return value


def inputs_of(bag: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs of a bag (stored state is inputs plus server-owned keys), numbers restored to
    ints where whole."""
    return {k: whole_numbers(v) for k, v in bag.items() if k not in SERVER_OWNED}


def planned(bag: Mapping[str, Any]) -> dict[str, Any]:
    """What the planner compares: the API and provider-only keys, as they are."""
    return {k: v for k, v in bag.items() if k not in _NOT_PLANNED}


def api_part(bag: Mapping[str, Any]) -> dict[str, Any]:
    """The wire document (JobDescription, ClusterDescription) in a bag: what is sent."""
    return {k: v for k, v in bag.items() if k not in _NOT_SENT}


def outputs_part(bag: Mapping[str, Any], names: tuple[str, ...] = JOB_OUTPUTS) -> dict[str, Any]:
    """The server-owned outputs ``names`` a bag holds (the last known ones, in stored state)."""
    return {k: bag[k] for k in names if k in bag}
