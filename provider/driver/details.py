"""Per-property detail of a step, for ``preview --diff`` style output and ``--json``.

The Python dynamic-provider host forwards only ``changes``/``replaces``/``deleteBeforeReplace``,
so the path-level "why" is rebuilt here: for BatchCompute ``Job``/``Cluster`` resources with the
provider's own ``provider.planner.plan`` over the inputs, so the preview says exactly what the
provider decided and why; for anything else with a structural comparison of the inputs.
Secrets (Pulumi secrets and the API's secret-bearing fields) are masked before anything is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provider.driver.secrets import reveal
from provider.driver.steps import PropertyChange, classify, structural_changes
from provider.gitops.masking import mask_secret_fields


def _plain(value: Any) -> Any:
    return mask_secret_fields(reveal(value)) if value is not None else None


def property_changes(
    type_: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    replaces: tuple[str, ...] | list[str],
    raw_only: bool = False,
) -> list[PropertyChange]:
    """Changed paths between two input sets of one resource, secrets masked."""
    old_plain, new_plain = _plain(dict(old) if old else None), _plain(dict(new) if new else None)
    if not raw_only:
        planned = _planner_changes(type_, old_plain, new_plain)
        if planned is not None:
            return planned
    raw = structural_changes(old_plain or {}, new_plain or {})
    return classify(raw, list(replaces))


def _planner_changes(type_: str, old: dict | None, new: dict | None) -> list[PropertyChange] | None:
    """The planner's view when the resource is a Job or Cluster and the planner is importable."""
    kind = type_.rsplit(":", 1)[-1]
    if kind not in ("Job", "Cluster"):
        return None
    try:
        from provider.planner import plan
    except ImportError:
        return None
    try:
        changes = plan("Job" if kind == "Job" else "Cluster", old, new).changes
    except Exception:  # the planner is advisory here; Diff has already decided
        return None
    return [
        PropertyChange(c.path, c.old, c.new, c.action == "replace", c.reason if c.action == "replace" else "")
        for c in changes
    ]
