"""Packaging: ``pip install bcs-gitops`` is bcsd alone. The built wheel's base requirements hold
no Pulumi, grpc, Dask or PostgreSQL driver, each extra brings its part, fast-moving dependencies
have upper bounds, the Alembic revisions ship; and a real bcsd runs a job with those packages
made unimportable, while the settings that need them say which extra in one line."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: import names the base install must not need (and the requirement names that bring them)
OPTIONAL_MODULES = ("pulumi", "grpc", "dask", "distributed", "psycopg", "yaml")
OPTIONAL_REQUIREMENTS = {"pulumi", "pulumi-crypto", "grpcio", "dask", "psycopg", "pyyaml"}
FAST_MOVING = {"fastapi", "uvicorn", "httpx", "dask", "pydantic", "sqlalchemy", "alembic",
               "prometheus-client"}  # fmt: skip
BLOCKER = f'''
import sys
BLOCKED = {OPTIONAL_MODULES!r}
class Blocker:
    """Makes the optional packages unimportable, as if only the base install were there."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, Blocker())
'''


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    argv = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out)]
    subprocess.run([*argv, str(ROOT)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("bcs_gitops-*.whl")
    return built


def requirements(wheel: Path) -> list[tuple[str, str, str]]:
    """(name, specifier, extra or '') of every Requires-Dist."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(z.read(meta).decode())
    found = []
    for line in message.get_all("Requires-Dist") or []:
        spec, _, marker = line.partition(";")
        extra = re.search(r'extra == "([^"]+)"', marker)
        name = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0].lower()
        found.append((name, spec.strip(), extra.group(1) if extra else ""))
    return found


def test_the_base_install_is_bcsd_alone(wheel: Path) -> None:
    reqs = requirements(wheel)
    base = {name for name, _, extra in reqs if not extra}
    assert base and not base & OPTIONAL_REQUIREMENTS
    extras: dict[str, set[str]] = {}
    for name, _, extra in reqs:
        if extra:
            extras.setdefault(extra, set()).add(name)
    assert {"provider", "dask", "postgres", "oss", "s3", "test"} <= set(extras)
    assert {"pulumi", "grpcio", "pyyaml"} <= extras["provider"]
    assert "dask" in extras["dask"] and "psycopg" in extras["postgres"]
    assert "ossfs" in extras["oss"] and "s3fs" in extras["s3"]
    for name, spec, _ in reqs:
        if name in FAST_MOVING:
            assert "<" in spec, f"{spec}: no upper bound"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    assert "service/store/migrations/versions/0001_baseline.py" in names
    assert "service/store/migrations/script.py.mako" in names


def test_bcsd_serves_without_the_optional_packages(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)  # every child python (bcsd, runner host) too
    monkeypatch.setenv("PYTHONPATH", str(site))
    blocked = subprocess.run([sys.executable, "-c", "import pulumi"], capture_output=True, text=True)
    assert "No module named 'pulumi'" in blocked.stderr  # the blocker is in force
    with start_bcsd(tmp_path) as bcsd, SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        job_id = client.create_job(job({"a": task(f"touch {scratch}/ran")}))
        assert client.wait_job(job_id)["State"] == "Finished" and (scratch / "ran").exists()
    needs = ((["--executor", "dask"], "dask"), (["--database-url", "postgresql://x@h/db"], "postgres"))
    for flags, extra in needs:
        got = subprocess.run([str(BIN / "bcsd"), "serve", "--data-dir", str(tmp_path / "d"), *flags],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert got.returncode == 2, got.stderr
        assert got.stderr.startswith("bcsd serve: ") and got.stderr.count("\n") == 1
        assert f"needs the {extra} extra: pip install 'bcs-gitops[{extra}]'" in got.stderr
        assert "Traceback" not in got.stderr
    deploy = subprocess.run([str(BIN / "bcs-deploy"), "preview", "--stack", "dev", "--cwd", str(ROOT)],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert deploy.returncode == 1 and "Traceback" not in deploy.stderr
    assert "bcs-deploy needs the provider extra" in deploy.stderr and "bcs-gitops[provider]" in deploy.stderr
