"""From a ``Job``/``Cluster`` resource's inputs back to the API's wire spec (PascalCase).

The planner compares wire specs; the driver sees resource inputs. The resources keep the spec
either under one property (``spec``) or as top-level PascalCase properties; both are accepted,
with the provider-only properties (``triggers``, ``wait_for``, …) left out of the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SPEC_PROPERTIES = ("spec", "Spec", "description")
JOB_MARKERS = ("DAG", "Name")
CLUSTER_MARKERS = ("Groups", "ImageId", "Name")


def wire_spec(kind: str, inputs: Mapping[str, Any]) -> dict[str, Any] | None:
    """The wire spec inside ``inputs``, or None when it cannot be found."""
    for key in SPEC_PROPERTIES:
        value = inputs.get(key)
        if isinstance(value, Mapping):
            return dict(value)
    markers = JOB_MARKERS if kind == "Job" else CLUSTER_MARKERS
    if any(m in inputs for m in markers):
        return {k: v for k, v in inputs.items() if k[:1].isupper()}
    return None
