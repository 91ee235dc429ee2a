"""Contract tests that need no service: the providers hosted by ``python -m pulumi.dynamic``."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from provider_host import CLUSTER_PROVIDER, CLUSTER_TYPE, JOB_PROVIDER, JOB_TYPE, ProviderHost, to_struct, urn
from provider_specs import cluster, edit, job, reorder
from pulumi.runtime.proto import provider_pb2


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    h = ProviderHost(env={"BCS_ENDPOINT": "", "BCS_ACCESS_KEY_ID": "", "BCS_ACCESS_KEY_SECRET": ""})
    try:
        h.configure({})
        yield h
    finally:
        h.stop()


JOB = urn(JOB_TYPE, "j")


def test_check_reports_every_error_with_its_path(host: ProviderHost) -> None:
    bad = edit(edit(job(), "Priority", 5000), "DAG.Tasks.task0.InstanceCount", "many")
    bad["on_failure"] = "retry"
    inputs, failures = host.check(JOB, {}, bad, JOB_PROVIDER)
    paths = {path for path, _ in failures}
    assert {"Priority", "DAG.Tasks.task0.InstanceCount", "on_failure"} <= paths
    reasons = dict(failures)
    assert reasons["Priority"].startswith("InvalidPriority: ")
    assert inputs["Priority"] == 5000


def test_check_accepts_a_valid_spec_with_integers_intact(host: ProviderHost) -> None:
    inputs, failures = host.check(JOB, {}, job(), JOB_PROVIDER)
    assert failures == []
    assert inputs["Priority"] == 1


def test_diff_of_equivalent_specs_is_no_change(host: ProviderHost) -> None:
    olds = {**job(), "job_id": "job-1", "state": "Running", "tasks": {}}
    d = host.diff(JOB, "job-1", olds, reorder(job()), JOB_PROVIDER)
    assert not d.some and d.replaces == []


def test_diff_priority_updates_and_command_replaces(host: ProviderHost) -> None:
    olds = {**job(), "job_id": "job-1", "state": "Running"}
    d = host.diff(JOB, "job-1", olds, edit(job(), "Priority", 9), JOB_PROVIDER)
    assert d.some and d.replaces == [] and not d.delete_before_replace
    d = host.diff(
        JOB, "job-1", olds, edit(job(), "DAG.Tasks.task1.Parameters.Command.CommandLine", "x y"), JOB_PROVIDER
    )
    assert d.some and d.replaces == ["DAG"] and d.delete_before_replace


def test_cluster_diff_is_create_before_delete(host: ProviderHost) -> None:
    c = urn(CLUSTER_TYPE, "c")
    d = host.diff(c, "cls-1", cluster(), edit(cluster(), "ImageId", "img-centos"), CLUSTER_PROVIDER)
    assert d.replaces == ["ImageId"] and not d.delete_before_replace
    d = host.diff(c, "cls-1", cluster(), edit(cluster(), "Groups.group1.DesiredVMCount", 4), CLUSTER_PROVIDER)
    assert d.some and d.replaces == []


def test_errors_reach_the_engine_as_one_line(host: ProviderHost) -> None:
    with pytest.raises(grpc.RpcError) as info:
        host.create(JOB, job(), JOB_PROVIDER)
    details = info.value.details()
    assert "Traceback" not in details
    assert details.strip().splitlines() == [
        "provider.errors.ConfigurationError: BatchCompute connection is not configured: set bcs:endpoint "
        "(or $BCS_ENDPOINT), bcs:accessKeyId (or $BCS_ACCESS_KEY_ID), "
        "bcs:accessKeySecret (or $BCS_ACCESS_KEY_SECRET)"
    ]


def test_unknown_cluster_id_during_preview(host: ProviderHost) -> None:
    """A task's ClusterId from a Cluster created by the same deployment is unknown in preview.

    The host hands Check/Diff ``pulumi.output.Unknown`` objects; Check must not call them a wrong
    type (it used to: ``InvalidClusterId ... Its type must be string``), must hand the unknown
    back, and Diff must plan a replacement when a known id may become another one.
    """
    from pulumi.runtime.rpc import UNKNOWN

    on_cluster = edit(edit(job(1), "DAG.Tasks.task0.ClusterId", UNKNOWN), "DAG.Tasks.task0.AutoCluster", {})
    _, failures = host.check(JOB, {}, on_cluster, JOB_PROVIDER)
    assert failures == []
    request = provider_pb2.CheckRequest(
        urn=JOB, olds=to_struct({}), news=to_struct({**on_cluster, "__provider": JOB_PROVIDER})
    )
    raw = host.stub.Check(request).inputs  # the engine sees the unknown again
    assert raw["DAG"]["Tasks"]["task0"]["ClusterId"] == UNKNOWN
    known = edit(on_cluster, "DAG.Tasks.task0.ClusterId", "cls-1")
    d = host.diff(JOB, "job-1", {**known, "job_id": "job-1"}, on_cluster, JOB_PROVIDER)
    assert d.replaces == ["DAG"] and d.delete_before_replace


def test_unknown_group_size_during_preview(host: ProviderHost) -> None:
    """A Cluster input from another resource is unknown in preview: Check judges it later, as it
    does for a Job (it used to say ``InvalidDesiredVMCount ... Its type must be integer``)."""
    from pulumi.runtime.rpc import UNKNOWN

    pool = urn(CLUSTER_TYPE, "pool")
    sized_later = edit(cluster(), "Groups.group1.DesiredVMCount", UNKNOWN)
    _, failures = host.check(pool, {}, sized_later, CLUSTER_PROVIDER)
    assert failures == []
    wrong = edit(cluster(), "Groups.group1.DesiredVMCount", "3")  # a known wrong type still fails
    _, failures = host.check(pool, {}, wrong, CLUSTER_PROVIDER)
    assert [path for path, _ in failures] == ["Groups.group1.DesiredVMCount"]
