"""Text for people: a ``pulumi preview --diff`` style plan, progress lines, and a summary."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from provider.driver.steps import Operation, Step, as_engine_shows
from provider.preview import UNKNOWN

SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " ", "refresh": "~"}
VERB = {
    "create": ("creating", "created"),
    "update": ("updating", "updated"),
    "replace": ("replacing", "replaced"),
    "delete": ("deleting", "deleted"),
    "same": ("", "unchanged"),
    "refresh": ("reading", "read"),
}


def short(value: Any) -> str:
    """A value on one line, unknowns as ``output<unknown>``, long values cut."""
    if value == UNKNOWN:
        return "output<unknown>"
    value = as_engine_shows(value)
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else json.dumps(value)
    text = text.replace(json.dumps(UNKNOWN), "output<unknown>")
    return text if len(text) <= 100 else text[:97] + "..."


def step_block(step: Step) -> list[str]:
    """One resource in the preview: its symbol, name and type, then its changed paths."""
    head = f"  {SYMBOL[step.op]} {step.name} ({step.type}) {step.op}"
    if step.op == "replace":
        head += " [delete-before-replace]" if step.delete_before_replace else " [create-before-delete]"
    lines = [head]
    for change in step.changes:
        if step.op == "create":
            lines.append(f"      + {change.path}: {short(change.new)}")
        elif step.op == "delete":
            lines.append(f"      - {change.path}: {short(change.old)}")
        else:
            mark = "+-" if change.replaces else "~"
            lines.append(f"      {mark} {change.path}: {short(change.old)} => {short(change.new)}")
            if change.reason:
                lines.append(f"          replace: {change.reason}")
    if step.op == "replace" and step.replaces and not any(c.replaces for c in step.changes):
        lines.append(f"          replace: {', '.join(step.replaces)} changed")
    return lines


def preview_text(steps: list[Step], show_same: bool = False) -> str:
    lines = ["Previewing changes:"]
    for step in steps:
        if step.op == "same" and not show_same:
            continue
        lines.extend(step_block(step))
    lines.append(summary(steps))
    return "\n".join(lines)


def summary(steps: list[Step]) -> str:
    counts = Counter(s.op for s in steps)
    parts = [f"{counts[op]} to {op}" for op in ("create", "update", "replace", "delete") if counts[op]]
    if counts["same"]:
        parts.append(f"{counts['same']} unchanged")
    return "Resources: " + (", ".join(parts) if parts else "no resources")


def result_summary(steps: list[Step]) -> str:
    """The summary after a run: what was done, in the past tense, and what failed, so a run that
    stopped at a failed step never reads like a success (``Resources: 1 created, 1 failed (q create)``)."""
    done = Counter(s.op for s in steps if not s.error)
    failed = [s for s in steps if s.error]
    ops: tuple[Operation, ...] = ("create", "update", "replace", "delete", "refresh")
    parts = [f"{done[op]} {VERB[op][1]}" for op in ops if done[op]]
    if done["same"]:
        parts.append(f"{done['same']} unchanged")
    if failed:
        parts.append(f"{len(failed)} failed ({', '.join(f'{s.name} {s.op}' for s in failed)})")
    return "Resources: " + (", ".join(parts) if parts else "no resources")


def progress_line(step: Step, phase: str) -> str | None:
    """A line while deploying; None when there is nothing worth saying."""
    if step.op == "same":
        return None
    doing, done = VERB[step.op]
    if phase == "start":
        return f"  {SYMBOL[step.op]} {step.name} ({step.type}) {doing}..."
    if phase == "done":
        return f"  {SYMBOL[step.op]} {step.name} ({step.type}) {done}"
    if phase == "failed":
        return f"  ! {step.name} ({step.type}) {step.op} failed: {step.error}"
    return None


def outputs_text(outputs: dict[str, Any]) -> str:
    """The stack outputs in full, nested values indented one key per line as the Pulumi CLI
    prints them (never cut: an output is what a user comes to read)."""
    if not outputs:
        return ""
    return "\n".join(["Outputs:", *_value_lines(outputs, "    ")])


def _value_lines(value: dict[str, Any], indent: str) -> list[str]:
    lines = []
    width = max((len(str(k)) for k in value), default=0)
    for key in sorted(value):
        item = value[key]
        label = f"{indent}{str(key).ljust(width)}: "
        if isinstance(item, dict) and item:
            lines += [label + "{", *_value_lines(item, indent + "    "), indent + "}"]
        elif item == UNKNOWN:
            lines.append(label + "output<unknown>")
        else:
            lines.append(label + json.dumps(as_engine_shows(item), sort_keys=True, default=str))
    return lines
