"""Fixtures: a copy of the toy project per test, and a runner for the real ``bcs-deploy`` CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).parent
REPO = HERE.parent.parent
PASSPHRASE = "correct horse battery staple"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.out)

    def ops(self) -> dict[str, str]:
        return {s["name"]: s["operation"] for s in self.json()["steps"]}


def run_deploy(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    full_env = dict(os.environ)
    full_env["PULUMI_CONFIG_PASSPHRASE"] = PASSPHRASE
    full_env.pop("BCS_DEBUG", None)
    full_env.pop("PULUMI_BACKEND_URL", None)  # the project's default backend, .bcs/pulumi
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "provider.driver.cli", *args, "--cwd", str(cwd)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class ToyProject:
    root: Path
    data: Path

    def items(self, items: dict[str, Any]) -> None:
        (self.root / "items.yaml").write_text(yaml.safe_dump(items))

    def deploy(self, *args: str, **kw: Any) -> Result:
        return run_deploy(self.root, *args, **kw)

    def ops_log(self) -> list[str]:
        path = self.data / "ops.log"
        return path.read_text().splitlines() if path.exists() else []

    @property
    def checkpoint(self) -> Path:
        """The dev stack's checkpoint in the default file backend (``.bcs/pulumi``)."""
        return self.root / ".bcs" / "pulumi" / ".pulumi" / "stacks" / "toy" / "dev.json"

    def state_text(self) -> str:
        return self.checkpoint.read_text()

    def resources(self) -> list[dict[str, Any]]:
        """The checkpoint's resources (secrets sealed), as ``pulumi stack export`` shows them."""
        return json.loads(self.state_text())["checkpoint"]["latest"].get("resources") or []


@pytest.fixture
def toy(tmp_path: Path) -> ToyProject:
    root = tmp_path / "toy"
    shutil.copytree(HERE / "toy", root)
    data = tmp_path / "data"
    data.mkdir()
    (root / "Pulumi.dev.yaml").write_text(
        yaml.safe_dump({"config": {"toy:dir": str(data), "toy:greeting": "hello"}})
    )
    return ToyProject(root, data)
