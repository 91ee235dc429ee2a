"""``bcs-deploy plan --stack S --base REV``: what a pull request would do, as Markdown for a comment.

Compares the stack's specs at git revision REV with the working tree through the provider's own
planner (``provider.planner``). It needs no state, no credentials and no network, so it is safe
to run on pull requests from forks. Exit codes: 0 nothing destructive (creates and in-place
updates only), 2 something would be replaced or released (deleted), 1 the specs are invalid or
git failed.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from provider import planner
from provider.driver.project import ProjectError, load_project
from provider.gitops.dag_picture import job_mermaid
from provider.gitops.masking import mask_value
from provider.gitops.sources import check_revision, fs_source, git_source, repo_root
from provider.gitops.specs import Spec, SpecError, StackSettings, StackSpecs, load_stack_specs
from provider.planner import Kind, Plan

EXIT_OK, EXIT_ERROR, EXIT_DESTRUCTIVE = 0, 1, 2
WORDS = {"create": "create", "update": "update in place", "replace": "**replace**", "delete": "**release**"}
#: the footer's sentence per destructive action, so a pure release never promises a re-submission
FOOTERS = {
    "replace": "**This change replaces resources**: a replaced job that is still running is stopped, "
               "deleted and submitted again; a replaced cluster is created anew before the old one goes.",
    "delete": "**This change releases resources**: a released job that is still running is stopped, then "
              "deleted with any VMs it keeps; a released cluster is deleted. Nothing is submitted again.",
}


def _settings(text: str | None, project: str) -> StackSettings:
    doc = (yaml.safe_load(text) if text else None) or {}
    config = doc.get("config") or {}

    def get(key: str) -> str | None:
        value = config.get(f"{project}:{key}", config.get(key))
        if value is None or (isinstance(value, dict) and set(value) == {"secure"}):
            return None
        return value if isinstance(value, str) else json.dumps(value)

    return StackSettings.from_config(get)


def _short(path: str, value: Any) -> str:
    text = json.dumps(mask_value(path, value), sort_keys=True, default=str)
    return "`" + (text if len(text) <= 80 else text[:77] + "...") + "`"


@dataclass(frozen=True)
class ResourcePlan:
    """What the change does to one job or cluster: both wire specs and the planner's plan."""

    kind: Kind
    name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    plan: Plan


def _load(cwd: Path, stack: str, base: str) -> tuple[str, StackSpecs, StackSpecs]:
    """The title, the specs at ``base`` and in the working tree (raises SpecError for the latter)."""
    project = load_project(cwd)
    repo = repo_root(cwd)
    check_revision(repo, base)
    program_rel = str(project.main.resolve().relative_to(repo))
    config_rel = project.stack_file(stack).resolve().relative_to(repo)
    base_read, base_list = git_source(repo, base, program_rel)
    base_config = git_source(repo, base, ".")[0](str(config_rel))
    head_config = project.stack_file(stack).read_text() if project.stack_file(stack).is_file() else None
    if head_config is None and base_config is None:
        raise ProjectError(
            f"no stack named '{stack}': {config_rel} exists neither at {base} nor in the working tree"
        )
    title = f"### BatchCompute plan for stack `{stack}` (against `{base}`)"
    new = load_stack_specs(*fs_source(project.main), _settings(head_config, project.name), f"{program_rel}/")
    old = load_stack_specs(base_read, base_list, _settings(base_config, project.name), validate=False)
    return title, old, new


def resource_plans(old: StackSpecs, new: StackSpecs, include_same: bool = False) -> list[ResourcePlan]:
    """Clusters, then jobs, each by name, that the change touches (all of them with ``include_same``)."""
    plans = []
    sides: tuple[tuple[Kind, dict[str, Spec], dict[str, Spec]], ...] = (
        ("Cluster", old.clusters, new.clusters),
        ("Job", old.jobs, new.jobs),
    )
    for kind, olds, news in sides:
        for name in sorted(set(olds) | set(news)):
            before = olds[name].body if name in olds else None
            after = news[name].body if name in news else None
            plan = planner.plan(kind, before, after)
            if plan.action != "same" or include_same:
                plans.append(ResourcePlan(kind, name, before, after, plan))
    return plans


def _picture(rp: ResourcePlan) -> str:
    return job_mermaid(rp.before, rp.after, [c.path for c in rp.plan.changes])


def _exit(plans: list[ResourcePlan]) -> int:
    return EXIT_DESTRUCTIVE if any(rp.plan.action in ("replace", "delete") for rp in plans) else EXIT_OK


def _rows(rp: ResourcePlan) -> list[str]:
    plan = rp.plan
    rows = [f"#### {rp.kind} `{rp.name}`: {WORDS[plan.action]}"]
    for change in plan.changes if plan.action in ("update", "replace") else ():
        old, new_value = _short(change.path, change.old), _short(change.path, change.new)
        line = f"- `{change.path}`: {old} → {new_value}"
        if change.action == "replace":
            line += f" — replace: {change.reason}"
        rows.append(line)
    if plan.action == "replace":
        order = "delete before create" if plan.delete_before_replace else "create before delete"
        rows.append(f"- forced by: {', '.join(f'`{r}`' for r in plan.replaces)} ({order})")
    if rp.kind == "Job":  # GitHub renders it as the job's DAG, the change marked on it
        rows += ["", "```mermaid", _picture(rp).rstrip("\n"), "```"]
    return [*rows, ""]


def plan_markdown(cwd: Path, stack: str, base: str) -> tuple[str, int]:
    """The Markdown comment and the exit code."""
    try:
        title, old, new = _load(cwd, stack, base)
    except SpecError as exc:
        lines = [f"### BatchCompute plan for stack `{stack}` (against `{base}`)", "",
                 "The specs of this change are invalid:", ""]
        for p in exc.problems:
            lines.append(f"- `{p.file}`" + (f" at `{p.path}`" if p.path else "") + f": {p.message}")
        return "\n".join(lines) + "\n", EXIT_ERROR
    plans = resource_plans(old, new)
    if not plans:
        return f"{title}\n\nNo changes.\n", EXIT_OK
    rows = [row for rp in plans for row in _rows(rp)]
    destructive = {rp.plan.action for rp in plans}
    footer = " ".join(FOOTERS[action] for action in ("replace", "delete") if action in destructive)
    footer = footer or "Nothing is replaced or released."
    return "\n".join([title, "", *rows, footer]) + "\n", _exit(plans)


def plan_mermaid(cwd: Path, stack: str, base: str, job: str | None = None) -> tuple[str, int]:
    """The diagrams alone: each changed job's, after a ``%% Job <name>: <action>`` line; with
    ``job``, exactly that job's diagram, changed or not. Invalid specs raise SpecError."""
    _title, old, new = _load(cwd, stack, base)
    plans = [rp for rp in resource_plans(old, new, include_same=job is not None) if rp.kind == "Job"]
    if job is not None:
        chosen = [rp for rp in plans if rp.name == job]
        if not chosen:
            raise ProjectError(f"no job named '{job}' in stack '{stack}' at {base} or in the working tree")
        return _picture(chosen[0]), _exit(chosen)
    blocks = [f"%% Job {rp.name}: {rp.plan.action}\n{_picture(rp)}" for rp in plans]
    return "\n".join(blocks), _exit(resource_plans(old, new))


def run_plan(cwd: Path, stack: str, base: str, as_json: bool = False, fmt: str = "markdown",
             job: str | None = None) -> int:
    """Print the plan (Markdown, or the Mermaid diagrams alone) and return its exit code."""
    if fmt == "mermaid":
        try:
            text, code = plan_mermaid(cwd, stack, base, job)
        except SpecError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_ERROR
    else:
        text, code = plan_markdown(cwd, stack, base)
    print(json.dumps({"markdown" if fmt == "markdown" else fmt: text, "exit": code}) if as_json else text)
    return code
