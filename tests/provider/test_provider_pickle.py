"""The dill pickle Pulumi stores for each provider: small, secret-free, stable across runs and
across a reformat of the module (it is a reference to the class, not a copy of its code)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import provider

SECRET = "s3cr3t-value-never-stored"
PICKLE = """
import sys
from pulumi.dynamic.dynamic import serialize_provider
from provider import config
config.configure_from({"bcs:endpoint": "http://127.0.0.1:1", "bcs:accessKeyId": "id",
                       "bcs:accessKeySecret": sys.argv[1]}.get)
from provider.job_provider import JobProvider
from provider.cluster_provider import ClusterProvider
print(serialize_provider(JobProvider()))
print(serialize_provider(ClusterProvider()))
"""


def pickles(pythonpath: str | None = None) -> list[bytes]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, "-c", PICKLE, SECRET], capture_output=True, text=True, check=True, env=env
    ).stdout
    return [base64.b64decode(line) for line in out.split()]


def test_pickles_are_small_secret_free_and_stable(tmp_path: Path) -> None:
    first, second = pickles(), pickles()
    assert first == second
    for blob in first:
        assert len(blob) < 512, len(blob)
        assert SECRET.encode() not in blob
        assert b"127.0.0.1" not in blob

    # the same package, reformatted: comments and blank lines everywhere, imported first
    copy = tmp_path / "provider"
    shutil.copytree(
        Path(provider.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__", "driver")
    )
    for module in ("job_provider.py", "cluster_provider.py"):
        path = copy / module
        path.write_text("# reformatted\n\n\n" + path.read_text().replace("\n\n", "\n\n# spacer\n\n"))
    assert pickles(str(tmp_path)) == first
