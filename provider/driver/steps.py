"""Steps: what the driver decided for each resource, as plain values the renderers print.

``Operation`` mirrors the engine's step kinds that matter here. A ``PropertyChange`` is one
changed path of the resource's inputs (secrets already masked), with the reason when the change
forces a replacement; it comes from the provider's planner when the resource is a BatchCompute
``Job``/``Cluster`` and from a plain structural comparison otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from provider.properties import HOST_OWNED

Operation = Literal["same", "create", "update", "replace", "delete", "refresh"]


@dataclass(frozen=True)
class PropertyChange:
    """One changed input path: ``old`` → ``new``; ``reason`` is set when it forces a replacement."""

    path: str
    old: Any
    new: Any
    replaces: bool = False
    reason: str = ""


@dataclass
class Step:
    """One resource's operation in a run, and what changed."""

    urn: str
    name: str
    type: str
    op: Operation
    changes: list[PropertyChange] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    delete_before_replace: bool = False
    error: str = ""

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape of a step."""
        return {
            "name": self.name,
            "type": self.type,
            "urn": self.urn,
            "operation": self.op,
            "paths": self.paths,
            "replaces": list(self.replaces),
            "deleteBeforeReplace": self.delete_before_replace,
            "changes": [
                {"path": c.path, "old": as_engine_shows(c.old), "new": as_engine_shows(c.new),
                 "replaces": c.replaces, "reason": c.reason}
                for c in self.changes
            ],
            **({"error": self.error} if self.error else {}),
        }


def as_engine_shows(value: Any) -> Any:
    """``value`` with integral floats as ints, at any depth. Numbers cross gRPC as protobuf doubles,
    so ``Priority: 1`` comes back as ``1.0``; the Pulumi engine prints it as ``1``, and so do we."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: as_engine_shows(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_engine_shows(v) for v in value]
    return value


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def structural_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Every leaf path where ``old`` and ``new`` differ (dicts walked, lists compared whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            if not prefix and key in HOST_OWNED:
                continue
            if key not in new:
                out.append((_join(prefix, key), old[key], None))
            elif key not in old:
                out.append((_join(prefix, key), None, new[key]))
            else:
                out.extend(structural_changes(old[key], new[key], _join(prefix, key)))
        return out
    if _same(old, new):
        return []
    return [(prefix, old, new)]


def _same(a: Any, b: Any) -> bool:
    # Struct round trips turn integers into floats: 1 and 1.0 are the same input.
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b and type(a) is type(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return a == b


def classify(
    raw: list[tuple[str, Any, Any]], replaces: list[str] | tuple[str, ...]
) -> list[PropertyChange]:
    """Attach replace reasons: a path under a property the provider says forces replacement."""
    out = []
    for path, old, new in raw:
        top = path.split(".", 1)[0]
        forced = top in replaces or path in replaces
        out.append(PropertyChange(path, old, new, forced, f"{path} changed" if forced else ""))
    return out
