"""The driver's view of a stack: its resources in registration order, and the stack outputs.

Values are kept in the wire form of ``pulumi.runtime.rpc`` (secrets as ``{sig, value}``). How it
is stored is ``checkpoint.py`` (Pulumi's deployment format) and ``state.py`` (where, sealed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ResourceState:
    """One resource as the last successful step left it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str = ""
    id: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    pending_delete: bool = False
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # checkpoint fields the driver does not model


@dataclass
class StackState:
    """All resources of a stack, in registration order (dependencies first), plus stack outputs.

    ``has_root`` is whether the stack resource itself exists (the program ran at least once since
    the last destroy); ``provider_id`` is the id of the default dynamic provider in the checkpoint.
    """

    stack: str
    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    has_root: bool = False
    provider_id: str = ""
    root_extra: dict[str, Any] = field(default_factory=dict)
    provider_extra: dict[str, Any] = field(default_factory=dict)

    def find(self, urn: str) -> ResourceState | None:
        for res in self.resources:
            if res.urn == urn and not res.pending_delete:
                return res
        return None

    def put(self, res: ResourceState) -> None:
        """Replace the live entry with the same URN, or append."""
        for i, cur in enumerate(self.resources):
            if cur.urn == res.urn and not cur.pending_delete:
                self.resources[i] = res
                return
        self.resources.append(res)

    def remove(self, res: ResourceState) -> None:
        self.resources = [r for r in self.resources if r is not res]
