"""The real-engine suite's project: a GitOps repository run with the real ``pulumi`` CLI against a
real bcsd, keys in stack config (the secret through ``pulumi config set --secret``).

A scenario module is one chain of steps over one project (each ``pulumi up`` costs seconds), so
steps are ordered test functions marked ``incremental``: once a step fails, the later steps of
that module are reported as xfail naming the failed step instead of failing confusingly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient
from tests.support.pulumi_cli import KEY_ENV, PulumiProject, Run, export_state, gitops_tree, require_cli

STACK = "test"
JOB_TYPE = "pulumi-python:dynamic/bcs:Job"
CLUSTER_TYPE = "pulumi-python:dynamic/bcs:Cluster"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "incremental: later steps xfail once an earlier step failed")


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if "incremental" in item.keywords and call.excinfo is not None and call.when == "call":
        item.parent._failed_step = item.name  # type: ignore[union-attr]


def pytest_runtest_setup(item: pytest.Item) -> None:
    failed = getattr(item.parent, "_failed_step", None)
    if "incremental" in item.keywords and failed is not None:
        pytest.xfail(f"an earlier step failed: {failed}")


def task(command: str, *, cluster: str = "", timeout: int = 120, **auto: Any) -> dict[str, Any]:
    """One instance running ``command``, on the stack's cluster ``cluster`` or an AutoCluster."""
    body: dict[str, Any] = {
        "InstanceCount": 1,
        "Timeout": timeout,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
    }
    if cluster:
        body["ClusterId"] = f"cluster:{cluster}"
    else:
        body["AutoCluster"] = {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu", **auto}
    return body


def job_spec(name: str, main: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A one-task DAG job spec as a GitOps repo holds it (``wait_for`` etc. may sit in ``top``)."""
    return {"Name": name, "Priority": 1, "Type": "DAG", "DAG": {"Tasks": {"main": main}}, **top}


def cluster_spec(name: str, vms: int) -> dict[str, Any]:
    return {
        "Name": name,
        "ImageId": "img-ubuntu",
        "InstanceType": "bcs.a2.large",
        "Groups": {"g": {"DesiredVMCount": vms, "InstanceType": "bcs.a2.large", "ResourceType": "OnDemand"}},
    }


class EngineProject(PulumiProject):
    """A GitOps project (``stacks/__main__.py`` + specs) on stack ``test`` pointing at ``service``.

    Every CLI run's output is kept in ``transcript`` so a scenario can check that no secret was
    ever printed; ``up`` and friends write the engine's event log, from which ``steps`` reads
    what the engine really did (``same``, ``update``, ``replace``, ...), in order.
    """

    def __init__(self, root: Path, bin_dir: Path, service: BcsdProcess) -> None:
        gitops_tree(root)
        super().__init__(root, bin_dir)
        for var in KEY_ENV:
            self.env.pop(var, None)  # the stack's config is the only source of keys
        self.env["PULUMI_DEBUG_COMMANDS"] = "true"  # unhides --event-log
        self.service = service
        self.transcript: list[str] = []
        self.runs = 0
        self.stack_init(STACK)
        self.config({"bcs:endpoint": service.url, "bcs:region": "local", "bcs:accessKeyId": service.key_id})
        self.cli("config", "set", "--secret", "bcs:accessKeySecret", service.secret)

    @property
    def stack_file(self) -> Path:
        return self.root / "stacks" / f"Pulumi.{STACK}.yaml"

    def config(self, values: dict[str, Any]) -> None:
        """Set plain config keys in ``Pulumi.test.yaml``, keeping what the CLI wrote (the
        encryption salt, the ``secure:`` secret)."""
        doc = yaml.safe_load(self.stack_file.read_text()) if self.stack_file.exists() else None
        doc = doc or {}
        doc.setdefault("config", {}).update(values)
        self.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False))

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> Run:
        """``pulumi ARGS --stack test``; its output joins the transcript."""
        self.runs += 1
        run = self.pulumi(*args, "--stack", STACK, check=check, timeout=timeout)
        self.transcript += [run.out, run.err]
        assert "Traceback" not in run.out + run.err, f"pulumi {' '.join(args)}:\n{run.out}\n{run.err}"
        return run

    def engine(self, command: str, *args: str, check: bool = True) -> tuple[Run, list[dict[str, Any]]]:
        """``pulumi up|refresh|destroy --yes --skip-preview`` (the preview pass would only cost
        time here) with the engine's event log; the run and its events."""
        log = self.root / f"events-{self.runs}.jsonl"
        run = self.cli(command, "--yes", "--skip-preview", "--event-log", str(log), *args, check=check)
        events = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        return run, events

    def outputs(self) -> dict[str, Any]:
        return json.loads(self.cli("stack", "output", "--json").out)

    def state(self) -> dict[str, dict[str, Any]]:
        """The checkpoint's resources of our two types, by name: ``{name: {id, outputs, ...}}``."""
        resources = export_state(self, STACK).get("resources") or []
        return {
            r["urn"].rsplit("::", 1)[1]: r for r in resources if r["type"] in (JOB_TYPE, CLUSTER_TYPE)
        }


def steps(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Per resource name, the operations the engine carried out, in order (from the event log's
    ``resOutputsEvent``s): ``["same"]``, ``["update"]``, ``["delete-replaced", "replace",
    "create-replacement"]`` ..."""
    done: dict[str, list[str]] = {}
    for event in events:
        meta = (event.get("resOutputsEvent") or {}).get("metadata")
        if meta and meta.get("type") in (JOB_TYPE, CLUSTER_TYPE):
            done.setdefault(meta["urn"].rsplit("::", 1)[1], []).append(meta["op"])
    return done


def jobs_named(client: SignedClient, name: str) -> list[dict[str, Any]]:
    """Every job bcsd holds under ``name``."""
    return [j for j in client.get("/jobs").json()["Items"] if j.get("Name") == name]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shared_bcsd: BcsdProcess) -> EngineProject:
    """One GitOps project per scenario module, on the module's own bcsd (``shared_bcsd``: the
    modules' assertions count everything it holds; ``shared_client`` asks it)."""
    return EngineProject(tmp_path_factory.mktemp("gitops"), require_cli(), shared_bcsd)
