"""bcsd refuses an InstanceType it does not offer (its ``/available`` table) at CreateJob and
CreateCluster and ModifyCluster, with a 400 naming the type and the path; types it offers are accepted."""

from __future__ import annotations

from tests.service.jobspec import job, task
from tests.support.client import SignedClient


def _cluster(instance_type: str, group_type: str = "") -> dict:
    group = {"DesiredVMCount": 1, "InstanceType": group_type} if group_type else {"DesiredVMCount": 1}
    return {"Name": "pool", "ImageId": "img-ubuntu", "InstanceType": instance_type, "Groups": {"g": group}}


def test_create_job_refuses_an_instance_type_it_does_not_offer(shared_client: SignedClient) -> None:
    table = shared_client.get("/available").json()["AvailableClusterInstanceType"]
    offered = {t["InstanceType"] for t in table}
    assert "bcs.zz.huge" not in offered and "ecs.sn1.medium" in offered
    body = job({"ok": task("true"), "big": task("true")})
    body["DAG"]["Tasks"]["big"]["AutoCluster"]["InstanceType"] = "bcs.zz.huge"
    r = shared_client.post("/jobs", body)
    assert r.status_code == 400, r.text
    doc = r.json()
    assert doc["Code"] == "InvalidAutoCluster.InstanceType"
    assert doc["Message"].startswith("Specified parameter AutoCluster.InstanceType is not valid. ")
    assert "InstanceType bcs.zz.huge is not offered by this service" in doc["Message"]
    assert "ecs.sn1.medium" in doc["Message"]
    # nothing was stored
    assert all(j["Name"] != "test-job" for j in shared_client.get("/jobs").json()["Items"])
    # an offered type is accepted
    body["DAG"]["Tasks"]["big"]["AutoCluster"]["InstanceType"] = "ecs.sn1.medium"
    assert shared_client.post("/jobs", body).status_code == 201


def test_create_cluster_refuses_an_instance_type_it_does_not_offer(shared_client: SignedClient) -> None:
    r = shared_client.post("/clusters", _cluster("bcs.zz.huge"))
    assert r.status_code == 400 and r.json()["Code"] == "InvalidInstanceType", r.text
    r = shared_client.post("/clusters", _cluster("bcs.a2.large", group_type="bcs.zz.huge"))
    assert r.status_code == 400 and r.json()["Code"] == "InvalidGroups.g.InstanceType", r.text
    assert "bcs.zz.huge is not offered" in r.json()["Message"]
    assert shared_client.post("/clusters", _cluster("bcs.a2.large")).status_code == 201


def test_modify_cluster_refuses_an_instance_type_it_does_not_offer(shared_client: SignedClient) -> None:
    cluster_id = shared_client.post("/clusters", _cluster("bcs.a2.large")).json()["Id"]
    r = shared_client.put(f"/clusters/{cluster_id}", {"Groups": {"g": {"InstanceType": "bcs.zz.huge"}}})
    assert r.status_code == 400 and r.json()["Code"] == "InvalidGroups.g.InstanceType", r.text
    assert "bcs.zz.huge is not offered" in r.json()["Message"]
    group = shared_client.get(f"/clusters/{cluster_id}").json()["Groups"]["g"]
    assert group.get("InstanceType", "") != "bcs.zz.huge"  # nothing was changed
    ok = shared_client.put(f"/clusters/{cluster_id}", {"Groups": {"g": {"InstanceType": "ecs.sn1.medium"}}})
    assert ok.status_code == 200, ok.text
    groups = shared_client.get(f"/clusters/{cluster_id}").json()["Groups"]
    assert groups["g"]["InstanceType"] == "ecs.sn1.medium"
    assert shared_client.delete(f"/clusters/{cluster_id}").status_code == 204
