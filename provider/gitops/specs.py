"""A stack's job and cluster specs: YAML files in the GitOps repo, plus per-stack config.

Layout (under the program folder, ``stacks/``)::

    specs/jobs/<name>.yaml       one JobDescription each, keys as in the API (PascalCase), so a
    specs/clusters/<name>.yaml   BatchCompute JSON body pasted as YAML is a valid spec

Per-stack config (``Pulumi.<stack>.yaml``, project namespace), all optional:

    jobs: [testJob, ...]         which job files this stack deploys (default: all)
    clusters: [...]              which cluster files (default: all)
    vars: {bucket: ...}          ``${bucket}`` in any spec string is replaced by the value
    extensionKeys: [DAG.Tasks.*.Bootstrap]   keys no API schema row knows, allowed on purpose
                                 (any other unknown key is an error: see strict_keys.py)
    overrides:                   deep-merged into the specs: priorities, cluster sizes, ...
      jobs: {testJob: {Priority: 5}}
      clusters: {workers: {Groups: {group: {DesiredVMCount: 3}}}}

A task's ``ClusterId: cluster:<name>`` refers to a cluster declared in the same stack; the program
turns it into that cluster's live id (a real dependency). Loading is pure over two callbacks
(read a file, list a folder), so the same code reads the working tree and a git revision.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from api import check_cluster, check_job
from provider.gitops.strict_keys import spec_unknown_keys
from provider.preview import STAND_IN

CLUSTER_REF = "cluster:"
JOB_DIR = "specs/jobs"
CLUSTER_DIR = "specs/clusters"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")

ReadFile = Callable[[str], str | None]
ListDir = Callable[[str], list[str]]


@dataclass(frozen=True)
class SpecProblem:
    """One error in one spec file, at a dotted path inside it."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class SpecError(Exception):
    """Every problem found in the stack's specs; the message lists them one per line."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("invalid specs:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass(frozen=True)
class Spec:
    """One spec: resource name (the file's stem), the file it came from, its wire body."""

    name: str
    file: str
    body: dict[str, Any]

    def cluster_refs(self) -> list[str]:
        """Names of the stack's clusters this job's tasks refer to."""
        tasks = (self.body.get("DAG") or {}).get("Tasks") or {}
        refs = []
        for task in tasks.values():
            cid = task.get("ClusterId") if isinstance(task, Mapping) else None
            if isinstance(cid, str) and cid.startswith(CLUSTER_REF):
                refs.append(cid[len(CLUSTER_REF):])
        return sorted(set(refs))


@dataclass
class StackSpecs:
    jobs: dict[str, Spec] = field(default_factory=dict)
    clusters: dict[str, Spec] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSettings:
    """The spec-related part of a stack's config."""

    jobs: list[str] | None = None
    clusters: list[str] | None = None
    vars: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    extension_keys: list[str] = field(default_factory=list)

    @classmethod
    def from_config(cls, get: Callable[[str], str | None]) -> StackSettings:
        """Build from a config getter returning raw strings (structured values as JSON)."""

        def obj(key: str) -> Any:
            raw = get(key)
            if raw is None:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw

        return cls(
            jobs=obj("jobs"),
            clusters=obj("clusters"),
            vars={str(k): str(v) for k, v in (obj("vars") or {}).items()},
            overrides=obj("overrides") or {},
            extension_keys=[str(k) for k in obj("extensionKeys") or []],
        )


def deep_merge(base: Any, over: Any) -> Any:
    """``over`` merged into ``base``: mappings key by key, anything else replaced."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base.get(key), value) if key in base else value
        return out
    return over


def substitute(value: Any, variables: Mapping[str, str]) -> Any:
    """Replace ``${name}`` in every string; an unknown variable is left as it is (and reported)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):  # keys too: InputMapping keys are oss:// paths
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def _unresolved(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(prefix, m.group(1)) for m in _VAR.finditer(value)]
    if isinstance(value, Mapping):
        return [hit for k, v in value.items() for hit in _unresolved(v, f"{prefix}.{k}" if prefix else k)]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _unresolved(v, f"{prefix}[{i}]")]
    return []


def _without_refs(body: dict[str, Any]) -> dict[str, Any]:
    """The body with cluster references replaced by a valid cluster id (the preview's stand-in
    for an id not known yet), for validation."""
    tasks = (body.get("DAG") or {}).get("Tasks")
    if not isinstance(tasks, Mapping):
        return body
    new_tasks = {}
    for name, task in tasks.items():
        if isinstance(task, Mapping) and str(task.get("ClusterId", "")).startswith(CLUSTER_REF):
            task = {**task, "ClusterId": STAND_IN}
        new_tasks[name] = task
    return {**body, "DAG": {**body["DAG"], "Tasks": new_tasks}}


def load_stack_specs(
    read: ReadFile, list_dir: ListDir, settings: StackSettings, base: str = "", validate: bool = True
) -> StackSpecs:
    """Read, select, override and validate the stack's specs; raise :class:`SpecError` with all problems."""
    problems: list[SpecProblem] = []
    out = StackSpecs()
    for kind, folder, selection, target in (
        ("jobs", JOB_DIR, settings.jobs, out.jobs),
        ("clusters", CLUSTER_DIR, settings.clusters, out.clusters),
    ):
        names = [n for n in list_dir(folder) if n.endswith((".yaml", ".yml"))]
        files = {name.rsplit(".", 1)[0]: name for name in names}
        wanted = sorted(files) if selection is None else list(selection)
        for name in wanted:
            display = f"{base}{folder}/{files.get(name, name + '.yaml')}"
            if name not in files:
                problems.append(
                    SpecProblem(display, "", f"selected by the stack config, but no such {kind} file")
                )
                continue
            text = read(f"{folder}/{files[name]}") or ""
            try:
                body = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                problems.append(yaml_problem(display, text, exc))
                continue
            if not isinstance(body, dict):
                problems.append(SpecProblem(display, "", "must be a mapping of the API's fields"))
                continue
            override = (settings.overrides.get(kind) or {}).get(name) or {}
            if validate:
                allowed = settings.extension_keys
                problems += [SpecProblem(display, u.path, u.message())
                             for u in spec_unknown_keys(kind, body, allowed)]
                if isinstance(override, dict):
                    problems += [SpecProblem(f"bcs-gitops:overrides.{kind}.{name}", u.path, u.message())
                                 for u in spec_unknown_keys(kind, override, allowed)]
            body = deep_merge(body, override)
            body = substitute(body, settings.vars)
            problems += [SpecProblem(display, p, f"unknown variable ${{{v}}}") for p, v in _unresolved(body)]
            target[name] = Spec(name, display, body)
    if validate:
        problems += _validate(out)
    if problems:
        raise SpecError(problems)
    return out


def yaml_problem(display: str, text: str, exc: yaml.YAMLError) -> SpecProblem:
    """A YAML syntax error as the file, the line and column (1-based), what is wrong and the
    offending line itself, instead of the parser's multi-line report flattened into one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return SpecProblem(display, "", f"not valid YAML: {problem}")
    lines = text.splitlines()
    offending = lines[mark.line].strip() if 0 <= mark.line < len(lines) else ""
    shown = f": `{offending}`" if offending else ""
    where = f"{display}:{mark.line + 1}:{mark.column + 1}"
    return SpecProblem(where, "", f"not valid YAML: {problem}{shown}")


def _validate(specs: StackSpecs) -> list[SpecProblem]:
    """Every API error of every spec (all-errors mode), each with its path, plus dangling refs."""
    problems: list[SpecProblem] = []
    for spec in specs.clusters.values():
        errors = check_cluster(spec.body)
        problems += [SpecProblem(spec.file, e.path, f"{e.code}: {e.message}") for e in errors]
    for spec in specs.jobs.values():
        errors = check_job(_without_refs(spec.body))
        problems += [SpecProblem(spec.file, e.path, f"{e.code}: {e.message}") for e in errors]
        for ref in spec.cluster_refs():
            if ref not in specs.clusters:
                message = f"refers to cluster '{ref}', which this stack does not declare"
                problems.append(SpecProblem(spec.file, "DAG.Tasks", message))
    return problems
