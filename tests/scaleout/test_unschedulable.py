"""A task whose instance type no Dask worker can host: bcsd says why it waits, then fails it.

Dask alone would leave such a task waiting forever without a word (design.md "Facts measured").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.dask_cluster import DaskCluster
from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient
from tests.support.waiting import until

pytestmark = pytest.mark.slow


def test_unplaceable_instance_is_explained_then_fails(dask_cluster: DaskCluster, tmp_path: Path) -> None:
    # the workers offer CPU=4, MEMORY=8e9; bcs.a2.3xlarge needs 16 cores and 32 GB
    big = task("python3 -c pass")
    big["AutoCluster"]["InstanceType"] = "bcs.a2.3xlarge"
    with (
        start_bcsd(
            tmp_path, executor="dask", dask_scheduler=dask_cluster.address, dask_unschedulable_timeout=3
        ) as bcsd,
        SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client,
    ):
        job_id = client.create_job(job({"big": big}))
        waiting = until(
            lambda: (j := client.job(job_id))["Message"].startswith("waiting: big.0: ") and j,
            "the job to say why it waits",
        )
        assert waiting["State"] in ("Waiting", "Running")
        instance = client.get(f"/jobs/{job_id}/tasks/big/instances/0").json()
        assert instance["State"] in ("Waiting", "Running") and instance["Result"]["Detail"]
        assert client.wait_job(job_id)["State"] == "Failed"
        instance = client.get(f"/jobs/{job_id}/tasks/big/instances/0").json()
        assert instance["State"] == "Failed"
        assert instance["Result"]["ErrorCode"] == "Unschedulable"
