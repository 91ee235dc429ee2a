"""One Pulumi release for the CLI we build and the Python SDK we install."""

from __future__ import annotations

import re
import subprocess
from importlib.metadata import version

from tests.support.pulumi_cli import REPO, pinned_version, require_cli


def test_cli_pin_matches_the_python_sdk() -> None:
    go_mod = (REPO / "tools" / "pulumi" / "go.mod").read_text()
    pins = dict(re.findall(r"(github\.com/pulumi/pulumi/(?:pkg|sdk)/v3) v(\S+)", go_mod))
    assert set(pins.values()) == {pinned_version()}, pins  # pkg/v3 and sdk/v3 at one release
    assert version("pulumi") == pinned_version()
    pyproject = (REPO / "pyproject.toml").read_text()
    assert f'"pulumi=={pinned_version()}"' in pyproject


def test_built_cli_reports_the_pin() -> None:
    bin_dir = require_cli()
    done = subprocess.run([str(bin_dir / "pulumi"), "version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"v{pinned_version()}"
    host = (bin_dir / "language_host.py").read_text()
    assert f'VERSION = "{pinned_version()}"' in host
