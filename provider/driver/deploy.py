"""One run of ``bcs-deploy preview|up|refresh|destroy``: the I/O shell around :class:`Engine`.

Loads the project and the stack's config, takes the stack's lock, loads its state, starts the
dynamic-provider host and configures it with the stack's config, then runs the program (preview,
up) or walks the state (refresh, destroy). Everything the user sees is a value returned in
:class:`Outcome` or a line passed to ``echo``; nothing here raises to the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from provider.driver.backend import StackPaths, backend_dir
from provider.driver.engine import Engine
from provider.driver.locks import locked
from provider.driver.monitor import run_program
from provider.driver.project import (
    ProjectError,
    StackConfig,
    load_project,
    load_stack_config,
    qualify,
    set_encryption_salt,
)
from provider.driver.provider_host import ProviderHost
from provider.driver.render import progress_line
from provider.driver.secrets import SECRET_SIG, SIG_KEY, reveal
from provider.driver.state import StateStore
from provider.driver.steps import Step

Command = Literal["preview", "up", "refresh", "destroy"]
LEGACY_STATE_DIR = Path(".bcs") / "state"  # the driver's former private format, migrated on load


@dataclass
class Outcome:
    """What a run did: its steps, the stack outputs (secrets masked) and the error, if any."""

    command: str
    stack: str
    steps: list[Step] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "stack": self.stack,
            "steps": [s.to_json() for s in self.steps],
            "outputs": self.outputs,
            "ok": not self.error,
            **({"error": self.error} if self.error else {}),
        }


def legacy_state_file(cwd: Path, stack: str) -> Path:
    return cwd / LEGACY_STATE_DIR / f"{stack}.json"


def provider_inputs(config: StackConfig) -> dict[str, Any]:
    """The default dynamic provider's inputs as the engine records them: the whole config,
    namespaced keys, secure values as secrets."""
    return {
        key: {SIG_KEY: SECRET_SIG, "value": value} if key in config.secret_keys else value
        for key, value in sorted(config.values.items())
    }


def run(
    command: Command,
    stack: str,
    cwd: Path,
    preview: bool,
    echo: Callable[[str], None],
    overrides: dict[str, str] | None = None,
) -> Outcome:
    """Run one command against one stack; ``preview`` makes up/refresh/destroy change nothing."""
    project = load_project(cwd)
    paths = StackPaths(backend_dir(cwd, project.backend_url), project.name, stack)
    legacy = legacy_state_file(cwd, stack)
    if not project.stack_file(stack).is_file() and not paths.checkpoint.is_file() and not legacy.is_file():
        raise ProjectError(
            f"no stack named '{stack}': {project.stack_file(stack)} does not exist and the stack has no state"
            f" (create it with `bcs-deploy config set --stack {stack} KEY VALUE`)"
        )
    config = load_stack_config(project, stack)
    for key, value in (overrides or {}).items():
        config.values[qualify(key, project.name)] = value
    outcome = Outcome(command, stack)

    def on_step(step: Step, phase: str) -> None:
        if preview:
            return
        line = progress_line(step, phase)
        if line:
            echo(line)

    def log(severity: str, message: str) -> None:
        echo(f"  {severity}: {message}")

    with locked(paths, command):
        store = StateStore(
            paths, config.salt_state, provider_inputs(config), legacy, echo,
            new_salt=lambda salt: set_encryption_salt(project, stack, salt),
        )
        state = store.load()
        has_custom = command in ("preview", "up") or any(r.custom and r.id for r in state.resources)
        host = ProviderHost(project.python, cwd) if has_custom else None
        try:
            if host is not None:
                host.configure(config.values)
            engine = Engine(state, store, host, preview, project.name, stack, on_step)
            outcome.steps = engine.steps
            if command in ("preview", "up"):
                error = run_program(
                    engine, project.python, cwd, project.name, project.main,
                    config.values, sorted(config.secret_keys), log,
                )
                if engine.failure or error:
                    outcome.error = engine.failure or error
                else:
                    _guard(outcome, engine.delete_leftovers)
            elif command == "refresh":
                _guard(outcome, engine.refresh)
            else:
                _guard(outcome, lambda: engine.delete_all(list(state.resources)))
                if not outcome.error and not preview:
                    state.outputs, state.has_root = {}, False
                    store.save(state)
        finally:
            if host is not None:
                host.stop()
        outcome.outputs = reveal(state.outputs)
    return outcome


def _guard(outcome: Outcome, action: Callable[[], None]) -> None:
    from provider.driver.engine import StepFailed

    try:
        action()
    except StepFailed as exc:
        outcome.error = str(exc)
