"""The planner's ``Plan`` as the engine's ``DiffResult``.

The SDK's Python host forwards only ``changes``, ``replaces`` and ``deleteBeforeReplace`` (no
stables, no detailed diff), so that is all a plan becomes here; the path-level explanation of a
plan is rendered by the driver's preview and the PR review from the same ``Plan``.
"""

from __future__ import annotations

from pulumi.dynamic import DiffResult

from provider.planner import Plan

NO_CHANGES = DiffResult(changes=False, replaces=[], stables=[], delete_before_replace=False)


def diff_result(plan: Plan) -> DiffResult:
    return DiffResult(
        changes=plan.action != "same",
        replaces=list(plan.replaces),
        stables=[],
        delete_before_replace=plan.delete_before_replace,
    )
