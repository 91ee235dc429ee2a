"""A commit that fails once, in the middle of exits, launches and a CreateJob (issue 11).

bcsd is started with ``BCSD_FAULT_COMMIT`` (``service/store/faults.py``), which makes chosen
real commits fail at the store boundary: ``database is locked`` on SQLite, a server-raised
serialization failure on PostgreSQL (``tests/scaleout/test_commit_faults.py`` runs the same
scenarios there). Afterwards no exit is lost, no VM slot leaks, no instance starts twice, and
every job reaches its terminal state; a failed CreateJob leaves nothing behind (no row, no
view the scheduler would run) and succeeds when the client retries it.

Every command appends a line to a file named after its instance, so the files count real
process starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, start_bcsd
from tests.support.client import SignedClient

VMS = 3


def recording(marks: Path) -> str:
    target = f"{marks}/$BATCH_COMPUTE_DAG_JOB_ID.$BATCH_COMPUTE_DAG_TASK_ID.$BATCH_COMPUTE_DAG_INSTANCE_ID"
    return f"sh -c 'echo start >> {target}'"


def barrier(folder: Path, parties: int) -> str:
    """Each instance marks itself and waits (up to 20 s) for ``parties`` marks: it finishes only
    when that many instances run at once, i.e. when ``parties`` slots are free."""
    return (
        f"sh -c 'touch {folder}/$BATCH_COMPUTE_DAG_INSTANCE_ID; i=0; "
        f"while [ $(ls {folder} | wc -l) -lt {parties} ]; do i=$((i+1)); [ $i -gt 400 ] && exit 1; "
        "sleep 0.05; done'"
    )


def shared_folder(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir()
    folder.chmod(0o777)  # the instances run as an unprivileged user
    return folder


@contextmanager
def faulty_bcsd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: str, options: dict[str, object]
) -> Iterator[tuple[BcsdProcess, SignedClient, str]]:
    """bcsd whose commits fail as ``plan`` says, its client, and a named cluster of ``VMS`` VMs."""
    monkeypatch.setenv("BCSD_FAULT_COMMIT", plan)
    with (
        start_bcsd(tmp_path, max_running=VMS, **options) as bcsd,
        SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client,
    ):
        groups = {"g": {"DesiredVMCount": VMS, "InstanceType": "ecs.sn1.medium"}}
        r = client.post("/clusters", {"Name": "pool", "ImageId": "img-ubuntu", "Groups": groups})
        assert r.status_code == 201, r.text
        yield bcsd, client, r.json()["Id"]


def assert_each_started_once(client: SignedClient, marks: Path, expected: dict[str, int]) -> None:
    """``expected``: job id -> instances. Every one started exactly once, nothing else started."""
    for job_id, count in expected.items():
        body = client.wait_job(job_id, timeout=90)
        assert body["State"] == "Finished", body
        assert body["InstanceMetrics"]["FinishedCount"] == count
        items = client.get(f"/jobs/{job_id}/history").json()["Items"]
        starts = [
            (h["Task"], h["Instance"]) for h in items if h["Scope"] == "Instance" and h["To"] == "Running"
        ]
        assert len(starts) == count == len(set(starts)), f"{job_id}: an instance was scheduled twice"
    started = {f.name.split(".")[0] for f in marks.iterdir()}
    assert started == set(expected), "an instance of a job the store does not hold ran"
    assert len(list(marks.iterdir())) == sum(expected.values())
    for f in marks.iterdir():
        assert f.read_text().split() == ["start"], f"{f.name} started more than once"


def assert_no_slot_leaked(client: SignedClient, scratch: Path, cluster_id: str) -> None:
    """Every VM of the cluster takes an instance at the same time again, and the node holds no
    slot once that job ended."""
    gate = shared_folder(scratch, "gate")
    probe = client.create_job(job({"d": task(barrier(gate, VMS), count=VMS, cluster_id=cluster_id)}))
    assert client.wait_job(probe, timeout=60)["State"] == "Finished"
    found = re.search(r"^bcsd_instances_running (\S+)$", client.get("/metrics").text, re.MULTILINE)
    assert found is not None and float(found.group(1)) == 0


def exits_and_launches(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, **options: object
) -> None:
    # the second launch, the third and the sixth exit fail to commit once each
    with faulty_bcsd(tmp_path, monkeypatch, "launch@1,exit@2,exit@5", options) as (bcsd, client, cluster_id):
        marks = shared_folder(scratch, "marks")
        cmd = recording(marks)
        tasks = {
            "a": task(cmd, count=6, cluster_id=cluster_id),
            "b": task(cmd, count=3, cluster_id=cluster_id),
        }
        first = client.create_job(job(tasks, {"a": ["b"]}))
        second = client.create_job(job({"c": task(cmd, count=4)}))  # on its own AutoCluster
        assert_each_started_once(client, marks, {first: 9, second: 4})
        for kind in ("launch", "exit"):
            assert f"injected commit failure ({kind}" in bcsd.log(), f"no {kind} commit failed"
        assert_no_slot_leaked(client, scratch, cluster_id)


def create_job(tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> None:
    # the second CreateJob fails to commit
    with faulty_bcsd(tmp_path, monkeypatch, "create@1", options) as (bcsd, client, cluster_id):
        marks = shared_folder(scratch, "marks")
        cmd = recording(marks)
        first = client.create_job(job({"a": task(cmd, count=2, cluster_id=cluster_id)}), token="first")
        spec = job({"c": task(cmd, count=2, cluster_id=cluster_id)})
        # the store refused the commit: a clean 503 in the API's error body, nothing stored
        refused = client.post("/jobs", spec, {"IdempotentToken": "second"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["Code"] == "ServiceUnavailable" and refused.json()["RequestId"], refused.text
        assert "injected commit failure (create" in bcsd.log()
        client.wait_job(first, timeout=60)
        assert [j["Id"] for j in client.get("/jobs").json()["Items"]] == [first]
        second = client.create_job(spec, token="second")  # the client retries: stored afresh
        assert second != first
        assert_each_started_once(client, marks, {first: 2, second: 2})
        assert_no_slot_leaked(client, scratch, cluster_id)


def test_failed_commits_of_exits_and_launches_lose_nothing_on_sqlite(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exits_and_launches(tmp_path, scratch, monkeypatch)


def test_failed_create_commit_leaves_nothing_on_sqlite(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_job(tmp_path, scratch, monkeypatch)


def test_failed_nonce_commit_answers_503_and_the_retry_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the second signed request's nonce (after the cluster's) cannot be stored: that request is
    # answered 503 ServiceUnavailable in the API's error body, not a 500; the next one goes through
    with faulty_bcsd(tmp_path, monkeypatch, "nonce@1", {}) as (bcsd, client, _cluster):
        refused = client.get("/jobs")
        assert refused.status_code == 503, refused.text
        assert refused.json()["Code"] == "ServiceUnavailable"
        assert client.get("/jobs").status_code == 200
        assert "injected commit failure" in bcsd.log_path.read_text()
