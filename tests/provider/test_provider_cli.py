"""A real ``pulumi preview / up / destroy`` through the Automation API and a local file backend.

Runs wherever the ``pulumi`` CLI is on PATH (not on the build machines: no registry ships it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.bcsd import BcsdProcess

pytestmark = [
    pytest.mark.pulumi_cli,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason="the pulumi CLI is not on PATH (install it from pulumi.com to run real up/preview/destroy)",
    ),
]


def program() -> None:
    from provider.resources import Cluster, Job

    pool = Cluster.from_spec(
        "pool", {"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 1}}}
    )
    Job.from_spec(
        "hello",
        {
            "Name": "hello",
            "Priority": 1,
            "Type": "DAG",
            "JobFailOnInstanceFail": True,
            "DAG": {
                "Tasks": {
                    "main": {
                        "InstanceCount": 1,
                        "ClusterId": pool.cluster_id,
                        "Parameters": {"Command": {"CommandLine": "python3 -c pass", "PackagePath": ""}},
                    }
                }
            },
        },
        wait_for=120,
    )


def test_up_preview_destroy(bcsd: BcsdProcess, tmp_path: Path) -> None:
    from pulumi import automation as auto

    backend = tmp_path / "state"
    backend.mkdir()
    ws = auto.LocalWorkspaceOptions(
        env_vars={"PULUMI_BACKEND_URL": f"file://{backend}", "PULUMI_CONFIG_PASSPHRASE": "test"},
    )
    stack = auto.create_or_select_stack("test", project_name="bcs", program=program, opts=ws)
    try:
        stack.set_config("bcs:endpoint", auto.ConfigValue(bcsd.url))
        stack.set_config("bcs:accessKeyId", auto.ConfigValue(bcsd.key_id))
        stack.set_config("bcs:accessKeySecret", auto.ConfigValue(bcsd.secret, secret=True))
        up = stack.up()
        assert up.summary.resource_changes.get("create") == 3
        preview = stack.preview()
        assert preview.change_summary.get("same") == 3  # no change -> no diff
        stack.destroy()
    finally:
        stack.workspace.remove_stack("test")
