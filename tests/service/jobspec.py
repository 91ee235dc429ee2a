"""Small builders of CreateJob bodies for the service tests."""

from __future__ import annotations

from typing import Any

from tests.support.client import SignedClient

#: a named cluster with no VMs: jobs placed on it wait, so creating them is all that happens
PARKED_CLUSTER: dict[str, Any] = {
    "Name": "parked",
    "ImageId": "img-ubuntu",
    "InstanceType": "ecs.sn1.medium",
    "Groups": {"g": {"DesiredVMCount": 0}},
}


def parked_job(client: SignedClient) -> dict[str, Any]:
    """A one-task job body on a new ``PARKED_CLUSTER``: created jobs of it wait for ever."""
    r = client.post("/clusters", PARKED_CLUSTER)
    assert r.status_code == 201, r.text
    return job({"a": task("true", cluster_id=r.json()["Id"])})


def task(
    command: str,
    *,
    count: int = 1,
    retry: int = 0,
    timeout: int = 600,
    cluster_id: str = "",
    reserve_on_fail: bool = False,
    env: dict[str, str] | None = None,
    package: str = "",
    logs: str = "",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "InstanceCount": count,
        "MaxRetryCount": retry,
        "Timeout": timeout,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": package, "EnvVars": env or {}}},
        **extra,
    }
    if logs:
        body["Parameters"]["StdoutRedirectPath"] = logs
        body["Parameters"]["StderrRedirectPath"] = logs
    if cluster_id:
        body["ClusterId"] = cluster_id
    else:
        body["AutoCluster"] = {
            "InstanceType": "ecs.sn1.medium",
            "ImageId": "img-ubuntu",
            "ReserveOnFail": reserve_on_fail,
        }
    return body


def job(
    tasks: dict[str, dict[str, Any]], deps: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "Name": "test-job",
        "Type": "DAG",
        "Priority": 0,
        "JobFailOnInstanceFail": True,
        "DAG": {"Tasks": tasks, "Dependencies": deps or {}},
        **extra,
    }
