"""Named clusters: VMs are slots, one instance per VM at a time; ModifyCluster grows them."""

from __future__ import annotations

from pathlib import Path

from tests.service.jobspec import job, task
from tests.support.client import SignedClient


def cluster_body(vms: int) -> dict:
    return {
        "Name": "pool",
        "ImageId": "img-ubuntu",
        "Groups": {"g": {"DesiredVMCount": vms, "InstanceType": "ecs.sn1.large"}},
    }


def test_one_instance_per_vm_and_growing_the_cluster(scratch: Path, shared_client: SignedClient) -> None:
    client = shared_client
    r = client.post("/clusters", cluster_body(1))
    assert r.status_code == 201
    cluster_id = r.json()["Id"]
    trace = scratch / "trace"
    # each instance logs start/end around a short sleep; with one slot they never interleave
    cmd = f"sh -c 'echo start >> {trace}; sleep 0.2; echo end >> {trace}'"
    job_id = client.create_job(job({"a": task(cmd, count=3, cluster_id=cluster_id)}))
    assert client.wait_job(job_id, timeout=30)["State"] == "Finished"
    assert trace.read_text().split() == ["start", "end"] * 3
    inst = client.get(f"/jobs/{job_id}/tasks/a/instances/0").json()
    t = client.get(f"/jobs/{job_id}/tasks/a").json()
    assert t["ClusterId"] == cluster_id and t["AutoClusterId"] == ""
    assert inst["State"] == "Finished"

    # a barrier: each of two instances waits (up to 10 s) for the other's marker -> needs 2 slots
    barrier = scratch / "barrier"
    barrier.mkdir(mode=0o777)
    barrier.chmod(0o777)  # the instances run as an unprivileged user
    wait_cmd = (
        f"sh -c 'touch {barrier}/$BATCH_COMPUTE_DAG_INSTANCE_ID; i=0; "
        f"while [ $(ls {barrier} | wc -l) -lt 2 ]; do i=$((i+1)); [ $i -gt 100 ] && exit 7; sleep 0.1; done'"
    )
    assert client.put(f"/clusters/{cluster_id}", {"Groups": {"g": {"DesiredVMCount": 2}}}).status_code == 200
    assert client.get(f"/clusters/{cluster_id}").json()["Groups"]["g"]["ActualVMCount"] == 2
    job2 = client.create_job(job({"b": task(wait_cmd, count=2, cluster_id=cluster_id)}))
    assert client.wait_job(job2, timeout=30)["State"] == "Finished"

    # the instance type of the group reaches the instance (CPU/memory from the table)
    env_cmd = f"sh -c 'echo $BATCH_COMPUTE_CLUSTER_ID > {scratch}/cid'"
    job3 = client.create_job(job({"c": task(env_cmd, cluster_id=cluster_id)}))
    client.wait_job(job3)
    assert (scratch / "cid").read_text().strip() == cluster_id


def test_unknown_cluster_and_cluster_errors(shared_client: SignedClient) -> None:
    client = shared_client
    r = client.post("/jobs", job({"a": task("true", cluster_id="cls-doesnotexist")}))
    assert r.status_code == 404 and r.json()["Code"] == "InvalidResource.NotFound"
    assert client.get("/clusters/cls-nope").status_code == 404
    cid = client.post("/clusters", cluster_body(1)).json()["Id"]
    r = client.put(f"/clusters/{cid}", {"Groups": {"nogroup": {"DesiredVMCount": 2}}})
    assert r.status_code == 404
    assert client.put(f"/clusters/{cid}", {}).status_code == 200  # empty body = no-op
    assert client.get("/clusters", {"MaxItemCount": 1}).json()["NextMarker"] != ""
    r = client.get("/clusters", {"MaxItemCount": "abc"})
    assert r.status_code == 400 and r.json()["Code"] == "InvalidMaxItemCount"
    assert client.delete(f"/clusters/{cid}").status_code == 204
    assert client.delete(f"/clusters/{cid}").status_code == 404


def test_priority_then_submission_order_on_a_busy_cluster(
    scratch: Path, shared_client: SignedClient
) -> None:
    client = shared_client
    cid = client.post("/clusters", cluster_body(1)).json()["Id"]
    gate = scratch / "gate"
    blocker = client.create_job(
        job({"a": task(f"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done'", cluster_id=cid)})
    )
    client.wait_job(blocker, ("Running",))
    low_first = client.create_job({**job({"a": task("true", cluster_id=cid)}), "Priority": 1})
    low_second = client.create_job({**job({"a": task("true", cluster_id=cid)}), "Priority": 1})
    high = client.create_job({**job({"a": task("true", cluster_id=cid)}), "Priority": 9})
    assert all(client.job(j)["State"] == "Waiting" for j in (low_first, low_second, high))
    gate.touch()
    starts = {j: client.wait_job(j, timeout=30)["StartTime"] for j in (high, low_first, low_second)}
    assert starts[high] < starts[low_first] < starts[low_second]


def test_delete_refused_while_waiting_or_running_jobs_use_the_cluster(
    scratch: Path, shared_client: SignedClient
) -> None:
    """A deleted cluster would leave its jobs' waiting instances waiting forever: 409 instead."""
    client = shared_client
    cid = client.post("/clusters", cluster_body(1)).json()["Id"]
    gate = scratch / "gate"
    running = client.create_job(
        job({"a": task(f"sh -c 'while [ ! -e {gate} ]; do sleep 0.05; done'", cluster_id=cid)})
    )
    client.wait_job(running, ("Running",))
    waiting = client.create_job(job({"a": task("true", cluster_id=cid)}))
    stopped = client.create_job(job({"a": task("true", cluster_id=cid)}))
    assert client.post(f"/jobs/{stopped}/stop").status_code == 201
    client.wait_job(stopped, ("Stopped",))
    assert client.job(waiting)["State"] == "Waiting"

    r = client.delete(f"/clusters/{cid}")
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["Code"] == "StateConflict"
    assert f"cluster {cid} is used by Waiting/Running jobs: {running}, {waiting}." in body["Message"]
    assert stopped not in body["Message"]  # a Stopped job holds nothing; restarting it is its owner's call
    assert client.get(f"/clusters/{cid}").json()["State"] == "Active"

    gate.touch()
    assert client.wait_job(running, timeout=30)["State"] == "Finished"
    assert client.wait_job(waiting, timeout=30)["State"] == "Finished"  # nothing was broken
    assert client.delete(f"/clusters/{cid}").status_code == 204
    assert client.get(f"/clusters/{cid}").status_code == 404


def test_start_job_on_a_deleted_cluster_is_refused(shared_client: SignedClient) -> None:
    """A Stopped job does not hold its cluster, so the cluster may go; restarting the job then
    answers as CreateJob would (404) instead of re-queueing instances that would wait forever."""
    client = shared_client
    cid = client.post("/clusters", cluster_body(0)).json()["Id"]  # no VM: the job can only wait
    waiting = client.create_job(job({"a": task("true", cluster_id=cid)}))
    assert client.post(f"/jobs/{waiting}/stop").status_code == 201
    client.wait_job(waiting, ("Stopped",))
    assert client.delete(f"/clusters/{cid}").status_code == 204
    r = client.post(f"/jobs/{waiting}/start")
    assert r.status_code == 404 and r.json()["Code"] == "InvalidResource.NotFound"
    assert client.job(waiting)["State"] == "Stopped"


def test_cluster_idempotent_token_replays_or_mismatches(shared_client: SignedClient) -> None:
    client = shared_client
    first = client.post("/clusters", cluster_body(1), {"IdempotentToken": "cls_tok_1"})
    again = client.post("/clusters", cluster_body(1), {"IdempotentToken": "cls_tok_1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["Id"] == first.json()["Id"]
    other = client.post("/clusters", cluster_body(2), {"IdempotentToken": "cls_tok_1"})
    assert other.status_code == 400 and other.json()["Code"] == "IdempotentTokenMismatch"
    bad = client.post("/clusters", cluster_body(1), {"IdempotentToken": "not-allowed-dash"})
    assert bad.status_code == 400 and bad.json()["Code"] == "InvalidIdempotentToken"
    assert client.delete(f"/clusters/{first.json()['Id']}").status_code == 204
