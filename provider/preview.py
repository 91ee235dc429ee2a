"""The one home of Pulumi's preview placeholder: how a value not known yet is spelled and found.

During preview an input taken from another resource's output (a task's ClusterId from a Cluster
this deployment creates) is not known. The engine's wire spells it ``UNKNOWN``; the dynamic host
hands the provider ``pulumi.output.Unknown`` objects, which ``properties.whole_numbers`` turns back into the
string. The planner, the input checks and the driver's preview all compare against this value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""``pulumi.runtime.rpc.UNKNOWN``: a value not known yet during preview."""

STAND_IN = "cls-unknownpreview00000000"
"""Takes an unknown string's place while a spec is canonicalised. It is a valid cluster id, so a
task whose ClusterId comes from a Cluster created by the same deployment still parses and is
compared field by field (not as written, which would report every defaulted field as changed)."""


def is_unknown(value: Any) -> bool:
    """An unknown as the dynamic host deserializes it (``keep_unknowns=True``)."""
    from pulumi.runtime.known_types import is_unknown as pulumi_is_unknown

    return pulumi_is_unknown(value)


def has_unknown(value: Any) -> bool:
    """Whether ``UNKNOWN`` occurs anywhere in a JSON-shaped value."""
    if isinstance(value, Mapping):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return value == UNKNOWN


def swap(value: Any, old: str, new: str) -> Any:
    """A copy of a JSON-shaped value with every string ``old`` replaced by ``new``."""
    if value == old:
        return new
    if isinstance(value, Mapping):
        return {k: swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [swap(v, old, new) for v in value]
    return value
