"""Provider policies against a real bcsd, through the real dynamic-provider host.

``on_failure: restart`` (StartJob; only unfinished work runs again, seen through marker files),
``on_failure: replace`` (a new job; the failed one is gone), and the release of VMs kept under
ReserveOnFail when the provider deletes the job: the kept sandbox directory leaves the disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from provider_host import JOB_PROVIDER, JOB_TYPE, ProviderHost, urn

from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient

pytestmark = pytest.mark.slow
AUTO = {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu"}


@pytest.fixture(scope="module")
def host(shared_bcsd: BcsdProcess) -> Iterator[ProviderHost]:
    h = ProviderHost()
    try:
        keys = {"bcs:accessKeyId": shared_bcsd.key_id, "bcs:accessKeySecret": shared_bcsd.secret}
        h.configure({"bcs:endpoint": shared_bcsd.url, **keys})
        yield h
    finally:
        h.stop()


def task(command: str, **extra: Any) -> dict[str, Any]:
    return {
        "InstanceCount": 1,
        "Timeout": 60,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
        "AutoCluster": dict(AUTO),
        **extra,
    }


def job(
    name: str, tasks: dict[str, Any], deps: dict[str, list[str]] | None = None, **top: Any
) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": 1,
        "Type": "DAG",
        "JobFailOnInstanceFail": True,
        "DAG": {"Tasks": tasks, "Dependencies": deps or {}},
        **top,
    }


def create(host: ProviderHost, name: str, spec: dict[str, Any]) -> tuple[str, str, dict, dict]:
    """Check + Create as the engine does; returns (urn, id, checked inputs, outputs)."""
    urn_ = urn(JOB_TYPE, name)
    inputs, failures = host.check(urn_, {}, {**spec, "resource_urn": urn_}, JOB_PROVIDER)
    assert failures == []
    id_, outs = host.create(urn_, inputs, JOB_PROVIDER)
    return urn_, id_, inputs, outs


def lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_on_failure_restart_runs_only_unfinished_work_again(
    scratch: Path, host: ProviderHost, shared_client: SignedClient
) -> None:
    log, flag = scratch / "log", scratch / "flag"
    # first succeeds; second fails on its first attempt only (the flag file remembers it)
    first = task(f"sh -c 'echo first >> {log}'")
    second = task(f"sh -c 'echo second >> {log}; [ -e {flag} ] || {{ touch {flag}; exit 3; }}'")
    spec = job("restart", {"first": first, "second": second}, {"first": ["second"]}, on_failure="restart")
    urn_, job_id, inputs, outs = create(host, "restart", spec)
    assert shared_client.wait_job(job_id)["State"] == "Failed"
    assert lines(log) == ["first", "second"]

    d = host.diff(urn_, job_id, outs, inputs, JOB_PROVIDER)
    assert d.some and d.replaces == []  # an update, whose update calls StartJob
    assert lines(log) == ["first", "second"]  # diff itself starts nothing
    outs = host.update(urn_, job_id, outs, inputs, JOB_PROVIDER)
    assert outs["job_id"] == job_id
    assert shared_client.wait_job(job_id)["State"] == "Finished"
    assert lines(log) == ["first", "second", "second"]  # the finished task did not run again
    assert shared_client.get(f"/jobs/{job_id}/tasks/first/instances/0").json()["RetryCount"] == 0

    # Finished now: the policy has nothing left to do
    _, outs, _ = host.read(urn_, job_id, outs, inputs)
    assert not host.diff(urn_, job_id, outs, inputs, JOB_PROVIDER).some
    host.delete(urn_, job_id, outs)


def test_on_failure_replace_submits_a_new_job(host: ProviderHost, shared_client: SignedClient) -> None:
    spec = job("replace", {"main": task("python3 -c exit(4)")}, on_failure="replace")
    urn_, job_id, inputs, outs = create(host, "replace", spec)
    assert shared_client.wait_job(job_id)["State"] == "Failed"

    d = host.diff(urn_, job_id, outs, inputs, JOB_PROVIDER)
    assert d.replaces == ["on_failure"] and d.delete_before_replace
    host.delete(urn_, job_id, outs)  # the engine's delete-before-replace
    new_id, new_outs = host.create(urn_, inputs, JOB_PROVIDER)
    assert new_id != job_id  # the same IdempotentToken's job was deleted: a new generation
    assert shared_client.get(f"/jobs/{job_id}").status_code == 404
    assert shared_client.wait_job(new_id)["State"] == "Failed"
    host.delete(urn_, new_id, new_outs)


def test_delete_releases_reserved_vms_and_their_sandbox(
    host: ProviderHost, shared_client: SignedClient
) -> None:
    reserved = task("python3 -c exit(5)", AutoCluster={**AUTO, "ReserveOnFail": True})
    urn_, job_id, inputs, outs = create(host, "reserved", job("reserved", {"main": reserved}))
    assert shared_client.wait_job(job_id)["State"] == "Failed"
    instance = shared_client.get(f"/jobs/{job_id}/tasks/main/instances/0").json()
    sandbox = Path(instance["SandboxPath"])
    assert sandbox.is_dir()
    assert shared_client.get(f"/jobs/{job_id}/tasks/main").json()["ReservedVMCount"] >= 1
    _, outs, _ = host.read(urn_, job_id, outs, inputs)
    assert outs["tasks"]["main"]["auto_cluster"]["reserved"] is True

    host.delete(urn_, job_id, outs)
    assert shared_client.get(f"/jobs/{job_id}").status_code == 404
    assert not sandbox.exists()  # released with the job, not just hidden behind a 404
