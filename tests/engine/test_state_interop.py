"""One checkpoint for both engines: ``bcs-deploy`` and the real Pulumi CLI take a stack over from
each other on the same file backend, with no change either way, and never run it at once.

The toy project of ``tests/stacks`` (each resource a JSON file, every provider call logged) keeps
this quick; the BatchCompute providers go through both engines in ``test_differential.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from provider.driver.backend import StackPaths
from provider.driver.locks import locked
from tests.support.pulumi_cli import REPO, PulumiProject, Run, export_state, require_cli

TOY = REPO / "tests" / "stacks" / "toy"


class ToyOnBothEngines(PulumiProject):
    """The toy project on a file backend that both the CLI and the driver use."""

    def __init__(self, root: Path, bin_dir: Path) -> None:
        shutil.copytree(TOY, root, dirs_exist_ok=True)
        super().__init__(root, bin_dir, env={"PYTHONPATH": f"{REPO}{os.pathsep}{root}"})
        venv = Path(sys.executable).parent.parent
        doc = {"name": "toy", "runtime": {"name": "python", "options": {"virtualenv": str(venv)}},
               "main": "program/"}
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
        self.data = root / "data"
        self.data.mkdir()
        (root / "Pulumi.dev.yaml").write_text(
            yaml.safe_dump({"config": {"toy:dir": str(self.data), "toy:greeting": "hello",
                                       "toy:obj": {"zb": 1, "a": [1, {"y": 2, "b": "x"}]}}})
        )

    def items(self, items: dict[str, Any]) -> None:
        (self.root / "items.yaml").write_text(yaml.safe_dump(items))

    def deploy(self, *args: str) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "provider.driver.cli", *args, "--stack", "dev", "--cwd", str(self.root)],
            env=self.env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert done.returncode == 0, f"bcs-deploy {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return Run(done.returncode, done.stdout, done.stderr)

    def ops_log(self) -> list[str]:
        path = self.data / "ops.log"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def toy(tmp_path: Path) -> ToyOnBothEngines:
    return ToyOnBothEngines(tmp_path / "toy", require_cli())


def ops(run: Run) -> dict[str, str]:
    return {s["name"]: s["operation"] for s in json.loads(run.out)["steps"]}


def test_driver_then_cli_then_driver(toy: ToyOnBothEngines) -> None:
    toy.items({"a": {"kind": "small", "size": 1, "secret": "s3cr3t"}, "b": {"kind": "small", "parent": "a"}})
    up = toy.deploy("up", "--yes", "--json")
    assert ops(up) == {"a": "create", "b": "create"}

    # the CLI reads the driver's checkpoint: the stack exists, nothing to do, same outputs
    assert "dev" in toy.pulumi("stack", "ls").out
    toy.pulumi("stack", "select", "dev")
    toy.pulumi("preview", "--expect-no-changes")
    outputs = json.loads(toy.pulumi("stack", "output", "--json", "--show-secrets").out)
    assert outputs == json.loads(up.out)["outputs"]
    assert [r["type"] for r in export_state(toy, "dev")["resources"]][:2] == [
        "pulumi:pulumi:Stack", "pulumi:providers:pulumi-python"]

    # the CLI changes the stack (update, replace, create); the driver sees nothing left to do
    toy.items({"a": {"kind": "small", "size": 3, "secret": "s3cr3t"}, "b": {"kind": "big", "parent": "a"},
               "c": {"kind": "small"}})
    toy.pulumi("up", "--yes", "--skip-preview")
    calls = len(toy.ops_log())
    assert set(ops(toy.deploy("preview", "--json")).values()) == {"same"}
    assert set(ops(toy.deploy("up", "--yes", "--json")).values()) == {"same"}
    assert len(toy.ops_log()) == calls  # no provider call changed anything
    toy.pulumi("preview", "--expect-no-changes")

    # and the driver's destroy leaves a checkpoint the CLI reads as empty
    toy.deploy("destroy", "--yes")
    assert export_state(toy, "dev").get("resources") in (None, [])


def test_the_cli_refuses_a_stack_the_driver_holds(toy: ToyOnBothEngines) -> None:
    toy.items({"a": {"kind": "small"}})
    toy.deploy("up", "--yes")
    toy.pulumi("stack", "select", "dev")
    with locked(StackPaths(toy.backend, "toy", "dev"), "up"):
        refused = toy.pulumi("up", "--yes", "--skip-preview", check=False)
    assert refused.code != 0
    assert "the stack is currently locked" in refused.out + refused.err
    toy.pulumi("up", "--yes", "--skip-preview")  # released with the driver's lock
