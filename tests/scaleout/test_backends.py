"""The service's end-to-end scenarios, unchanged, on every backend (see ``conftest.py``):
a two-task DAG with a package and mappings, retries, timeout, stop/start/delete,
ReserveOnFail, AutoRelease — plus kill -9 recovery."""

from __future__ import annotations

import pytest

from tests.service.jobspec import job, task
from tests.service.test_dag_package import test_two_task_dag_with_package
from tests.service.test_isolation import test_network_is_on_by_default
from tests.service.test_job_states import (
    test_auto_release_leaves_a_tombstone,
    test_failed_task_fails_job_and_downstream_is_reported_stopped,
    test_reserve_on_fail_keeps_vms_and_sandbox_until_delete,
    test_retries_follow_max_retry_count,
    test_stop_start_delete_state_rules,
    test_timeout_kills_the_instance_and_counts_as_failure,
)
from tests.support.bcsd import BcsdProcess
from tests.support.client import SignedClient

pytestmark = pytest.mark.slow

__all__ = [
    "test_auto_release_leaves_a_tombstone",
    "test_failed_task_fails_job_and_downstream_is_reported_stopped",
    "test_network_is_on_by_default",
    "test_reserve_on_fail_keeps_vms_and_sandbox_until_delete",
    "test_retries_follow_max_retry_count",
    "test_stop_start_delete_state_rules",
    "test_timeout_kills_the_instance_and_counts_as_failure",
    "test_two_task_dag_with_package",
]


def test_kill9_then_restart_finishes_every_job(bcsd: BcsdProcess) -> None:
    """Running instances lost with the process are failed attempts; MaxRetryCount decides."""
    client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
    try:
        retried = client.create_job(job({"a": task("sleep 2", count=2, retry=1)}))
        doomed = client.create_job(job({"a": task("sleep 2", retry=0)}))
        client.wait_job(retried, ("Running",), 30)
        client.wait_job(doomed, ("Running",), 30)
        bcsd.kill9()
        bcsd.restart()
        assert client.wait_job(retried, timeout=60)["State"] == "Finished"
        failed = client.wait_job(doomed, timeout=60)
        assert failed["State"] == "Failed"
        inst = client.get(f"/jobs/{doomed}/tasks/a/instances/0").json()
        assert inst["Result"]["ErrorCode"] == "NodeLost"
    finally:
        client.close()
