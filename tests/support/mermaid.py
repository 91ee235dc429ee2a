"""Mermaid's own parser (npm ``mermaid`` under Node with jsdom, no browser) for the diagram tests.

``make mermaid`` installs it from ``tools/mermaid/package-lock.json`` into
``~/.cache/bcs-gitops/mermaid`` (``BCS_MERMAID_DIR`` moves it; ``.ci/run`` runs it). Without it the
tests that need it skip with one line saying how to get it, and under CI (``CI`` or
``BCS_REQUIRE_MERMAID`` set) they fail instead, so the suite never goes green by skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "mermaid" / "parse.mjs"
HOW_TO_GET = "`make mermaid` installs it (needs node and npm)"


def parser_dir() -> Path:
    return Path(os.environ.get("BCS_MERMAID_DIR", Path.home() / ".cache" / "bcs-gitops" / "mermaid"))


def require_parser() -> Path:
    """The folder whose ``node_modules`` holds mermaid and jsdom; skip (outside CI) or fail (in CI)."""
    where = parser_dir()
    if shutil.which("node") and (where / "node_modules" / "mermaid").is_dir():
        return where
    message = f"no Mermaid parser in {where}: {HOW_TO_GET}"
    if os.environ.get("CI") or os.environ.get("BCS_REQUIRE_MERMAID"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def parse(diagrams: list[str]) -> list[dict[str, Any]]:
    """Each diagram as Mermaid's parser sees it: ``{"ok": False, "error"}`` or ``{"ok": True, "type",
    "vertices": [{id, text, classes}], "edges": [{start, end, type, stroke, text}], "classes"}``."""
    where = require_parser()
    # ESM code given with -e resolves bare imports from the working directory: the parser's folder
    done = subprocess.run(
        ["node", "--input-type=module", "-e", SCRIPT.read_text()], cwd=where, input=json.dumps(diagrams),
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
