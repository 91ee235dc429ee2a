"""Per-stack state: the stack's checkpoint in the Pulumi file backend, read and rewritten atomically.

The driver keeps exactly what ``pulumi login file://DIR`` keeps (``backend.py`` says where,
``checkpoint.py`` what): ``{"version": 3, "checkpoint": {"stack": "organization/<project>/<stack>",
"latest": <deployment>}}``, every secret sealed by the passphrase secrets provider with the salt
named in ``secrets_providers`` — the stack config's ``encryptionsalt``, as the CLI uses. So the
Pulumi CLI and ``bcs-deploy`` can take a stack over from each other. The file is replaced after
each step, so a crash loses at most the step in flight.

A stack the driver kept in its former private format (``.bcs/state/<stack>.json``) is migrated
the first time it is loaded; the old file stays beside it as ``<stack>.json.migrated``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from provider.driver.backend import StackPaths, write_blob
from provider.driver.checkpoint import CHECKPOINT_VERSION, CheckpointError, from_deployment, to_deployment
from provider.driver.locks import StateLocked, locked
from provider.driver.secrets import Crypter, has_plain_secret, has_sealed, passphrase_from_env, seal, unseal
from provider.driver.state_model import ResourceState, StackState

__all__ = ["CheckpointError", "ResourceState", "StackState", "StateLocked", "StateStore", "locked"]


class StateStore:
    """Reads and writes one stack's checkpoint; build it inside :func:`locks.locked`.

    ``salt`` is the stack config's ``encryptionsalt``; ``new_salt`` is called with a fresh one
    when the config has none and secrets must be sealed (the CLI writes it on ``stack init``).
    ``provider_inputs`` is the default provider's inputs: the stack config, secrets wrapped.
    """

    def __init__(
        self,
        paths: StackPaths,
        salt: str | None = None,
        provider_inputs: dict[str, Any] | None = None,
        legacy: Path | None = None,
        echo: Callable[[str], None] | None = None,
        new_salt: Callable[[str], None] | None = None,
    ) -> None:
        self.paths = paths
        self.path = paths.checkpoint
        self.stack = paths.stack
        self.legacy = legacy
        self._salt = salt
        self._read_salt: str | None = None
        self._provider_inputs = provider_inputs or {}
        self._echo = echo or (lambda _line: None)
        self._new_salt = new_salt
        self._crypters: dict[str | None, Crypter] = {}

    def _crypter(self, salt: str | None) -> Crypter:
        if salt not in self._crypters:
            crypter = Crypter(passphrase_from_env(), salt)
            self._crypters[salt] = self._crypters[crypter.salt_state] = crypter
        return self._crypters[salt]

    def exists(self) -> bool:
        return self.path.is_file() or bool(self.legacy and self.legacy.is_file())

    def load(self) -> StackState:
        if self.path.is_file():
            return self._load_checkpoint()
        if self.legacy is not None and self.legacy.is_file():
            return self._migrate(self.legacy)
        return StackState(stack=self.stack)

    def _load_checkpoint(self) -> StackState:
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        deployment = (doc.get("checkpoint") or {}).get("latest") or {}
        if deployment.get("pending_operations"):
            raise CheckpointError(
                f"{self.path}: the stack has {len(deployment['pending_operations'])} pending operation(s) "
                "from an interrupted run; resolve them with `pulumi refresh` first"
            )
        self._read_salt = ((deployment.get("secrets_providers") or {}).get("state") or {}).get("salt")
        if has_sealed(deployment.get("resources")):
            crypter = self._crypter(self._read_salt)
            deployment = {**deployment, "resources": unseal(deployment["resources"], crypter)}
        return from_deployment(deployment, self.stack)

    def _migrate(self, legacy: Path) -> StackState:
        doc = json.loads(legacy.read_text(encoding="utf-8"))
        salt = (doc.get("secrets") or {}).get("salt")
        body = {"resources": doc.get("resources", []), "outputs": doc.get("outputs", {})}
        if has_sealed(body):
            body = unseal(body, self._crypter(salt))
        resources = [ResourceState(**r) for r in body["resources"]]
        state = StackState(stack=self.stack, resources=resources, outputs=body["outputs"])
        state.has_root = bool(resources or state.outputs)
        self._read_salt = salt
        self.save(state)
        legacy.rename(legacy.with_name(legacy.name + ".migrated"))
        self._echo(f"migrated {legacy} to the Pulumi file backend: {self.path} (the old file is kept as "
                   f"{legacy.name}.migrated)")
        return state

    def _write_salt(self, needs_secrets: bool) -> str | None:
        """The salt to seal with: the config's, else the one the checkpoint had, else a new one."""
        salt = self._salt or self._read_salt
        if salt or not needs_secrets:
            return salt
        salt = self._crypter(None).salt_state
        if self._new_salt is not None:
            self._new_salt(salt)
        self._salt = salt
        return salt

    def save(self, state: StackState) -> None:
        deployment = to_deployment(state, self.paths.project, self._provider_inputs, None)
        secret = has_plain_secret(deployment["resources"])
        salt = self._write_salt(secret)
        if salt:
            deployment = to_deployment(state, self.paths.project, self._provider_inputs, salt)
        if secret:
            deployment["resources"] = seal(deployment["resources"], self._crypter(salt))
        checkpoint = {"stack": self.paths.qualified_stack, "latest": deployment}
        doc = {"version": CHECKPOINT_VERSION, "checkpoint": checkpoint}
        self.paths.ensure_layout()
        write_blob(self.path, json.dumps(doc, separators=(",", ":")).encode())
