"""bcsd serve: generated credentials, the ready line, list paging, cluster shrink."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient


def test_generated_credentials_are_kept_private_and_reused(tmp_path: Path) -> None:
    bcsd = start_bcsd(tmp_path, generate_credentials=True)
    try:
        creds = bcsd.data_dir / "credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert bcsd.generated_credentials and bcsd.key_id
        log = bcsd.log()
        assert "bcsd ready on http://127.0.0.1:" in log and bcsd.key_id in log and bcsd.secret not in log
        client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
        job_id = client.create_job(job({"a": task("true")}))
        first_key = bcsd.key_id
        bcsd.restart()  # same data dir: same key pair, the job is still there
        assert bcsd.key_id == first_key
        assert client.get(f"/jobs/{job_id}").status_code == 200
        client.close()
    finally:
        bcsd.stop()


def test_list_paging_covers_every_job_once(shared_client: SignedClient) -> None:
    client = shared_client
    made = {client.create_job(job({"a": task("true")})) for _ in range(5)}
    seen: list[str] = []
    marker = ""
    while True:
        page = client.get("/jobs", {"Marker": marker, "MaxItemCount": 2}).json()
        assert len(page["Items"]) <= 2
        seen += [j["Id"] for j in page["Items"]]
        marker = page["NextMarker"]
        if not marker:
            break
    assert len(seen) == len(set(seen)) and made <= set(seen)
    newest_first = client.get("/jobs", {"MaxItemCount": 100}).json()["Items"]
    oldest_first = client.get("/jobs", {"MaxItemCount": 100, "IsReverse": "True"}).json()["Items"]
    assert [j["Id"] for j in newest_first] == [j["Id"] for j in reversed(oldest_first)]
    r = client.get("/jobs", {"MaxItemCount": 101})
    assert r.status_code == 400 and r.json()["Code"] == "InvalidMaxItemCount"


def test_shrinking_a_cluster_removes_free_vms(shared_client: SignedClient) -> None:
    client = shared_client
    body = {
        "Name": "c",
        "ImageId": "img-ubuntu",
        "Groups": {"g": {"DesiredVMCount": 3, "InstanceType": "ecs.t1.small"}},
    }
    cid = client.post("/clusters", body).json()["Id"]
    assert client.put(f"/clusters/{cid}", {"Groups": {"g": {"DesiredVMCount": 1}}}).status_code == 200
    cluster = client.get(f"/clusters/{cid}").json()
    assert cluster["Groups"]["g"]["DesiredVMCount"] == 1 and cluster["Groups"]["g"]["ActualVMCount"] == 1
    assert len(client.get(f"/clusters/{cid}/groups/g/instances").json()["Items"]) == 1
    job_id = client.create_job(job({"a": task("true", count=2, cluster_id=cid)}))
    assert client.wait_job(job_id, timeout=30)["State"] == "Finished"
