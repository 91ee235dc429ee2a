"""Per-stack state: one JSON file, locked against concurrent runs, rewritten atomically.

``.bcs/state/<stack>.json`` under the project holds, per resource, what the engine's checkpoint
holds: URN, type, id, the checked inputs, the provider's outputs and the dependencies. Values are
kept in the wire form of ``pulumi.runtime.rpc`` (secrets as ``{sig, value}``); on disk every
secret is sealed with the stack's passphrase (see ``secrets.py``). The file is replaced with
``os.replace`` after each step, so a crash loses at most the step in flight.

The lock is an ``fcntl`` lock on ``<stack>.lock``, which also records who holds it, so a second
run can say so and stop.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from provider.driver.secrets import Crypter, has_plain_secret, has_sealed, passphrase_from_env, seal, unseal

STATE_VERSION = 1


class StateLocked(Exception):
    """Another run holds the stack's lock."""


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


@dataclass
class StackState:
    """All resources of a stack, in registration order (dependencies first), plus stack outputs."""

    stack: str
    resources: list[ResourceState] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    salt_state: str | None = None

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


class StateStore:
    """Reads and writes one stack's state file; build it inside :func:`locked`."""

    def __init__(self, directory: Path, stack: str, salt_hint: str | None = None) -> None:
        self.path = directory / f"{stack}.json"
        self.stack = stack
        self._salt_hint = salt_hint
        self._crypter: Crypter | None = None

    def _crypter_for(self, salt_state: str | None) -> Crypter:
        if self._crypter is None:
            self._crypter = Crypter(passphrase_from_env(), salt_state or self._salt_hint)
        return self._crypter

    def load(self) -> StackState:
        if not self.path.is_file():
            return StackState(stack=self.stack)
        doc = json.loads(self.path.read_text(encoding="utf-8"))
        salt = (doc.get("secrets") or {}).get("salt")
        body = {"resources": doc.get("resources", []), "outputs": doc.get("outputs", {})}
        if has_sealed(body):
            body = unseal(body, self._crypter_for(salt))
        resources = [ResourceState(**r) for r in body["resources"]]
        return StackState(stack=self.stack, resources=resources, outputs=body["outputs"], salt_state=salt)

    def save(self, state: StackState) -> None:
        body: dict[str, Any] = {
            "resources": [asdict(r) for r in state.resources],
            "outputs": state.outputs,
        }
        if has_plain_secret(body):
            crypter = self._crypter_for(state.salt_state)
            state.salt_state = crypter.salt_state
            body = seal(body, crypter)
        doc = {"version": STATE_VERSION, "stack": self.stack, "secrets": {"salt": state.salt_state}, **body}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".json.tmp{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, sort_keys=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


@contextlib.contextmanager
def locked(directory: Path, stack: str, command: str) -> Iterator[None]:
    """Hold the stack's lock for the duration; raise :class:`StateLocked` naming the holder."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stack}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise StateLocked(f"stack '{stack}' is locked by {holder}; wait for it to finish") from None
        info = (
            f"pid {os.getpid()} on {socket.gethostname()} (bcs-deploy {command}, "
            f"since {time.strftime('%Y-%m-%dT%H:%M:%S')})"
        )
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        yield
        os.ftruncate(fd, 0)
    finally:
        os.close(fd)
