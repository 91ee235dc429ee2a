"""The provider's lifecycle through the real Pulumi engine, checked against what bcsd holds.

One GitOps project goes through the chain tests/stacks/test_driver_bcsd.py runs with the offline
driver, now with the real ``pulumi`` CLI: preview on empty state -> up -> no-op up -> refresh
after an AutoRelease -> a job deleted behind Pulumi's back -> one change of each kind (priority
in place, command replace, ReserveOnFail job removed, cluster resize) -> destroy, which a foreign
job on the cluster first blocks. The keys are stack config, the secret set with
``pulumi config set --secret``; the last step checks it never reached the disk or any output in
plaintext. Steps share the project and run in order (``incremental``, see conftest).
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.client import SignedClient
from tests.support.waiting import until

from .conftest import CLUSTER_TYPE, JOB_TYPE, EngineProject, cluster_spec, job_spec, jobs_named, steps, task

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow, pytest.mark.incremental]



PASS = "python3 -c pass"
LONG = "python3 -c 'import time; time.sleep(600)'"  # still Running when it is replaced
JOBS = ("prio", "cmd", "onpool", "auto", "reserve", "ghost")


class Chain:
    """What the steps learn and hand on: ids before a change, to compare with ids after it."""

    jobs: dict[str, str] = {}
    pool_id: str = ""
    reserve_sandbox: str = ""
    reserve_cluster: str = ""
    foreign: str = ""


def _task(shared_client: SignedClient, job_id: str) -> dict[str, Any]:
    r = shared_client.get(f"/jobs/{job_id}/tasks/main")
    assert r.status_code == 200, r.text
    return r.json()


def _context(text: str, secret: str) -> str:
    """Where ``secret`` sits in ``text`` (masked), for a failure message that does not leak it."""
    at = text.index(secret)
    return text[max(0, at - 300): at + len(secret) + 100].replace(secret, "<SECRET>")


def test_01_preview_on_empty_state(project: EngineProject, shared_client: SignedClient) -> None:
    project.spec("clusters", "pool", cluster_spec("pool", 1))
    project.spec("jobs", "prio", job_spec("prio", task(PASS), wait_for=60))
    project.spec("jobs", "cmd", job_spec("cmd", task(LONG, timeout=900)))
    project.spec("jobs", "onpool", job_spec("onpool", task(PASS, cluster="pool"), wait_for=60))
    project.spec("jobs", "auto", job_spec("auto", task(PASS), AutoRelease=True))
    failing = task("python3 -c 'import sys; sys.exit(3)'", ReserveOnFail=True)
    project.spec("jobs", "reserve", job_spec("reserve", failing, JobFailOnInstanceFail=True))
    project.spec("jobs", "ghost", job_spec("ghost", task(PASS), wait_for=60))

    preview = project.cli("preview", "--diff")
    for name in JOBS:
        assert re.search(rf"\+ {re.escape(JOB_TYPE)}: \(create\)\n\s+\[urn=\S+::{name}\]", preview.out), (
            name, preview.out)
    assert re.search(rf"\+ {re.escape(CLUSTER_TYPE)}: \(create\)\n\s+\[urn=\S+::pool\]", preview.out)
    assert "+ 8 to create" in preview.out  # the stack too
    # a preview creates nothing (the cluster id onpool needs is unknown; check lets it through)
    assert shared_client.get("/jobs").json()["Items"] == []
    assert shared_client.get("/clusters").json()["Items"] == []


def test_02_up_creates_and_jobs_finish(project: EngineProject, shared_client: SignedClient) -> None:
    run, events = project.engine("up")
    done = steps(events)
    assert {n: ops[-1] for n, ops in done.items()} == {n: "create" for n in (*JOBS, "pool")}, run.out
    outs = project.outputs()
    Chain.jobs = {n: v["id"] for n, v in outs["jobs"].items()}
    Chain.pool_id = outs["clusters"]["pool"]["id"]
    assert set(Chain.jobs) == set(JOBS) and all(i.startswith("job-") for i in Chain.jobs.values())
    # wait_for jobs were Finished before up returned, and their outputs say so
    for name in ("prio", "onpool", "ghost"):
        assert outs["jobs"][name]["state"] == "Finished", outs
        assert shared_client.job(Chain.jobs[name])["State"] == "Finished"
    assert outs["jobs"]["cmd"]["state"] in ("Waiting", "Running")
    assert outs["clusters"]["pool"]["state"] == "Active"
    assert shared_client.get(f"/clusters/{Chain.pool_id}").json()["State"] == "Active"
    assert _task(shared_client, Chain.jobs["onpool"])["ClusterId"] == Chain.pool_id
    until(lambda: shared_client.job(Chain.jobs["cmd"])["State"] == "Running", "cmd running")
    # ReserveOnFail: the failed task keeps its AutoCluster VM and its sandbox
    reserve = Chain.jobs["reserve"]
    until(lambda: shared_client.job(reserve)["State"] == "Failed", "reserve failed")
    main = _task(shared_client, reserve)
    assert main["ReservedVMCount"] >= 1, main
    Chain.reserve_cluster = main["AutoClusterId"]  # bcsd lists AutoClusters only under their task
    instance = shared_client.get(f"/jobs/{reserve}/tasks/main/instances").json()["Items"][0]
    Chain.reserve_sandbox = instance["SandboxPath"]
    assert Chain.reserve_sandbox and Path(Chain.reserve_sandbox).is_dir(), instance
    # AutoRelease: bcsd releases the job once it finished
    until(lambda: shared_client.get(f"/jobs/{Chain.jobs['auto']}").status_code == 410, "auto released")


def test_03_up_again_changes_nothing(project: EngineProject, shared_client: SignedClient) -> None:
    run, events = project.engine("up")
    done = steps(events)
    assert set(done) == {*JOBS, "pool"} and {ops[-1] for ops in done.values()} == {"same"}, done
    assert "8 unchanged" in run.out and "created" not in run.out and "updated" not in run.out
    project.cli("preview", "--expect-no-changes")
    assert len(shared_client.get("/jobs").json()["Items"]) == 5  # all but the released one


def test_04_refresh_keeps_the_released_job(project: EngineProject, shared_client: SignedClient) -> None:
    run, _ = project.engine("refresh")
    state = project.state()
    assert set(state) == {*JOBS, "pool"}, run.out  # the released job was not dropped
    auto = state["auto"]
    assert auto["id"] == Chain.jobs["auto"] and auto["outputs"]["released"] is True, auto["outputs"]
    assert state["reserve"]["outputs"]["state"] == "Failed"
    reserved = state["reserve"]["outputs"]["tasks"]["main"]["auto_cluster"]
    assert reserved["reserved"] is True and reserved["cluster_id"] == Chain.reserve_cluster
    project.cli("preview", "--expect-no-changes")  # refreshed outputs plan nothing either
    assert jobs_named(shared_client, "auto") == []


def test_05_job_deleted_behind_pulumis_back_is_dropped_by_refresh(
    project: EngineProject, shared_client: SignedClient
) -> None:
    assert shared_client.delete(f"/jobs/{Chain.jobs['ghost']}").status_code == 204
    run, _ = project.engine("refresh")
    assert set(project.state()) == {*JOBS, "pool"} - {"ghost"}, run.out
    assert jobs_named(shared_client, "ghost") == []  # refresh only reads: nothing re-created yet


def test_06_changes_update_replace_delete_recreate(
    project: EngineProject, shared_client: SignedClient
) -> None:
    """Priority in place, CommandLine replace (delete-before-replace of a Running job), the
    ReserveOnFail job removed, the cluster resized in place, ghost re-created."""
    project.spec("jobs", "prio", job_spec("prio", task(PASS), wait_for=60, Priority=5))
    project.spec("jobs", "cmd", job_spec("cmd", task("python3 -c 'print(2)'"), wait_for=60))
    project.spec("jobs", "reserve", None)
    project.config({"bcs-gitops:overrides": {"clusters": {"pool": {"Groups": {"g": {"DesiredVMCount": 2}}}}}})

    preview = project.cli("preview", "--diff")
    assert re.search(r"~ Priority\s*: 1 => 5", preview.out), preview.out
    assert re.search(r"\+- .*replace.*\[diff: ~DAG\]|\+-.*\(replace\)", preview.out), preview.out
    assert re.search(r"~ DesiredVMCount\s*: 1 => 2", preview.out), preview.out

    # watch bcsd through the whole up: it must never hold the old and the new cmd at once
    seen_together: list[list[str]] = []
    stop = threading.Event()

    def watch() -> None:
        with SignedClient(project.service.url, project.service.key_id, project.service.secret) as c:
            while not stop.is_set():
                ids = [j["Id"] for j in jobs_named(c, "cmd")]
                if len(ids) > 1:
                    seen_together.append(ids)
                stop.wait(0.02)  # leave the 2 cores to bcsd and the engine

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run, events = project.engine("up")
    finally:
        stop.set()
        watcher.join(timeout=30)
    done = steps(events)
    assert done["prio"] == ["update"] and done["pool"] == ["update"], done
    assert done["reserve"] == ["delete"] and done["ghost"] == ["create"], done
    assert done["onpool"] == ["same"] and done["auto"] == ["same"], done
    # delete-before-replace (create-before-delete would end the other way round)
    assert done["cmd"] == ["delete-replaced", "replace", "create-replacement"], done
    assert seen_together == [], f"old and new cmd both in bcsd: {seen_together[:3]}"

    outs = {n: v["id"] for n, v in project.outputs()["jobs"].items()}
    # Priority: same job, new priority in bcsd
    assert outs["prio"] == Chain.jobs["prio"] and shared_client.job(outs["prio"])["Priority"] == 5
    # CommandLine: a new job; the old (stopped while Running) is gone
    assert outs["cmd"] != Chain.jobs["cmd"]
    assert shared_client.get(f"/jobs/{Chain.jobs['cmd']}").status_code == 404
    assert [j["Id"] for j in jobs_named(shared_client, "cmd")] == [outs["cmd"]]
    assert shared_client.job(outs["cmd"])["State"] == "Finished"
    # ReserveOnFail job removed: the job with its reserved AutoCluster VM and its sandbox
    assert shared_client.get(f"/jobs/{Chain.jobs['reserve']}").status_code == 404
    assert not Path(Chain.reserve_sandbox).exists()
    # ghost: re-created under a new id
    assert outs["ghost"] != Chain.jobs["ghost"] and shared_client.job(outs["ghost"])["Name"] == "ghost"
    # the cluster: same id, two VMs
    assert project.outputs()["clusters"]["pool"]["id"] == Chain.pool_id
    until(
        lambda: shared_client.get(f"/clusters/{Chain.pool_id}").json()["Groups"]["g"]["ActualVMCount"] == 2,
        "pool resized to 2 VMs",
    )
    # AutoRelease: still the released job in state, never re-created
    assert project.state()["auto"]["id"] == Chain.jobs["auto"] and jobs_named(shared_client, "auto") == []
    Chain.jobs = outs


def test_07_a_cluster_in_use_is_not_deleted(project: EngineProject, shared_client: SignedClient) -> None:
    """A job outside the stack runs on the pool: destroy deletes the stack's jobs but not the
    cluster, naming the job that uses it."""
    foreign = job_spec("foreign", {**task(LONG, timeout=900), "ClusterId": Chain.pool_id})
    Chain.foreign = shared_client.create_job(foreign)
    until(lambda: shared_client.job(Chain.foreign)["State"] == "Running", "foreign job running")
    run, _ = project.engine("destroy", check=False)
    assert run.code != 0
    assert Chain.foreign in run.out + run.err, run.out
    assert shared_client.get(f"/clusters/{Chain.pool_id}").json()["State"] == "Active"
    assert set(project.state()) == {"pool"}
    assert [j["Id"] for j in shared_client.get("/jobs").json()["Items"]] == [Chain.foreign]


def test_08_destroy_leaves_nothing(project: EngineProject, shared_client: SignedClient) -> None:
    assert shared_client.post(f"/jobs/{Chain.foreign}/stop").status_code == 201
    until(lambda: shared_client.job(Chain.foreign)["State"] == "Stopped", "foreign job stopped")
    assert shared_client.delete(f"/jobs/{Chain.foreign}").status_code == 204
    run, events = project.engine("destroy")
    assert steps(events) == {"pool": ["delete"]}, run.out
    assert project.state() == {}
    assert shared_client.get("/jobs").json()["Items"] == []
    assert shared_client.get("/clusters").json()["Items"] == []
    assert shared_client.get(f"/clusters/{Chain.pool_id}").status_code == 404


def test_09_the_secret_key_never_appears_in_plaintext(project: EngineProject) -> None:
    secret = project.service.secret
    stack_file = project.stack_file.read_text()
    assert re.search(r"bcs:accessKeySecret:\s*\n\s*secure: v1:", stack_file), stack_file
    # verbose engine and provider logs too; not -v=9: at 9 the engine's own trace of the
    # Configure RPC prints every config value it marshals, secrets included
    logged = project.cli("preview", "--diff", "-v=8", "--logtostderr", "--logflow")
    leaks = [_context(text, secret) for text in project.transcript if secret in text]
    for path in (project.root / ".backend", project.root / ".pulumi-home", project.root / "stacks"):
        leaks += [str(f) for f in path.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]
    leaks += [str(f) for f in project.root.glob("events-*.jsonl") if secret in f.read_text()]
    assert leaks == [], f"the access key secret in plaintext in: {leaks}"
    assert project.service.key_id in logged.err  # the verbose log really holds the config
