"""The offline driver held to the real engine: one scenario, both engines, the same steps and outputs.

The same GitOps scenario runs on two projects, each its own stack and file backend, against one
real bcsd: one deployed by the Pulumi CLI, one by ``bcs-deploy``. After every step, per resource,
the kind of step (same / create / update / replace / delete, and for a replace whether the old
resource went first) and the stack outputs must agree. The engine's steps come from its event
log; the driver's from ``--json``. A difference is a driver bug: fix the driver, not this test.

Outputs are compared with ids masked (each stack has its own jobs and clusters) and job states
masked too: whether a job is still Waiting or already Finished when its create returns is the
scheduler's business, not the engine's. Cluster states are compared as they are. Every job has
ended before the next step, so no step meets a job mid-run. After each driver step the CLI
previews the driver's stack from the same checkpoint and must find nothing to change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.stacks.test_driver_bcsd import job_spec  # the driver suite's one-task job
from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient
from tests.support.pulumi_cli import KEY_ENV, PulumiProject, gitops_tree, require_cli

pytestmark = pytest.mark.slow
STACK = "test"
TYPES = ("pulumi-python:dynamic/bcs:Job", "pulumi-python:dynamic/bcs:Cluster")
Steps = dict[str, str]  # resource name -> "same" | "create" | "update" | "replace(dbr)" | ...


def cluster_spec(vms: int = 1, instance_type: str = "bcs.a2.large") -> dict[str, Any]:
    group = {"DesiredVMCount": vms, "InstanceType": "bcs.a2.large", "ResourceType": "OnDemand"}
    return {"Name": "pool", "ImageId": "img-ubuntu", "InstanceType": instance_type, "Groups": {"g": group}}


POOL = cluster_spec()

# (what the step does to the specs, the steps the engine takes); None removes a spec
SCENARIO: list[tuple[str, dict[tuple[str, str], dict[str, Any] | None], Steps]] = [
    (
        "create",
        {
            ("clusters", "pool"): POOL,
            ("jobs", "prio"): job_spec("prio", "python3 -c pass"),
            ("jobs", "cmd"): job_spec("cmd", "python3 -c pass"),
            ("jobs", "onpool"): job_spec("onpool", "python3 -c pass", cluster="pool"),
            ("jobs", "gone"): job_spec("gone", "python3 -c pass"),
        },
        {"pool": "create", "prio": "create", "cmd": "create", "onpool": "create", "gone": "create"},
    ),
    ("no-op", {}, {"pool": "same", "prio": "same", "cmd": "same", "onpool": "same", "gone": "same"}),
    (
        "change",
        {
            ("jobs", "prio"): job_spec("prio", "python3 -c pass", Priority=5),
            ("jobs", "cmd"): job_spec("cmd", "python3 -c 'print(2)'"),
            ("jobs", "gone"): None,
        },
        {"pool": "same", "prio": "update", "cmd": "replace(delete-before-replace)", "onpool": "same",
         "gone": "delete"},
    ),
    (
        "resize the cluster",
        {("clusters", "pool"): cluster_spec(vms=2)},
        {"pool": "update", "prio": "same", "cmd": "same", "onpool": "same"},
    ),
    (
        # a new cluster first; the job on it gets the new id, so it is replaced too
        "replace the cluster",
        {("clusters", "pool"): cluster_spec(vms=2, instance_type="bcs.a2.xlarge")},
        {"pool": "replace(create-before-delete)", "prio": "same", "cmd": "same",
         "onpool": "replace(delete-before-replace)"},
    ),
]
DESTROYED: Steps = {"pool": "delete", "prio": "delete", "cmd": "delete", "onpool": "delete"}


class Side(PulumiProject):
    """One engine's copy of the GitOps project on stack ``test`` (keys in stack config)."""

    def __init__(self, root: Path, bin_dir: Path, service: BcsdProcess) -> None:
        gitops_tree(root)
        super().__init__(root, bin_dir)
        for var in KEY_ENV:
            self.env.pop(var, None)
        config = {"bcs:endpoint": service.url, "bcs:region": "local", "bcs:accessKeyId": service.key_id}
        (root / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": config}))
        self.runs = 0

    def up(self) -> tuple[Steps, dict[str, Any]]:
        raise NotImplementedError

    def destroy(self) -> Steps:
        raise NotImplementedError


class CliSide(Side):
    def __init__(self, root: Path, bin_dir: Path, service: BcsdProcess) -> None:
        super().__init__(root, bin_dir, service)
        self.env["PULUMI_DEBUG_COMMANDS"] = "true"  # makes --event-log available
        self.stack_init(STACK)
        self.pulumi("config", "set", "--secret", "bcs:accessKeySecret", service.secret, "--stack", STACK)

    def _run(self, command: str) -> Steps:
        self.runs += 1
        log = self.root / f"events-{self.runs}.jsonl"
        self.pulumi(command, "--yes", "--skip-preview", "--event-log", str(log), "--stack", STACK)
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        return engine_steps(events)

    def up(self) -> tuple[Steps, dict[str, Any]]:
        steps = self._run("up")
        return steps, json.loads(self.pulumi("stack", "output", "--json", "--stack", STACK).out)

    def destroy(self) -> Steps:
        return self._run("destroy")


class DriverSide(Side):
    def __init__(self, root: Path, bin_dir: Path, service: BcsdProcess) -> None:
        super().__init__(root, bin_dir, service)
        self.deploy("config", "set", "--secret", "bcs:accessKeySecret", service.secret)

    def deploy(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "provider.driver.cli", *args, "--stack", STACK, "--cwd", str(self.root)],
            env=self.env, capture_output=True, text=True, timeout=300, check=False,
        )
        assert done.returncode == 0, f"bcs-deploy {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return json.loads(done.stdout) if "--json" in args else {}

    def up(self) -> tuple[Steps, dict[str, Any]]:
        doc = self.deploy("up", "--yes", "--json")
        return driver_steps(doc), doc["outputs"]

    def destroy(self) -> Steps:
        return driver_steps(self.deploy("destroy", "--yes", "--json"))

    def cli_finds_nothing_to_do(self) -> None:
        """The real engine previews the driver's stack from the same checkpoint: no change."""
        self.pulumi("stack", "select", STACK)
        self.pulumi("preview", "--expect-no-changes", "--stack", STACK)


def engine_steps(events: list[dict[str, Any]]) -> Steps:
    """Per resource, the engine's step kind from the event log (a replace as a sequence of
    ``create-replacement`` / ``replace`` / ``delete-replaced`` ops, in the order carried out)."""
    ops: dict[str, list[str]] = {}
    for event in events:
        meta = (event.get("resOutputsEvent") or {}).get("metadata")
        if meta and meta.get("type") in TYPES:
            ops.setdefault(meta["urn"].rsplit("::", 1)[1], []).append(meta["op"])
    out: Steps = {}
    for name, seq in ops.items():
        if "create-replacement" in seq or "delete-replaced" in seq:
            first = seq.index("delete-replaced") < seq.index("create-replacement")
            out[name] = "replace(delete-before-replace)" if first else "replace(create-before-delete)"
        else:
            assert len(seq) == 1, (name, seq)
            out[name] = seq[0]
    return out


def driver_steps(doc: dict[str, Any]) -> Steps:
    out: Steps = {}
    for step in doc["steps"]:
        if step["type"] not in TYPES:
            continue
        op = step["operation"]
        if op == "replace":
            op += "(delete-before-replace)" if step["deleteBeforeReplace"] else "(create-before-delete)"
        out[step["name"]] = op
    return out


def masked(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs without what differs between two stacks by nature: ids, transient states."""
    def one(kind: str, entry: dict[str, Any]) -> dict[str, Any]:
        out = {**entry, "id": "<id>" if entry.get("id") else ""}
        if kind == "jobs" and entry.get("state"):
            out["state"] = "<job state>"
        return out

    return {
        kind: {name: one(kind, entry) for name, entry in (outputs.get(kind) or {}).items()}
        for kind in ("jobs", "clusters")
    }


def wait_all(client: SignedClient, outputs: dict[str, Any]) -> None:
    """Every job of the stack has ended, so no step meets a job mid-run."""
    for entry in (outputs.get("jobs") or {}).values():
        if entry.get("id"):
            client.wait_job(entry["id"])


def test_driver_takes_the_engines_steps(
    tmp_path: Path, shared_bcsd: BcsdProcess, shared_client: SignedClient
) -> None:
    bin_dir = require_cli()
    cli = CliSide(tmp_path / "cli", bin_dir, shared_bcsd)
    driver = DriverSide(tmp_path / "driver", bin_dir, shared_bcsd)
    for label, changes, expected in SCENARIO:
        for side in (cli, driver):
            for (kind, name), body in changes.items():
                side.spec(kind, name, body)
        cli_steps, cli_out = cli.up()
        driver_steps_, driver_out = driver.up()
        assert driver_steps_ == cli_steps, f"step '{label}': the driver differs from the engine"
        assert masked(driver_out) == masked(cli_out), f"step '{label}': stack outputs differ"
        assert cli_steps == expected, f"step '{label}': the scenario did not do what it says"
        driver.cli_finds_nothing_to_do()
        wait_all(shared_client, cli_out)
        wait_all(shared_client, driver_out)
    cli_destroyed, driver_destroyed = cli.destroy(), driver.destroy()
    assert driver_destroyed == cli_destroyed == DESTROYED
    assert shared_client.get("/jobs").json()["Items"] == []
    assert shared_client.get("/clusters").json()["Items"] == []
