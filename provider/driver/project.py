"""The project (``Pulumi.yaml``) and a stack's configuration (``Pulumi.<stack>.yaml``).

Read the way the Pulumi CLI reads them: ``main`` is the program folder, ``stackConfigDir`` holds
the per-stack files, keys without a namespace belong to the project, structured values reach the
program as JSON strings, and ``secure:`` values are decrypted with the stack's passphrase and
its ``encryptionsalt``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from provider.driver.secrets import Crypter, SecretsError, passphrase_from_env


class ProjectError(Exception):
    """``Pulumi.yaml`` or the stack's config file is missing or malformed."""


@dataclass(frozen=True)
class Project:
    """What ``Pulumi.yaml`` says about where things are."""

    root: Path
    name: str
    main: Path
    stack_config_dir: Path
    python: str
    backend_url: str | None = None

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"


@dataclass
class StackConfig:
    """Decrypted configuration of one stack: ``ns:key`` → string, and which keys are secret."""

    values: dict[str, str] = field(default_factory=dict)
    secret_keys: set[str] = field(default_factory=set)
    salt_state: str | None = None


def load_project(root: Path) -> Project:
    """Read ``root/Pulumi.yaml``; the interpreter is the project's virtualenv when it has one."""
    path = root / "Pulumi.yaml"
    if not path.is_file():
        raise ProjectError(f"no Pulumi.yaml in {root} (use --cwd to point at the project)")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectError(f"{path}: 'name' is required")
    main = root / str(doc.get("main") or ".")
    config_dir = root / str(doc.get("stackConfigDir") or ".")
    runtime = doc.get("runtime")
    venv = None
    if isinstance(runtime, dict):
        venv = (runtime.get("options") or {}).get("virtualenv")
    python = os.environ.get("BCS_DEPLOY_PYTHON") or _python_of(root, venv)
    backend = doc.get("backend")
    backend_url = backend.get("url") if isinstance(backend, dict) else None
    return Project(root=root, name=name, main=main, stack_config_dir=config_dir, python=python,
                   backend_url=backend_url)


def _python_of(root: Path, venv: str | None) -> str:
    if venv:
        base = Path(venv) if Path(venv).is_absolute() else root / venv
        candidate = base / "bin" / "python"
        if candidate.exists():
            return str(candidate)
    import sys

    return sys.executable


def qualify(key: str, project: str) -> str:
    """``key`` with its namespace: ``priority`` → ``<project>:priority``."""
    return key if ":" in key else f"{project}:{key}"


def load_stack_config(project: Project, stack: str, need_secrets: bool = True) -> StackConfig:
    """Read and decrypt ``Pulumi.<stack>.yaml``. A missing file is an empty config."""
    path = project.stack_file(stack)
    if not path.is_file():
        return StackConfig()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML: {exc}") from None
    raw = doc.get("config") or {}
    if not isinstance(raw, dict):
        raise ProjectError(f"{path}: 'config' must be a mapping")
    salt = doc.get("encryptionsalt")
    crypter: Crypter | None = None
    out = StackConfig(salt_state=salt)
    for key, value in raw.items():
        full = qualify(str(key), project.name)
        if isinstance(value, dict) and set(value) == {"secure"}:
            out.secret_keys.add(full)
            if not need_secrets:
                out.values[full] = "[secret]"
                continue
            if crypter is None:
                if not salt:
                    raise ProjectError(f"{path}: has secure values but no encryptionsalt")
                try:
                    crypter = Crypter(passphrase_from_env(), salt)
                except SecretsError as exc:
                    raise ProjectError(f"{path}: {exc}") from None
            try:
                out.values[full] = crypter.decrypt(str(value["secure"]))
            except SecretsError as exc:
                raise ProjectError(f"{path}: {full}: {exc}") from None
        elif isinstance(value, str):
            out.values[full] = value
        else:
            out.values[full] = config_json(value)
    return out


def config_json(value: Any) -> str:
    """A structured config value as the CLI hands it on: compact JSON with sorted keys."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def set_encryption_salt(project: Project, stack: str, salt: str) -> None:
    """Record a new passphrase salt as ``encryptionsalt`` in ``Pulumi.<stack>.yaml`` (what
    ``pulumi stack init`` does), keeping everything else in the file as it was."""
    path = project.stack_file(stack)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    doc = (yaml.safe_load(text) or {}) if text else {}
    if doc.get("encryptionsalt"):
        return
    if text and not text.endswith("\n"):
        text += "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + f"encryptionsalt: {salt}\n", encoding="utf-8")


def set_stack_config(project: Project, stack: str, key: str, value: str, secret: bool) -> None:
    """Write one value into ``Pulumi.<stack>.yaml``; ``secret`` encrypts it (like ``pulumi config set``)."""
    path = project.stack_file(stack)
    doc: dict[str, Any] = {}
    if path.is_file():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config = doc.setdefault("config", {})
    if secret:
        try:
            crypter = Crypter(passphrase_from_env(), doc.get("encryptionsalt"))
        except SecretsError as exc:
            raise ProjectError(str(exc)) from None
        doc["encryptionsalt"] = crypter.salt_state
        config[key] = {"secure": crypter.encrypt(value)}
    else:
        config[key] = value
    ordered: dict[str, Any] = {k: doc[k] for k in ("secretsprovider", "encryptionsalt") if k in doc}
    ordered.update({k: v for k, v in doc.items() if k not in ordered})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(ordered, sort_keys=False), encoding="utf-8")
