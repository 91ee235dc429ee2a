"""DeleteClusterInstance and RecreateClusterInstance (reference §5.5) through the official SDK, on
free and busy VMs; images and apps answer that bcsd does not offer them."""

from __future__ import annotations

from pathlib import Path

import pytest
from batchcompute import Client, ClientError

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient
from tests.support.waiting import until


@pytest.fixture
def sdk(shared_bcsd: BcsdProcess) -> Client:
    Client.register_region("local", "127.0.0.1", shared_bcsd.port)
    return Client("127.0.0.1", shared_bcsd.key_id, shared_bcsd.secret)


def new_cluster(client: SignedClient, vms: int) -> str:
    groups = {"g": {"DesiredVMCount": vms, "InstanceType": "ecs.sn1.large"}}
    body = {"Name": "pool", "ImageId": "img-ubuntu", "Groups": groups}
    r = client.post("/clusters", body)
    assert r.status_code == 201, r.text
    return r.json()["Id"]


def vm_ids(client: SignedClient, cluster_id: str) -> list[str]:
    return [v["Id"] for v in client.get(f"/clusters/{cluster_id}/groups/g/instances").json()["Items"]]


def group(client: SignedClient, cluster_id: str) -> dict:
    return client.get(f"/clusters/{cluster_id}").json()["Groups"]["g"]


def test_delete_a_free_vm_lowers_the_desired_count(sdk: Client, shared_client: SignedClient) -> None:
    cluster_id = new_cluster(shared_client, 2)
    first, second = vm_ids(shared_client, cluster_id)
    sdk.delete_cluster_instance(cluster_id, "g", first)
    assert vm_ids(shared_client, cluster_id) == [second]
    assert group(shared_client, cluster_id)["DesiredVMCount"] == 1
    assert group(shared_client, cluster_id)["ActualVMCount"] == 1
    with pytest.raises(ClientError) as gone:
        sdk.get_cluster_instance(cluster_id, "g", first)
    assert gone.value.get_status_code() == 404
    with pytest.raises(ClientError) as again:  # deleting it again fails (the SDK's own test expects it)
        sdk.delete_cluster_instance(cluster_id, "g", first)
    assert again.value.get_status_code() == 404
    r = shared_client.delete(f"/clusters/{cluster_id}/groups/g/instances/{second}")
    assert r.status_code == 202 and r.content == b""
    emptied = group(shared_client, cluster_id)
    assert (emptied["DesiredVMCount"], emptied["ActualVMCount"]) == (0, 0)


def test_recreate_a_free_vm_replaces_it(sdk: Client, shared_client: SignedClient) -> None:
    cluster_id = new_cluster(shared_client, 1)
    (old,) = vm_ids(shared_client, cluster_id)
    r = shared_client.post(f"/clusters/{cluster_id}/groups/g/instances/{old}/recreate")
    assert r.status_code == 201 and r.content == b""
    (new,) = vm_ids(shared_client, cluster_id)
    assert new != old and new.startswith("i-")
    assert sdk.get_cluster_instance(cluster_id, "g", new).State == "Running"
    assert group(shared_client, cluster_id)["DesiredVMCount"] == 1
    sdk.recreate_cluster_instance(cluster_id, "g", new)
    assert vm_ids(shared_client, cluster_id) not in ([new], [old])
    job_id = shared_client.create_job(job({"a": task("true", cluster_id=cluster_id)}))
    assert shared_client.wait_job(job_id, timeout=60)["State"] == "Finished"  # the replacement runs work


def test_a_busy_vm_is_drained_and_its_replacement_takes_work(
    scratch: Path, shared_client: SignedClient
) -> None:
    client = shared_client
    cluster_id = new_cluster(client, 1)
    (busy,) = vm_ids(client, cluster_id)
    gate = scratch / "gate"
    hold = f"sh -c 'i=0; while [ ! -e {gate} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 7; sleep 0.1; done'"
    holder = client.create_job(job({"a": task(hold, cluster_id=cluster_id)}))
    until(lambda: client.job(holder)["State"] == "Running", "the holder job to run")

    r = client.post(f"/clusters/{cluster_id}/groups/g/instances/{busy}/recreate")
    assert r.status_code == 201, r.text
    drained = client.get(f"/clusters/{cluster_id}/groups/g/instances/{busy}").json()
    assert drained["State"] == "Deleting"
    for again in (client.post(f"/clusters/{cluster_id}/groups/g/instances/{busy}/recreate"),
                  client.delete(f"/clusters/{cluster_id}/groups/g/instances/{busy}")):  # fmt: skip
        assert again.status_code == 409 and again.json()["Code"] == "StateConflict"
    assert group(client, cluster_id)["ActualVMCount"] == 1  # the replacement; the drained VM is not counted

    # the replacement is a real free slot: a second job runs while the first still holds the old VM
    second = client.create_job(job({"b": task("true", cluster_id=cluster_id)}))
    assert client.wait_job(second, timeout=60)["State"] == "Finished"
    assert client.job(holder)["State"] == "Running"
    gate.touch()
    assert client.wait_job(holder, timeout=60)["State"] == "Finished"
    assert client.get(f"/clusters/{cluster_id}/groups/g/instances/{busy}").status_code == 404
    assert busy not in vm_ids(client, cluster_id)


def test_cluster_instance_errors(shared_client: SignedClient) -> None:
    client = shared_client
    cluster_id = new_cluster(client, 1)
    (vm,) = vm_ids(client, cluster_id)
    for method, path in [
        ("DELETE", f"/clusters/cls-nope/groups/g/instances/{vm}"),
        ("DELETE", f"/clusters/{cluster_id}/groups/other/instances/{vm}"),
        ("DELETE", f"/clusters/{cluster_id}/groups/g/instances/i-nope"),
        ("POST", f"/clusters/{cluster_id}/groups/g/instances/i-nope/recreate"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 404 and r.json()["Code"] == "InvalidResource.NotFound", (method, path)
    assert client.delete(f"/clusters/{cluster_id}").status_code == 204
    assert client.delete(f"/clusters/{cluster_id}/groups/g/instances/{vm}").status_code == 404


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda sdk: sdk.list_images("", 10), "Images"),
        (lambda sdk: sdk.get_image("img-ubuntu"), "Images"),
        (lambda sdk: sdk.delete_image("img-ubuntu"), "Images"),
        (lambda sdk: sdk.create_image({"Name": "i", "EcsImageId": "m-1", "Platform": "Linux"}), "Images"),
        (lambda sdk: sdk.list_apps(), "Apps"),
        (lambda sdk: sdk.get_app("app"), "Apps"),
        (lambda sdk: sdk.delete_app("app"), "Apps"),
    ],
)
def test_images_and_apps_say_bcsd_does_not_offer_them(sdk: Client, call, what: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as err:
        call(sdk)
    assert err.value.get_status_code() == 400
    assert err.value.get_code() == "UnsupportedOperation"
    assert err.value.get_msg().startswith(f"{what} are not offered by bcsd: ")
