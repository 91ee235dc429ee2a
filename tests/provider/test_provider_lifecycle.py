"""The lifecycle scenario of issue 4 against a real bcsd, through the real dynamic-provider host.

cluster + two jobs (one AutoCluster + ReserveOnFail failing on purpose, one AutoRelease job on
the cluster succeeding) -> no-op -> priority update -> command change -> replace -> refresh after
auto-release -> remove -> delete (reserved VMs released with the job).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from provider_host import CLUSTER_PROVIDER, CLUSTER_TYPE, JOB_PROVIDER, JOB_TYPE, ProviderHost, urn
from provider_specs import cluster, edit

from api.signing import canonical_target, sign_headers
from tests.support.bcsd import BcsdProcess
from tests.support.waiting import until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def host(shared_bcsd: BcsdProcess) -> Iterator[ProviderHost]:
    h = ProviderHost()
    try:
        h.configure(
            {
                "bcs:endpoint": shared_bcsd.url,
                "bcs:accessKeyId": shared_bcsd.key_id,
                "bcs:accessKeySecret": shared_bcsd.secret,
            }
        )
        yield h
    finally:
        h.stop()


def raw_get(shared_bcsd: BcsdProcess, path: str) -> httpx.Response:
    target = canonical_target(path)
    headers = sign_headers("GET", target, {}, shared_bcsd.key_id, shared_bcsd.secret)
    return httpx.get(shared_bcsd.url + target, headers=headers)


def one_task_job(name: str, command: str, **task: object) -> dict:
    return {
        "Name": name,
        "Priority": 1,
        "Type": "DAG",
        "JobFailOnInstanceFail": True,
        "DAG": {
            "Tasks": {
                "main": {
                    "InstanceCount": 1,
                    "Timeout": 60,
                    "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
                    **task,
                }
            },
            "Dependencies": {},
        },
    }


def test_lifecycle(host: ProviderHost, shared_bcsd: BcsdProcess) -> None:
    # -- create: a cluster, a failing AutoCluster job, a succeeding AutoRelease job on the cluster
    c_urn = urn(CLUSTER_TYPE, "pool")
    c_in, failures = host.check(c_urn, {}, cluster(), CLUSTER_PROVIDER)
    assert failures == []
    cluster_id, c_out = host.create(c_urn, c_in, CLUSTER_PROVIDER)
    assert cluster_id.startswith("cls-") and c_out["cluster_id"] == cluster_id

    a_urn = urn(JOB_TYPE, "failing")
    auto = {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu", "ReserveOnFail": True}
    a_spec = one_task_job("failing", "python3 -c exit(3)", AutoCluster=auto)
    a_in, failures = host.check(a_urn, {}, {**a_spec, "resource_urn": a_urn}, JOB_PROVIDER)
    assert failures == []
    a_id, a_out = host.create(a_urn, a_in, JOB_PROVIDER)
    assert a_id.startswith("job-") and a_out["job_id"] == a_id
    assert a_out["tasks"]["main"]["auto_cluster"]["spec"]["ReserveOnFail"] is True

    b_urn = urn(JOB_TYPE, "ok")
    b_spec = {**one_task_job("ok", "python3 -c pass", ClusterId=cluster_id), "AutoRelease": True}
    b_in, failures = host.check(b_urn, {}, {**b_spec, "resource_urn": b_urn, "wait_for": 60}, JOB_PROVIDER)
    assert failures == []
    b_id, b_out = host.create(b_urn, b_in, JOB_PROVIDER)  # wait_for: returns once Finished (released)
    assert b_out["state"] == "Finished" and b_out["released"] is True

    # a create retried after an interruption does not submit twice (same IdempotentToken)
    again_id, _ = host.create(a_urn, a_in, JOB_PROVIDER)
    assert again_id == a_id

    # -- the failing job fails; its AutoCluster VMs are reserved
    def failed_outputs() -> dict | None:
        _, outs, _ = host.read(a_urn, a_id, a_out, a_in)
        return outs if outs["state"] == "Failed" else None

    a_out = until(failed_outputs, "job to fail")
    assert a_out["tasks"]["main"]["state"] == "Failed"
    assert a_out["tasks"]["main"]["auto_cluster"]["reserved"] is True

    # -- no-op: same program again
    assert not host.diff(a_urn, a_id, a_out, a_in, JOB_PROVIDER).some
    assert not host.diff(b_urn, b_id, b_out, b_in, JOB_PROVIDER).some
    assert not host.diff(c_urn, cluster_id, c_out, c_in, CLUSTER_PROVIDER).some

    # -- priority: update in place
    a_new = edit(a_in, "Priority", 5)
    d = host.diff(a_urn, a_id, a_out, a_new, JOB_PROVIDER)
    assert d.some and d.replaces == []
    a_out = host.update(a_urn, a_id, a_out, a_new, JOB_PROVIDER)
    assert a_out["Priority"] == 5 and a_out["job_id"] == a_id
    assert raw_get(shared_bcsd, f"/jobs/{a_id}").json()["Priority"] == 5
    a_in = a_new

    # -- command change: replace, old job deleted first (its reserved VMs with it)
    a_new = edit(a_in, "DAG.Tasks.main.Parameters.Command.CommandLine", "python3 -c pass")
    d = host.diff(a_urn, a_id, a_out, a_new, JOB_PROVIDER)
    assert d.replaces == ["DAG"] and d.delete_before_replace
    host.delete(a_urn, a_id, a_out)
    assert raw_get(shared_bcsd, f"/jobs/{a_id}").status_code == 404
    a2_id, a_out = host.create(a_urn, a_new, JOB_PROVIDER)
    assert a2_id != a_id

    # -- refresh after auto-release: stays, marked released; a no-op afterwards
    rid, b_out2, b_inputs = host.read(b_urn, b_id, b_out, b_in)
    assert rid == b_id and b_out2["released"] is True and b_inputs is not None
    assert not host.diff(b_urn, b_id, b_out2, b_in, JOB_PROVIDER).some

    # -- the cluster refuses deletion while a job on it waits or runs
    c_spec = cluster()
    busy = one_task_job("busy", 'python3 -c "import time; time.sleep(30)"', ClusterId=cluster_id)
    busy_urn = urn(JOB_TYPE, "busy")
    busy_id, busy_out = host.create(busy_urn, {**busy, "resource_urn": busy_urn}, JOB_PROVIDER)
    import grpc

    with pytest.raises(grpc.RpcError) as info:
        host.delete(c_urn, cluster_id, c_out)
    assert f"cluster {cluster_id} is still used by 1 job(s): {busy_id}" in info.value.details()
    assert "Traceback" not in info.value.details()

    # -- remove everything: running job stopped then deleted; released job is fine; cluster goes
    host.delete(busy_urn, busy_id, busy_out)
    host.delete(a_urn, a2_id, a_out)
    host.delete(b_urn, b_id, b_out2)
    host.delete(c_urn, cluster_id, {**c_spec, **c_out})
    for job_id in (busy_id, a2_id):
        assert raw_get(shared_bcsd, f"/jobs/{job_id}").status_code == 404
    assert raw_get(shared_bcsd, f"/clusters/{cluster_id}").status_code in (404, 200)

    # -- deleted behind Pulumi's back: refresh drops it
    rid, _, _ = host.read(a_urn, a2_id, a_out, a_new)
    assert rid == ""
