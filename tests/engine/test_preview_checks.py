"""What ``pulumi preview`` (the real CLI) reports before anything is submitted (slow).

An InstanceType the service does not offer (bcsd's ``/available`` table) is a check failure naming
the resource, the property path and the types on offer, for a job's AutoCluster and for a cluster,
and nothing reaches bcsd; with offered types the same preview passes.
"""

from __future__ import annotations

import pytest

from tests.support.client import SignedClient

from .conftest import EngineProject, cluster_spec, job_spec, task

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow]


def test_preview_reports_an_instance_type_the_service_does_not_offer(
    project: EngineProject, shared_client: SignedClient
) -> None:
    big = task("python3 -c pass")
    big["AutoCluster"]["InstanceType"] = "bcs.zz.huge"
    project.spec("jobs", "big", job_spec("big", big))
    preview = project.cli("preview", check=False)
    assert preview.code != 0, preview.out
    out = " ".join((preview.out + preview.err).split())
    assert ("property DAG.Tasks.main.AutoCluster.InstanceType value {<nil>} has a problem: "
            "InvalidAutoCluster.InstanceType: Specified parameter AutoCluster.InstanceType is not valid. "
            "InstanceType bcs.zz.huge is not offered by this service (GET /available lists: bcs.a2.3xlarge,"
            in out), out
    project.spec("jobs", "big", None)

    pool = cluster_spec("pool", 1)
    pool["Groups"]["g"]["InstanceType"] = "bcs.zz.huge"
    project.spec("clusters", "pool", pool)
    preview = project.cli("preview", check=False)
    assert preview.code != 0, preview.out
    out = " ".join((preview.out + preview.err).split())
    assert ("property Groups.g.InstanceType value {<nil>} has a problem: InvalidGroups.g.InstanceType:"
            in out), out
    assert shared_client.get("/jobs").json()["Items"] == []
    assert shared_client.get("/clusters").json()["Items"] == []

    big["AutoCluster"]["InstanceType"] = "ecs.sn1.medium"
    project.spec("jobs", "big", job_spec("big", big))
    project.spec("clusters", "pool", cluster_spec("pool", 1))
    assert project.cli("preview").code == 0
