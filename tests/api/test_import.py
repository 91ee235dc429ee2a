"""``api`` stands alone: importable without the service, Pulumi, FastAPI or SQLAlchemy, and its
``__all__`` is exactly the public surface of docs/contracts.md."""

from __future__ import annotations

import json
import subprocess
import sys

import api

CONTRACT = {
    "ApiError", "ERRORS", "error", "parse_json_body", "parse_job", "check_job", "parse_cluster",
    "check_cluster", "parse_modify_cluster", "parse_priority", "parse_job_update", "Quotas",
    "quota_errors", "JobDescription", "DAG", "TaskDescription", "Parameters", "Command",
    "InputMappingConfig", "AutoCluster", "Configs", "Disks", "Mounts", "Networks", "Notification",
    "Topic", "ClusterDescription", "GroupDescription", "ModifyClusterDescription", "JobUpdate",
    "ClusterInputMappingConfig",
}  # fmt: skip


def test_surface() -> None:
    assert set(api.__all__) >= CONTRACT
    assert all(hasattr(api, name) for name in api.__all__)


def test_imports_without_heavy_dependencies() -> None:
    code = "import sys, json, api, api.types, api.timestamps; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(out.stdout)
    for heavy in ("fastapi", "pulumi", "sqlalchemy", "service", "provider", "starlette", "grpc"):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in loaded), heavy
