"""The offline driver with the real ``Job``/``Cluster`` providers against a real bcsd.

One GitOps project (a copy of ``Pulumi.yaml`` and ``stacks/__main__.py`` with its own specs and
a ``Pulumi.test.yaml`` pointing at this module's bcsd; keys through the environment) goes
through the whole lifecycle with as few ``bcs-deploy`` runs as the scenario needs:
preview -> up -> up (no-op) -> refresh after an AutoRelease -> up with a priority change, a
command change, a cluster resize and a removed spec -> destroy. What the driver reports is
checked against what bcsd says through the signed client.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient
from tests.support.waiting import until

from .conftest import REPO, Result, run_deploy

pytestmark = pytest.mark.slow
STACK = "test"


def job_spec(name: str, command: str, *, cluster: str = "", **top: Any) -> dict[str, Any]:
    """A one-task job; on the stack's cluster ``cluster`` (``cluster:<name>``) or an AutoCluster."""
    task: dict[str, Any] = {
        "InstanceCount": 1,
        "Timeout": 60,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
    }
    if cluster:
        task["ClusterId"] = f"cluster:{cluster}"
    else:
        task["AutoCluster"] = {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu"}
    return {"Name": name, "Priority": 1, "Type": "DAG", "DAG": {"Tasks": {"main": task}}, **top}


POOL = {
    "Name": "pool",
    "ImageId": "img-ubuntu",
    "InstanceType": "bcs.a2.large",
    "Groups": {"g": {"DesiredVMCount": 1, "InstanceType": "bcs.a2.large", "ResourceType": "OnDemand"}},
}


class Project:
    """A GitOps project dir whose specs the test rewrites between driver runs."""

    def __init__(self, root: Path, service: BcsdProcess) -> None:
        self.root = root
        self.env = {"BCS_ACCESS_KEY_ID": service.key_id, "BCS_ACCESS_KEY_SECRET": service.secret}
        (root / "stacks" / "specs" / "jobs").mkdir(parents=True)
        (root / "stacks" / "specs" / "clusters").mkdir(parents=True)
        shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
        shutil.copy(REPO / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
        self.config({"bcs:endpoint": service.url, "bcs:region": "local"})

    def config(self, values: dict[str, Any]) -> None:
        path = self.root / "stacks" / f"Pulumi.{STACK}.yaml"
        path.write_text(yaml.safe_dump({"config": values}))

    def spec(self, kind: str, name: str, body: dict[str, Any] | None) -> None:
        path = self.root / "stacks" / "specs" / kind / f"{name}.yaml"
        if body is None:
            path.unlink()
        else:
            path.write_text(yaml.safe_dump(body))

    def deploy(self, command: str, *flags: str) -> Result:
        result = run_deploy(self.root, command, "--stack", STACK, *flags, env=self.env)
        assert result.code == 0, f"{command}: {result.err}\n{result.out}"
        assert "Traceback" not in result.err
        return result

    def ids(self, result: Result) -> tuple[dict[str, str], dict[str, str]]:
        outs = result.json()["outputs"]
        return (
            {n: v["id"] for n, v in outs["jobs"].items()},
            {n: v["id"] for n, v in outs["clusters"].items()},
        )


def test_lifecycle_through_the_driver(
    tmp_path: Path, shared_bcsd: BcsdProcess, shared_client: SignedClient
) -> None:
    service, client = shared_bcsd, shared_client
    project = Project(tmp_path / "gitops", service)
    project.spec("clusters", "pool", POOL)
    project.spec("jobs", "prio", job_spec("prio", "python3 -c pass"))
    project.spec("jobs", "cmd", job_spec("cmd", "python3 -c pass"))
    project.spec("jobs", "onpool", job_spec("onpool", "python3 -c pass", cluster="pool"))
    project.spec("jobs", "gone", job_spec("gone", "python3 -c pass"))
    project.spec("jobs", "auto", job_spec("auto", "python3 -c pass", AutoRelease=True))

    # -- preview: everything is a create; the cluster id onpool needs is not known yet, and
    #    Check accepts it (the engine checks again once it is known)
    preview = project.deploy("preview")
    for name in ("auto", "cmd", "gone", "onpool", "prio"):
        assert f"+ {name} (pulumi-python:dynamic/bcs:Job) create" in preview.out
    assert "+ pool (pulumi-python:dynamic/bcs:Cluster) create" in preview.out
    # (before the fix, Check failed here: "ClusterId ... Its type must be string")
    assert client.get("/jobs").json()["Items"] == []

    # -- up: the cluster before the job that uses it; onpool runs on the cluster's real id
    up = project.deploy("up", "--yes", "--json")
    order = [s["name"] for s in up.json()["steps"]]
    assert order.index("pool") < order.index("onpool")
    assert set(up.ops().values()) == {"create"}
    jobs, clusters = project.ids(up)
    pool_id = clusters["pool"]
    assert client.get(f"/clusters/{pool_id}").json()["State"] == "Active"
    for name, job_id in jobs.items():
        assert client.get(f"/jobs/{job_id}").status_code in (200, 410), name  # auto may be released
    assert client.get(f"/jobs/{jobs['onpool']}/tasks/main").json()["ClusterId"] == pool_id
    assert client.wait_job(jobs["onpool"])["State"] == "Finished"

    # -- up again: nothing to do
    again = project.deploy("up", "--yes", "--json")
    assert set(again.ops().values()) == {"same"}

    # -- the AutoRelease job finished and was released: refresh keeps it, marked released
    until(lambda: client.get(f"/jobs/{jobs['auto']}").status_code == 410, "auto-release")
    refresh = project.deploy("refresh", "--yes", "--json")
    assert refresh.ops()["auto"] in ("same", "update")  # never "delete": it stays in state
    checkpoint = project.root / ".bcs" / "pulumi" / ".pulumi" / "stacks" / "bcs-gitops" / f"{STACK}.json"
    resources = json.loads(checkpoint.read_text())["checkpoint"]["latest"]["resources"]
    auto = next(r for r in resources if r.get("id") == jobs["auto"])
    assert auto["outputs"]["released"] is True

    # -- one change of each kind, then up
    for name in ("prio", "cmd", "gone"):
        client.wait_job(jobs[name])  # every job has ended: nothing is stopped behind our back
    project.spec("jobs", "prio", job_spec("prio", "python3 -c pass", Priority=5))
    project.spec("jobs", "cmd", job_spec("cmd", "python3 -c 'print(2)'"))
    project.spec("jobs", "gone", None)
    overrides = {"clusters": {"pool": {"Groups": {"g": {"DesiredVMCount": 2}}}}}
    project.config({"bcs:endpoint": service.url, "bcs:region": "local", "bcs-gitops:overrides": overrides})
    preview = project.deploy("preview")
    assert preview.code == 0, preview.err
    # integers stay integers, as the engine prints them (they cross gRPC as doubles)
    assert "~ Priority: 1 => 5" in preview.out, preview.out
    assert "~ Groups.g.DesiredVMCount: 1 => 2" in preview.out, preview.out
    assert ".0 =>" not in preview.out and "=> 5.0" not in preview.out
    changed = project.deploy("up", "--yes", "--json")
    ops = changed.ops()
    assert ops == {
        "pool": "update",
        "auto": "same",
        "cmd": "replace",
        "onpool": "same",
        "prio": "update",
        "gone": "delete",
    }
    steps = {s["name"]: s for s in changed.json()["steps"]}
    assert steps["cmd"]["deleteBeforeReplace"] is True and steps["cmd"]["replaces"] == ["DAG"]
    (priority,) = [c for c in steps["prio"]["changes"] if c["path"] == "Priority"]
    assert (priority["old"], priority["new"]) == (1, 5) and type(priority["new"]) is int  # --json too
    assert "replacing" in changed.err
    new_jobs, new_clusters = project.ids(changed)
    assert new_clusters["pool"] == pool_id
    assert client.get(f"/clusters/{pool_id}").json()["Groups"]["g"]["ActualVMCount"] == 2
    assert new_jobs["prio"] == jobs["prio"]
    assert client.job(jobs["prio"])["Priority"] == 5
    assert new_jobs["cmd"] != jobs["cmd"]
    assert client.get(f"/jobs/{jobs['cmd']}").status_code == 404  # deleted before its replacement
    assert client.job(new_jobs["cmd"])["Name"] == "cmd"
    assert "gone" not in new_jobs and client.get(f"/jobs/{jobs['gone']}").status_code == 404
    assert new_jobs["auto"] == jobs["auto"]  # released, not re-created
    assert len(client.get("/jobs").json()["Items"]) == 3  # prio, cmd (new), onpool

    # -- destroy: jobs before the cluster they run on; nothing left in bcsd
    destroy = project.deploy("destroy", "--yes", "--json")
    names = [s["name"] for s in destroy.json()["steps"]]
    # only onpool depends on pool; the program registers independent resources concurrently, so
    # where the others (auto, with no cluster of its own) fall relative to pool is not fixed
    assert set(destroy.ops().values()) == {"delete"}
    assert sorted(names) == ["auto", "cmd", "onpool", "pool", "prio"]
    assert names.index("onpool") < names.index("pool")
    assert client.get("/jobs").json()["Items"] == []
    assert client.get(f"/clusters/{pool_id}").status_code == 404
    assert client.get("/clusters").json()["Items"] == []
