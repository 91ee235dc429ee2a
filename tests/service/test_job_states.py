"""Job state rules, retries, timeouts, JobFailOnInstanceFail, ReserveOnFail, AutoRelease, PATCH,
history — against a real bcsd running real processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.waiting import until


def wait_state(client: SignedClient, job_id: str, *states: str, timeout: float = 30) -> dict:
    return client.wait_job(job_id, states, timeout)


def tasks_of(client: SignedClient, job_id: str) -> dict[str, dict]:
    return {t["TaskName"]: t for t in client.get(f"/jobs/{job_id}/tasks").json()["Items"]}


def instance(client: SignedClient, job_id: str, name: str, idx: int = 0) -> dict:
    return client.get(f"/jobs/{job_id}/tasks/{name}/instances/{idx}").json()


def test_failed_task_fails_job_and_downstream_is_reported_stopped(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(job({"a": task("false"), "b": task("true")}, {"a": ["b"]}))
    body = wait_state(client, job_id, "Failed")
    assert "a.0" in body["Message"]
    tasks = tasks_of(client, job_id)
    assert tasks["a"]["State"] == "Failed" and tasks["b"]["State"] == "Stopped"
    assert instance(client, job_id, "b")["StartTime"] == ""  # never started
    assert instance(client, job_id, "a")["Result"]["ExitCode"] == 1


def test_retries_follow_max_retry_count(scratch: Path, shared_client: SignedClient) -> None:
    client = shared_client
    # fails the first two attempts, succeeds on the third: a counter file in the scratch folder
    marker = scratch / "retry-counter"
    script = f"sh -c 'n=$(cat {marker} 2>/dev/null || echo 0); echo $((n+1)) > {marker}; [ $n -ge 2 ]'"
    try:
        ok = client.create_job(job({"a": task(script, retry=2)}))
        assert wait_state(client, ok, "Finished", "Failed")["State"] == "Finished"
        assert instance(client, ok, "a")["RetryCount"] == 2
        os.unlink(marker)
        bad = client.create_job(job({"a": task(script, retry=1)}))
        assert wait_state(client, bad, "Finished", "Failed")["State"] == "Failed"
        assert instance(client, bad, "a")["RetryCount"] == 1
    finally:
        if os.path.exists(marker):
            os.unlink(marker)


def test_timeout_kills_the_instance_and_counts_as_failure(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(job({"a": task("sleep 30", timeout=1)}))
    wait_state(client, job_id, "Failed")
    inst = instance(client, job_id, "a")
    assert inst["State"] == "Failed" and inst["Result"]["ErrorCode"] == "InstanceTimeout"


def test_job_fail_on_instance_fail_false_tolerates_failures(shared_client: SignedClient) -> None:
    client = shared_client
    spec = job(
        {"a": task("sh -c '[ $BATCH_COMPUTE_DAG_INSTANCE_ID -ne 1 ]'", count=3), "b": task("true")},
        {"a": ["b"]},
    )
    spec["JobFailOnInstanceFail"] = False
    job_id = client.create_job(spec)
    body = wait_state(client, job_id, "Finished", "Failed")
    assert body["State"] == "Finished"
    assert body["InstanceMetrics"]["FailedCount"] == 1 and body["InstanceMetrics"]["FinishedCount"] == 3


def test_stop_start_delete_state_rules(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(job({"a": task("sleep 30", count=2)}))
    wait_state(client, job_id, "Running")
    assert client.delete(f"/jobs/{job_id}").json()["Code"] == "StateConflict"
    assert client.post(f"/jobs/{job_id}/start").status_code == 409
    assert client.put(f"/jobs/{job_id}", {"Priority": 3}).status_code == 409
    assert client.post(f"/jobs/{job_id}/stop").status_code == 201
    body = client.job(job_id)
    assert body["State"] == "Stopped" and body["InstanceMetrics"]["StoppedCount"] == 2
    assert client.post(f"/jobs/{job_id}/stop").status_code == 409
    assert client.put(f"/jobs/{job_id}", {"Priority": 3}).status_code == 200
    assert client.post(f"/jobs/{job_id}/start").status_code == 201
    assert client.job(job_id)["State"] in ("Waiting", "Running")
    wait_state(client, job_id, "Running")
    client.post(f"/jobs/{job_id}/stop")
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    gone = client.get(f"/jobs/{job_id}")
    assert gone.status_code == 404 and gone.json()["Code"] == "InvalidResource.NotFound"
    assert client.get(f"/jobs/{job_id}/tasks").status_code == 404


def test_start_after_failure_requeues_only_unfinished_instances(
    scratch: Path, shared_client: SignedClient
) -> None:
    client = shared_client
    marker = scratch / "start-marker"
    cmd = f"sh -c '[ $BATCH_COMPUTE_DAG_INSTANCE_ID -eq 0 ] || {{ sleep 1; [ -e {marker} ]; }}'"
    try:
        job_id = client.create_job(job({"a": task(cmd, count=2)}))
        wait_state(client, job_id, "Failed")
        first = instance(client, job_id, "a", 0)
        assert first["State"] == "Finished"
        first_end = first["EndTime"]
        open(marker, "w").close()
        assert client.post(f"/jobs/{job_id}/start").status_code == 201
        assert wait_state(client, job_id, "Finished", "Failed")["State"] == "Finished"
        assert instance(client, job_id, "a", 0)["EndTime"] == first_end  # Finished instance not rerun
    finally:
        if os.path.exists(marker):
            os.unlink(marker)


def test_reserve_on_fail_keeps_vms_and_sandbox_until_delete(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(
        job({"a": task("sh -c 'echo kept > evidence.txt; exit 3'", reserve_on_fail=True)})
    )
    wait_state(client, job_id, "Failed")
    t = tasks_of(client, job_id)["a"]
    assert t["ReservedVMCount"] == 1 and t["VMCount"] == 1 and t["AutoClusterId"].startswith("cls-")
    inst = instance(client, job_id, "a")
    assert inst["SandboxPath"] and os.path.isdir(inst["SandboxPath"])
    # without ReserveOnFail the AutoCluster is gone once the task ends
    other = client.create_job(job({"a": task("false")}))
    wait_state(client, other, "Failed")
    assert tasks_of(client, other)["a"]["VMCount"] == 0 and instance(client, other, "a")["SandboxPath"] == ""
    assert client.delete(f"/jobs/{job_id}").status_code == 204
    assert not os.path.exists(inst["SandboxPath"])  # released with the job


def test_auto_release_leaves_a_tombstone(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(job({"a": task("true")}, AutoRelease=True))
    deadline = time.monotonic() + 30
    while (r := client.get(f"/jobs/{job_id}")).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.status_code == 410
    assert r.json()["Code"] == "InvalidResource.Released" and "released automatically" in r.json()["Message"]
    assert client.get(f"/jobs/{job_id}/tasks").status_code == 410
    failed = client.create_job(job({"a": task("false")}, AutoRelease=True))
    assert wait_state(client, failed, "Failed")["State"] == "Failed"  # only Finished jobs are released


def test_patch_history_and_priority_ordering(shared_client: SignedClient) -> None:
    client = shared_client
    job_id = client.create_job(job({"a": task("true")}))
    wait_state(client, job_id, "Finished")
    r = client.patch(f"/jobs/{job_id}", {"Description": "new words", "Priority": 7})
    assert r.status_code == 200, r.text
    assert client.job(job_id)["Priority"] == 7
    assert client.get(f"/jobs/{job_id}", "description").json()["Description"] == "new words"
    items = client.get(f"/jobs/{job_id}/history").json()["Items"]
    job_moves = [(i["From"], i["To"]) for i in items if i["Scope"] == "Job"]
    assert job_moves == [("Waiting", "Running"), ("Running", "Finished")]


def test_idempotent_token_mismatch_and_quota(shared_client: SignedClient) -> None:
    client = shared_client
    spec = job({"a": task("true")})
    first = client.create_job(spec, token="tok_same")
    assert client.create_job(spec, token="tok_same") == first
    r = client.post("/jobs", job({"a": task("false")}), {"IdempotentToken": "tok_same"})
    assert r.status_code == 400 and r.json()["Code"] == "IdempotentTokenMismatch"
    r = client.post("/jobs", job({"a": task("true", timeout=10**7)}))
    assert r.status_code == 403 and r.json()["Code"] == "QuotaExhausted.MaxInstanceTimeout"


def test_description_is_the_defaulted_body_with_unknown_keys(shared_client: SignedClient) -> None:
    client = shared_client
    spec = job({"a": task("true", Foo="bar")}, WriteSupport=True)
    del spec["DAG"]["Tasks"]["a"]["Timeout"]
    job_id = client.create_job(spec)
    desc = client.get(f"/jobs/{job_id}", "description").json()
    assert desc["Id"] == job_id and desc["WriteSupport"] is True
    assert desc["DAG"]["Tasks"]["a"]["Foo"] == "bar" and desc["DAG"]["Tasks"]["a"]["Timeout"] == 86400


def test_max_job_count_counts_stored_jobs_across_deletes_and_restarts(tmp_path: Path) -> None:
    """MaxJobCount counts stored jobs in any state: DeleteJob and AutoRelease give a slot back,
    a refused create keeps none, and the count survives a restart (a counter row, not COUNT)."""
    bcsd = start_bcsd(tmp_path, max_job_count=2)
    try:
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            first = client.create_job(job({"a": task("true")}))
            wait_state(client, first, "Finished")
            released = client.create_job(job({"a": task("true")}, AutoRelease=True))
            until(lambda: client.get(f"/jobs/{released}").status_code == 410, "AutoRelease", timeout=30)
            second = client.create_job(job({"a": task("true")}))
            r = client.post("/jobs", job({"a": task("true", timeout=10**7)}))
            assert r.json()["Code"] == "QuotaExhausted.MaxJobCount"  # MaxJobCount is reported first
            r = client.post("/jobs", job({"a": task("true")}))
            assert r.status_code == 403 and r.json()["Code"] == "QuotaExhausted.MaxJobCount"
            wait_state(client, second, "Finished")
            bcsd.restart()
            r = client.post("/jobs", job({"a": task("true")}))
            assert r.status_code == 403 and r.json()["Code"] == "QuotaExhausted.MaxJobCount"
            assert client.delete(f"/jobs/{first}").status_code == 204
            client.create_job(job({"a": task("true")}))
    finally:
        bcsd.stop()
