"""The official batchcompute SDK (2.1.7), unchanged, against a real bcsd: one call per endpoint."""

from __future__ import annotations

import pytest
from batchcompute import Client, ClientError

from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient


@pytest.fixture
def sdk(bcsd: BcsdProcess) -> Client:
    Client.register_region("local", "127.0.0.1", bcsd.port)
    return Client("127.0.0.1", bcsd.key_id, bcsd.secret)


def dag_job(command: str = "true", **extra: object) -> dict:
    return {
        "Name": "sdk-job",
        "Description": "made by the SDK test",
        "Type": "DAG",
        "Priority": 5,
        "JobFailOnInstanceFail": True,
        "AutoRelease": False,
        "DAG": {
            "Tasks": {
                "first": {
                    "InstanceCount": 2,
                    "MaxRetryCount": 0,
                    "Timeout": 600,
                    "Parameters": {
                        "Command": {"CommandLine": command, "PackagePath": "", "EnvVars": {}},
                        "StdoutRedirectPath": "oss://bucket/logs/",
                        "StderrRedirectPath": "oss://bucket/logs/",
                    },
                    "AutoCluster": {"InstanceType": "ecs.sn1.medium", "ImageId": "img-ubuntu"},
                },
                "second": {
                    "InstanceCount": 1,
                    "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
                    "AutoCluster": {"InstanceType": "ecs.sn1.medium", "ImageId": "img-ubuntu"},
                },
            },
            "Dependencies": {"first": ["second"]},
        },
        **extra,
    }


def test_job_endpoints_through_the_sdk(sdk: Client, client: SignedClient) -> None:
    created = sdk.create_job(dag_job(), token="sdk_token_1")
    job_id = created.Id
    assert job_id.startswith("job-") and len(job_id) == 36
    assert sdk.create_job(dag_job(), token="sdk_token_1").Id == job_id  # idempotent replay
    client.wait_job(job_id)
    job = sdk.get_job(job_id)
    assert job.State == "Finished" and job.Name == "sdk-job"
    assert job.TaskMetrics.FinishedCount == 2 and job.InstanceMetrics.FinishedCount == 3
    assert job.CreationTime is not None and job.EndTime is not None  # timestamps parsed by the SDK
    desc = sdk.get_job_description(job_id)
    assert desc.Name == "sdk-job" and desc.Priority == 5
    assert sorted(desc.DAG.Tasks) == ["first", "second"]
    listed = sdk.list_jobs("", 10)
    assert job_id in [j.Id for j in listed.Items] and listed.NextMarker == ""
    assert [j.Id for j in sdk.list_jobs("", 10, state="Finished").Items] == [job_id]
    assert sdk.list_jobs("", 10, state="Running").Items == []
    tasks = sdk.list_tasks(job_id, "", 10)
    assert sorted(t.TaskName for t in tasks.Items) == ["first", "second"]
    task = sdk.get_task(job_id, "first")
    assert task.State == "Finished" and task.InstanceMetrics.FinishedCount == 2
    instances = sdk.list_instances(job_id, "first", "", 10)
    assert [i.InstanceId for i in instances.Items] == [0, 1]
    inst = sdk.get_instance(job_id, "first", 1)
    assert inst.State == "Finished" and inst.Result.ExitCode == 0
    assert inst.StdoutRedirectPath == f"oss://bucket/logs/stdout.{job_id}.first.1"
    with pytest.raises(ClientError):
        sdk.start_job(job_id)  # Finished: StateConflict
    sdk.delete_job(job_id)
    with pytest.raises(ClientError) as err:
        sdk.get_job(job_id)
    assert err.value.status == 404


def test_stop_start_priority_through_the_sdk(sdk: Client, client: SignedClient) -> None:
    job_id = sdk.create_job(dag_job("sleep 30")).Id
    with pytest.raises(ClientError):
        sdk.delete_job(job_id)  # Waiting/Running cannot be deleted
    with pytest.raises(ClientError):
        sdk.change_job_priority(job_id, 9)  # only when Stopped
    sdk.stop_job(job_id)
    assert sdk.get_job(job_id).State == "Stopped"
    sdk.change_job_priority(job_id, 9)
    assert sdk.get_job(job_id).Priority == 9
    sdk.start_job(job_id)
    assert sdk.get_job(job_id).State in ("Waiting", "Running")
    sdk.stop_job(job_id)
    sdk.delete_job(job_id)


def test_cluster_endpoints_through_the_sdk(sdk: Client) -> None:
    body = {
        "Name": "sdk-cluster",
        "Description": "test",
        "ImageId": "img-ubuntu",
        "InstanceType": "ecs.sn1.medium",
        "Groups": {
            "group1": {"DesiredVMCount": 2, "InstanceType": "ecs.sn1.large", "ResourceType": "OnDemand"}
        },
        "UserData": {},
    }
    cluster_id = sdk.create_cluster(body).Id
    assert cluster_id.startswith("cls-")
    cluster = sdk.get_cluster(cluster_id)
    assert cluster.State == "Active" and cluster.Groups["group1"].DesiredVMCount == 2
    assert cluster.Groups["group1"].ActualVMCount == 2
    assert cluster_id in [c.Id for c in sdk.list_clusters("", 10).Items]
    sdk.change_cluster_desired_vm_count(cluster_id, group1=3)
    assert sdk.get_cluster(cluster_id).Groups["group1"].ActualVMCount == 3
    vms = sdk.list_cluster_instances(cluster_id, "group1", "", 10)
    assert len(vms.Items) == 3 and all(v.Id.startswith("i-") for v in vms.Items)
    vm = sdk.get_cluster_instance(cluster_id, "group1", vms.Items[0].Id)
    assert vm.State == "Running"
    sdk.delete_cluster(cluster_id)
    with pytest.raises(ClientError):
        sdk.get_cluster(cluster_id)


def test_quotas_and_available_through_the_sdk(sdk: Client) -> None:
    quotas = sdk.get_quotas()
    assert "ecs.sn1.medium" in quotas.AvailableClusterInstanceType
    available = sdk.get_available_resource()
    types = {t.InstanceType: t for t in available.AvailableClusterInstanceType}
    assert types["ecs.sn1.large"].CpuCore == 4
