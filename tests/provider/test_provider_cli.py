"""A real ``pulumi preview / up / destroy`` through the Automation API (an inline program) and a
local file backend: the CLI built by ``make pulumi`` (see tests/support/pulumi_cli.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.bcsd import BcsdProcess
from tests.support.pulumi_cli import require_cli

pytestmark = [pytest.mark.pulumi_cli, pytest.mark.slow]


def program() -> None:
    from provider.resources import Cluster, Job

    pool = Cluster.from_spec(
        "pool",
        {
            "Name": "pool",
            "ImageId": "img-ubuntu",
            "InstanceType": "bcs.a2.large",
            "Groups": {"g": {"DesiredVMCount": 1, "InstanceType": "bcs.a2.large"}},
        },
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

    bin_dir = require_cli()
    backend = tmp_path / "state"
    backend.mkdir()
    venv_bin = Path(sys.executable).parent  # the plugin's `python3`: this venv's, with our providers
    ws = auto.LocalWorkspaceOptions(
        pulumi_command=auto.PulumiCommand(root=str(bin_dir.parent), skip_version_check=True),
        pulumi_home=str(tmp_path / "home"),
        env_vars={
            "PULUMI_BACKEND_URL": f"file://{backend}",
            "PULUMI_CONFIG_PASSPHRASE": "test",
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PATH": os.pathsep.join([str(bin_dir), str(venv_bin), os.environ.get("PATH", "")]),
        },
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
