"""The real Pulumi engine beside our offline driver, and the cost of getting the CLI.

Side by side in one run, against one bcsd on loopback:
- ``up`` of the dev stack's specs from empty state: ``pulumi up`` vs ``bcs-deploy up``;
- no-op ``preview`` of a generated 100-job stack: ``pulumi preview`` vs ``bcs-deploy preview``;
- the CLI build: warm (``tools/pulumi/build.py`` reusing the cache); with ``--cold`` also a
  rebuild into a throwaway cache with empty Go build and module caches (minutes: not run by
  ``make bench`` unless asked).
Each engine runs on its own project copy and file backend. Nothing is asserted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.bcsd import start_bcsd  # noqa: E402
from tests.support.pulumi_cli import PulumiProject, cli_bin_dir  # noqa: E402

ROUNDS = 3
JOBS = 100


def _job(i: int) -> dict[str, Any]:
    task = {
        "InstanceCount": 1,
        "Timeout": 60,
        "AutoCluster": {"InstanceType": "bcs.a2.large", "ImageId": "img-ubuntu"},
        "Parameters": {"Command": {"CommandLine": "true", "PackagePath": ""}},
    }
    return {"Name": f"job{i:03d}", "Priority": 1, "Type": "DAG", "DAG": {"Tasks": {"main": task}}}


def _project(root: Path, url: str, jobs: dict[str, dict[str, Any]] | None) -> None:
    """A GitOps project: the repo's program, the dev specs (``jobs=None``) or generated ones."""
    (root / "stacks").mkdir(parents=True)
    shutil.copy(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copy(REPO / "stacks" / "__main__.py", root / "stacks" / "__main__.py")
    config: dict[str, Any] = {"bcs:endpoint": url, "bcs:region": "local"}
    if jobs is None:
        shutil.copytree(REPO / "stacks" / "specs", root / "stacks" / "specs")
        dev = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
        config.update({k: v for k, v in dev.items() if k.startswith("bcs-gitops:")})
    else:
        (root / "stacks" / "specs" / "jobs").mkdir(parents=True)
        (root / "stacks" / "specs" / "clusters").mkdir(parents=True)
        for name, body in jobs.items():
            (root / "stacks" / "specs" / "jobs" / f"{name}.yaml").write_text(yaml.safe_dump(body))
    (root / "stacks" / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": config}))


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


class Engines:
    """One project per engine in ``base``; ``run(name, command)`` times one engine command."""

    def __init__(self, base: Path, url: str, keys: dict[str, str], bin_dir: Path,
                 jobs: dict[str, dict[str, Any]] | None) -> None:
        self.cli_root, self.driver_root = base / "cli", base / "driver"
        _project(self.cli_root, url, jobs)
        _project(self.driver_root, url, jobs)
        self.cli = PulumiProject(self.cli_root, bin_dir, keys)
        self.cli.stack_init("bench")
        self.driver_env = {**self.cli.env, "PULUMI_BACKEND_URL": f"file://{self.driver_root / '.backend'}"}
        (self.driver_root / ".backend").mkdir()

    def pulumi(self, *args: str) -> float:
        argv = [str(self.cli.bin_dir / "pulumi"), *args, "--stack", "bench", "--non-interactive"]
        return _timed(argv, self.cli_root, self.cli.env)

    def driver(self, *args: str) -> float:
        argv = [sys.executable, "-m", "provider.driver.cli", *args, "--stack", "bench",
                "--cwd", str(self.driver_root)]
        return _timed(argv, self.driver_root, self.driver_env)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def bench_build(cold: bool) -> None:
    build = [sys.executable, str(REPO / "tools" / "pulumi" / "build.py")]
    warm = _median([_timed(build, REPO, dict(os.environ)) for _ in range(ROUNDS)])
    print(f"CLI build, warm (cache hit): {warm:.2f} s")
    if not cold:
        print("CLI build, cold: run `python bench/bench_engines.py --cold` (empty Go caches; minutes)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BCS_PULUMI_CACHE": f"{tmp}/cache", "GOCACHE": f"{tmp}/gocache",
               "GOMODCACHE": f"{tmp}/gomod", "GOFLAGS": "-buildvcs=false -modcacherw"}
        elapsed = _timed(build, REPO, env)
    print(f"CLI build, cold (empty module and build caches): {elapsed:.0f} s  (warm ×{elapsed / warm:.0f})")


def main(argv: list[str]) -> int:
    bin_dir = cli_bin_dir()
    if bin_dir is None:
        print("skipped: no Pulumi CLI (run `make pulumi`)")
        return 0
    bench_build("--cold" in argv)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        with start_bcsd(base / "bcsd") as service:
            keys = {"BCS_ACCESS_KEY_ID": service.key_id, "BCS_ACCESS_KEY_SECRET": service.secret}
            dev = Engines(base / "dev", service.url, keys, bin_dir, None)
            cli_up = dev.pulumi("up", "--yes", "--skip-preview")
            driver_up = dev.driver("up", "--yes")
            print(f"up of the dev stack from empty: pulumi {cli_up:.2f} s, bcs-deploy {driver_up:.2f} s"
                  f"  (bcs-deploy/pulumi ×{driver_up / cli_up:.2f})")
            many = Engines(base / "many", service.url, keys, bin_dir,
                           {f"job{i:03d}": _job(i) for i in range(JOBS)})
            many.pulumi("up", "--yes", "--skip-preview")
            many.driver("up", "--yes")
            cli = _median([many.pulumi("preview", "--expect-no-changes") for _ in range(ROUNDS)])
            driver = _median([many.driver("preview") for _ in range(ROUNDS)])
            print(f"no-op preview of {JOBS} jobs (median of {ROUNDS}): pulumi {cli:.2f} s, "
                  f"bcs-deploy {driver:.2f} s  (bcs-deploy/pulumi ×{driver / cli:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
