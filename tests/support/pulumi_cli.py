"""The real Pulumi CLI for tests: found (PATH, else the ``make pulumi`` cache), never built here.

Where neither is available the real-engine tests skip with one line saying how to get the CLI;
under CI (``CI`` or ``BCS_REQUIRE_PULUMI`` set) a missing CLI fails them instead, so the suite can
never go green by skipping the engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "bcs-gitops-test"
HOW_TO_GET = "run `make pulumi` (needs Go and the Go module proxy) or put `pulumi` v{v} on PATH"


def pinned_version() -> str:
    import re

    text = (REPO / "tools" / "pulumi" / "go.mod").read_text()
    found = re.search(r"github\.com/pulumi/pulumi/pkg/v3 v(\S+)", text)
    assert found, "tools/pulumi/go.mod has no pkg/v3 requirement"
    return found.group(1)


def cli_bin_dir() -> Path | None:
    """The directory holding ``pulumi`` and our plugins, or None."""
    built = subprocess.run(
        [sys.executable, str(REPO / "tools" / "pulumi" / "build.py"), "--where"],
        capture_output=True, text=True, check=False,
    )
    if built.returncode == 0:
        return Path(built.stdout.strip())
    on_path = shutil.which("pulumi")
    if on_path and shutil.which("pulumi-language-python"):
        return Path(on_path).parent
    return None


def require_cli() -> Path:
    """The CLI's bin dir; skip (outside CI) or fail (in CI) when there is none."""
    found = cli_bin_dir()
    if found is not None:
        return found
    message = "no Pulumi CLI: " + HOW_TO_GET.format(v=pinned_version())
    if os.environ.get("CI") or os.environ.get("BCS_REQUIRE_PULUMI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Run:
    code: int
    out: str
    err: str


def gitops_tree(root: Path) -> None:
    """The GitOps layout the program expects: ``stacks/__main__.py`` and empty spec folders."""
    (root / "stacks" / "specs" / "jobs").mkdir(parents=True)
    (root / "stacks" / "specs" / "clusters").mkdir(parents=True)
    shutil.copy(REPO / "stacks" / "__main__.py", root / "stacks" / "__main__.py")


#: what the provider would read instead of the stack's config; a test of config keys drops them
KEY_ENV = ("BCS_ENDPOINT", "BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET", "BCS_REGION")


class PulumiProject:
    """A GitOps project in ``root`` (``Pulumi.yaml`` + ``stacks/``) run with the real CLI.

    The backend is a local file backend inside the project (``file://root/.backend``),
    ``PULUMI_HOME`` is private to the test, secrets use the passphrase provider and nothing
    reaches the network. The project's virtualenv is this repository's ``.venv`` (absolute), so
    the language host and the dynamic-provider plugin import our providers.
    """

    def __init__(self, root: Path, bin_dir: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.backend = root / ".backend"
        self.backend.mkdir(parents=True, exist_ok=True)
        self.bin_dir = bin_dir
        venv = Path(sys.executable).parent.parent
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
        project["runtime"]["options"]["virtualenv"] = str(venv)
        (root / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_HOME": str(root / ".pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "1",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "1",
            "VIRTUAL_ENV": str(venv),
            "NO_COLOR": "1",
            **(env or {}),
        }
        self.env.pop("PULUMI_ACCESS_TOKEN", None)

    def pulumi(self, *args: str, check: bool = True, timeout: float = 300) -> Run:
        done = subprocess.run(
            [str(self.bin_dir / "pulumi"), *args, "--non-interactive", "--color", "never"],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        run = Run(done.returncode, done.stdout, done.stderr)
        if check:
            assert run.code == 0, f"pulumi {' '.join(args)} exited {run.code}:\n{run.out}\n{run.err}"
        return run

    def spec(self, kind: str, name: str, body: dict[str, Any] | None) -> None:
        """Write (or, with ``None``, remove) ``stacks/specs/<kind>/<name>.yaml``."""
        path = self.root / "stacks" / "specs" / kind / f"{name}.yaml"
        if body is None:
            path.unlink()
        else:
            path.write_text(yaml.safe_dump(body, sort_keys=False))

    def stack_init(self, stack: str) -> None:
        self.pulumi("stack", "select", "--create", stack)


def start(project: PulumiProject, *args: str, output: Path) -> subprocess.Popen[bytes]:
    """``pulumi ARGS`` in the background, in its own session, so a test can SIGKILL the CLI and
    every plugin it started (language host, provider host) as one process group by its PID."""
    with open(output, "wb") as sink:
        return subprocess.Popen(
            [str(project.bin_dir / "pulumi"), *args, "--non-interactive", "--color", "never"],
            cwd=project.root, env=project.env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def export_state(project: PulumiProject, stack: str) -> dict[str, Any]:
    """``pulumi stack export`` (secrets stay sealed): the checkpoint's deployment as a dict."""
    run = project.pulumi("stack", "export", "--stack", stack)
    return json.loads(run.out)["deployment"]


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (Linux ``/proc``). The CLI starts each plugin in a
    process group of its own, so killing the CLI's group leaves them; a test that SIGKILLs the
    CLI collects them first and kills them by PID."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
