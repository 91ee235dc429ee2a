"""The deployment engine: for each registered resource, the provider calls the Pulumi engine makes.

Order per resource, as in the engine's step generator: Check (olds = stored inputs), then Diff
against the stored outputs, then one of

* same — nothing is called; the stored outputs go back to the program;
* create — Create;
* update — Update (in place);
* replace — delete-before-replace when the Diff says so: Delete, then Create; otherwise
  create-before-delete: Create now, and the old resource is deleted after the program ends.

After the program ends, resources it no longer registers are deleted, dependents first. In a
preview nothing but Check and Diff is called, and outputs not known yet go back as unknowns.
State is saved after every step that changed something.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from provider.driver.details import property_changes
from provider.driver.provider_host import ProviderError, ProviderHost
from provider.driver.secrets import SECRET_SIG, SIG_KEY, has_plain_secret, is_secret, reveal
from provider.driver.state import ResourceState, StackState, StateStore
from provider.driver.steps import Step, structural_changes

STACK_TYPE = "pulumi:pulumi:Stack"
DYNAMIC_PREFIX = "pulumi-python:dynamic"


class StepFailed(Exception):
    """A step failed; the message names the resource and the provider's error."""


@dataclass(frozen=True)
class Registration:
    """What the program asked for in one RegisterResource call."""

    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...]
    delete_before_replace: bool
    property_dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def property_deps(self) -> dict[str, list[str]]:
        """``propertyDependencies`` as the checkpoint records them: every input key, deps or not."""
        return {key: list(urns) for key, urns in self.property_dependencies}


def make_urn(stack: str, project: str, type_: str, name: str, parent: str) -> str:
    """The engine's URN: the parent's type chain is prefixed unless the parent is the stack."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


def mark_secret_outputs(inputs: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any]:
    """A property that was a secret input stays a secret output (the engine does the same)."""
    out = dict(outputs)
    for key, value in inputs.items():
        if has_plain_secret(value) and key in out and not is_secret(out[key]):
            out[key] = {SIG_KEY: SECRET_SIG, "value": reveal(out[key], None)}
    return out


def _live(urn: str, reg: Registration, id_: str, inputs: dict, outputs: dict) -> ResourceState:
    deps = list(reg.dependencies)
    return ResourceState(
        urn, reg.type, reg.name, True, reg.parent, id_, inputs, outputs, deps,
        property_dependencies=reg.property_deps(),
    )


def plain(props: dict[str, Any]) -> dict[str, Any]:
    """Secrets unwrapped: the dynamic host does not accept secrets, so the engine strips them."""
    return reveal(props, None)


class Engine:
    """Runs steps for one deployment; thread-safe (the monitor serves calls on a pool)."""

    def __init__(
        self,
        state: StackState,
        store: StateStore | None,
        host: ProviderHost | None,
        preview: bool,
        project: str,
        stack: str,
        on_step: Callable[[Step, str], None],
    ) -> None:
        self.state = state
        self.store = store
        self.host = host
        self.preview = preview
        self.project = project
        self.stack = stack
        self.on_step = on_step
        self.steps: list[Step] = []
        self.registered: set[str] = set()
        self.failure: str = ""
        self._lock = threading.Lock()

    # -- persistence ---------------------------------------------------------------------------
    def _save(self) -> None:
        if self.store is not None and not self.preview:
            self.store.save(self.state)

    def _record(self, step: Step, phase: str) -> None:
        self.on_step(step, phase)

    def _fail(self, step: Step, message: str) -> StepFailed:
        step.error = message
        self.failure = f"{step.name} ({step.op}): {message}"
        self._record(step, "failed")
        return StepFailed(self.failure)

    # -- registration --------------------------------------------------------------------------
    def register(self, reg: Registration) -> tuple[str, str, dict[str, Any]]:
        """Handle one RegisterResource; returns (urn, id, outputs) for the program."""
        urn = make_urn(self.stack, self.project, reg.type, reg.name, reg.parent)
        with self._lock:
            if self.failure:
                raise StepFailed(f"{reg.name}: not registered because an earlier step failed")
            self.registered.add(urn)
            if reg.type == STACK_TYPE:
                if not self.preview and not self.state.has_root:
                    self.state.has_root = True
                    self._save()
                return urn, "", {}
            if not reg.custom:
                return self._component(urn, reg)
            if not reg.type.startswith(DYNAMIC_PREFIX) or self.host is None:
                step = Step(urn, reg.name, reg.type, "create")
                raise self._fail(step, f"no provider for type {reg.type} in the offline driver")
            return self._custom(urn, reg)

    def _component(self, urn: str, reg: Registration) -> tuple[str, str, dict[str, Any]]:
        old = self.state.find(urn)
        if old is None:
            self.state.put(ResourceState(urn, reg.type, reg.name, False, reg.parent))
            self._save()
        return urn, "", {}

    def _custom(self, urn: str, reg: Registration) -> tuple[str, str, dict[str, Any]]:
        assert self.host is not None
        old = self.state.find(urn)
        step = Step(urn, reg.name, reg.type, "create")
        try:
            checked, failures = self.host.check(urn, plain(old.inputs) if old else {}, plain(reg.inputs))
        except ProviderError as exc:
            raise self._fail(step, str(exc)) from None
        checked = mark_secret_outputs(reg.inputs, checked)
        if failures:
            lines = "; ".join(f"{f.property}: {f.reason}" if f.property else f.reason for f in failures)
            raise self._fail(step, f"invalid inputs: {lines}")
        if old is None:
            return self._create(step, reg, checked)
        try:
            diff = self.host.diff(urn, old.id, plain(old.outputs), plain(checked), plain(old.inputs))
        except ProviderError as exc:
            step.op = "update"
            raise self._fail(step, str(exc)) from None
        # DIFF_UNKNOWN: the engine falls back to comparing the inputs itself
        changed = diff.changes if diff.changes is not None else bool(structural_changes(old.inputs, checked))
        if not changed:
            step.op = "same"
            old.inputs, old.dependencies = checked, list(reg.dependencies)
            old.property_dependencies = reg.property_deps()
            self.steps.append(step)
            self._record(step, "done")
            return urn, old.id, old.outputs
        step.replaces = list(diff.replaces)
        step.changes = property_changes(reg.type, old.inputs, checked, diff.replaces)
        if diff.replaces:
            step.op = "replace"
            step.delete_before_replace = diff.delete_before_replace or reg.delete_before_replace
            return self._replace(step, reg, old, checked)
        step.op = "update"
        return self._update(step, reg, old, checked)

    def _create(self, step: Step, reg: Registration, checked: dict) -> tuple[str, str, dict[str, Any]]:
        step.changes = property_changes(reg.type, None, checked, ())
        self.steps.append(step)
        if self.preview:
            self._record(step, "planned")
            return step.urn, "", checked
        self._record(step, "start")
        assert self.host is not None
        try:
            id_, outs = self.host.create(step.urn, plain(checked))
        except ProviderError as exc:
            raise self._fail(step, str(exc)) from None
        outs = mark_secret_outputs(checked, outs)
        self.state.put(_live(step.urn, reg, id_, checked, outs))
        self._save()
        self._record(step, "done")
        return step.urn, id_, outs

    def _update(
        self, step: Step, reg: Registration, old: ResourceState, checked: dict
    ) -> tuple[str, str, dict[str, Any]]:
        self.steps.append(step)
        if self.preview:
            self._record(step, "planned")
            return step.urn, old.id, {**old.outputs, **checked}
        self._record(step, "start")
        assert self.host is not None
        try:
            outs = self.host.update(step.urn, old.id, plain(old.outputs), plain(checked), plain(old.inputs))
        except ProviderError as exc:
            raise self._fail(step, str(exc)) from None
        outs = mark_secret_outputs(checked, outs)
        old.inputs, old.outputs, old.dependencies = checked, outs, list(reg.dependencies)
        old.property_dependencies = reg.property_deps()
        self._save()
        self._record(step, "done")
        return step.urn, old.id, outs

    def _replace(
        self, step: Step, reg: Registration, old: ResourceState, checked: dict
    ) -> tuple[str, str, dict[str, Any]]:
        self.steps.append(step)
        if self.preview:
            self._record(step, "planned")
            return step.urn, "", checked
        self._record(step, "start")
        assert self.host is not None
        if step.delete_before_replace:
            try:
                self.host.delete(old.urn, old.id, plain(old.outputs), plain(old.inputs))
            except ProviderError as exc:
                raise self._fail(step, f"deleting the old resource: {exc}") from None
            self.state.remove(old)
            self._save()
        else:
            old.pending_delete = True
        try:
            id_, outs = self.host.create(step.urn, plain(checked))
        except ProviderError as exc:
            old.pending_delete = False if not step.delete_before_replace else old.pending_delete
            raise self._fail(step, f"creating the replacement: {exc}") from None
        outs = mark_secret_outputs(checked, outs)
        self.state.put(_live(step.urn, reg, id_, checked, outs))
        self._save()
        self._record(step, "done")
        return step.urn, id_, outs

    def read(self, type_: str, name: str, parent: str, id_: str, props: dict) -> tuple[str, dict]:
        """ReadResource (``Resource.get``): read the live resource, keep nothing in state."""
        urn = make_urn(self.stack, self.project, type_, name, parent)
        if self.host is None:
            raise StepFailed(f"{name}: no provider to read {type_}")
        try:
            _id, outs, _inputs = self.host.read(urn, id_, plain(props), plain(props))
        except ProviderError as exc:
            raise StepFailed(f"{name} (read): {exc}") from None
        return urn, outs

    def set_stack_outputs(self, outputs: dict[str, Any]) -> None:
        with self._lock:
            if not self.preview:
                self.state.outputs = outputs
                self._save()

    # -- after the program ---------------------------------------------------------------------
    def delete_leftovers(self) -> None:
        """Delete replaced resources and those the program no longer registers, dependents first."""
        doomed = [r for r in self.state.resources if r.pending_delete or r.urn not in self.registered]
        self.delete_all(doomed)

    def delete_all(self, doomed: list[ResourceState]) -> None:
        for res in deletion_order(doomed):
            step = Step(res.urn, res.name, res.type, "delete")
            if not res.pending_delete:
                step.changes = property_changes(res.type, res.inputs, None, ())
            if res.pending_delete:
                step.replaces = ["(replaced)"]
            else:  # the delete of a replaced resource is part of its replace step
                self.steps.append(step)
            if self.preview:
                self._record(step, "planned")
                continue
            self._record(step, "start")
            if res.custom and res.id:
                if self.host is None:
                    raise self._fail(step, "no provider host")
                try:
                    self.host.delete(res.urn, res.id, plain(res.outputs), plain(res.inputs))
                except ProviderError as exc:
                    raise self._fail(step, str(exc)) from None
            self.state.remove(res)
            self._save()
            self._record(step, "done")

    def refresh(self) -> None:
        """Read every resource; drop those gone, keep what the provider reports for the others."""
        for res in list(self.state.resources):
            if not res.custom or not res.id:
                continue
            if self.host is None:  # only when the stack holds no custom resource
                raise StepFailed(f"{res.name} (refresh): no provider host")
            step = Step(res.urn, res.name, res.type, "refresh")
            try:
                new_id, outs, inputs = self.host.read(res.urn, res.id, plain(res.outputs), plain(res.inputs))
            except ProviderError as exc:
                raise self._fail(step, str(exc)) from None
            if not new_id:
                step.op = "delete"
                self.steps.append(step)
                if not self.preview:
                    self.state.remove(res)
                    self._save()
                self._record(step, "done")
                continue
            raw = structural_changes(res.outputs, outs)
            step.op = "update" if raw else "same"
            step.changes = property_changes(res.type, res.outputs, outs, (), raw_only=True)
            self.steps.append(step)
            if not self.preview:
                res.id, res.outputs = new_id, mark_secret_outputs(res.inputs, outs)
                if inputs is not None:
                    res.inputs = inputs
                self._save()
            self._record(step, "done")


def deletion_order(doomed: list[ResourceState]) -> list[ResourceState]:
    """Dependents before their dependencies; otherwise the reverse of registration order."""
    remaining = list(reversed(doomed))
    ordered: list[ResourceState] = []
    while remaining:
        for res in remaining:
            others = [r for r in remaining if r is not res]
            if not any(res.urn in r.dependencies or r.parent == res.urn for r in others):
                ordered.append(res)
                remaining.remove(res)
                break
        else:  # a cycle cannot come from a program, but never loop forever
            ordered.extend(remaining)
            break
    return ordered
