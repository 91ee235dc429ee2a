"""Build (or reuse) the pinned Pulumi CLI and install our plugins beside it: ``make pulumi``.

    python3 tools/pulumi/build.py           # build if missing, then print the bin directory
    python3 tools/pulumi/build.py --where   # print the bin directory if built, else exit 1

The pin is the ``github.com/pulumi/pulumi/pkg/v3`` requirement of ``tools/pulumi/go.mod`` (one
place; ``tests/engine/test_pin.py`` holds it to the Python SDK pin). The binary is cached per
version under ``$BCS_PULUMI_CACHE`` (default ``~/.cache/bcs-gitops/pulumi``), so another clone on
the same machine reuses it; Go's own module and build caches make a rebuild after a cache wipe
quick. The small plugin scripts from ``tools/pulumi/bin`` are copied beside the binary on every
run (the engine looks for plugins beside the CLI), so a changed script never goes stale.
Standard library only: it runs before the virtualenv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI_PACKAGE = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
VERSION_SYMBOL = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version"
PLUGINS = ("pulumi-language-python", "pulumi-resource-pulumi-python", "language_host.py")


def pinned_version() -> str:
    """The CLI release pinned in go.mod, without the ``v`` (``3.260.0``)."""
    found = re.search(r"github\.com/pulumi/pulumi/pkg/v3 v(\S+)", (HERE / "go.mod").read_text())
    if not found:
        raise SystemExit("tools/pulumi/go.mod does not require github.com/pulumi/pulumi/pkg/v3")
    return found.group(1)


def bin_dir(version: str) -> Path:
    base = Path(os.environ.get("BCS_PULUMI_CACHE", Path.home() / ".cache" / "bcs-gitops" / "pulumi"))
    return base / f"v{version}" / "bin"


def _reports(binary: Path, version: str) -> bool:
    if not binary.exists():
        return False
    done = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == f"v{version}"


def _install_plugins(target: Path, version: str) -> None:
    for name in PLUGINS:
        text = (HERE / "bin" / name).read_text()
        if name == "language_host.py":
            text = re.sub(r'^VERSION = "[^"]*"', f'VERSION = "{version}"', text, count=1, flags=re.M)
        dest = target / name
        if not dest.exists() or dest.read_text() != text:
            tmp = dest.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.chmod(0o755)
            tmp.replace(dest)


def _say(line: str) -> None:
    """Progress goes to stderr: stdout carries only the bin directory, which `make pulumi` captures."""
    print(line, file=sys.stderr, flush=True)


def _run_with_progress(label: str, argv: list[str]) -> None:
    """Run a long Go step, printing elapsed time every 15 s so the build never looks hung."""
    started = time.monotonic()
    _say(f"  {label} ...")
    done = threading.Event()

    def tick() -> None:
        while not done.wait(15):
            _say(f"  {label}: {time.monotonic() - started:.0f} s")

    threading.Thread(target=tick, daemon=True).start()
    env = {**os.environ, "GOFLAGS": os.environ.get("GOFLAGS", "-buildvcs=false")}
    try:
        result = subprocess.run(argv, cwd=HERE, env=env, capture_output=True, text=True, check=False)
    finally:
        done.set()
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"error: {label} failed (exit {result.returncode}); see the Go output above")
    _say(f"  {label}: done in {time.monotonic() - started:.0f} s")


def build(version: str, target: Path) -> None:
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            "error: the Pulumi CLI is not built and `go` is not on PATH; install Go 1.26+ "
            "(with access to the Go module proxy) and run `make pulumi` again"
        )
    _say(f"building the Pulumi CLI v{version} from Go modules into {target} (cold: a few minutes)")
    target.mkdir(parents=True, exist_ok=True)
    _run_with_progress("downloading modules (go mod download)", [go, "mod", "download"])
    partial = target / "pulumi.partial"
    ldflags = f"-X {VERSION_SYMBOL}=v{version}"
    _run_with_progress(
        "compiling (go build)",
        [go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(partial), CLI_PACKAGE],
    )
    partial.replace(target / "pulumi")  # atomic: a killed build never leaves a half binary


def main(argv: list[str]) -> int:
    version = pinned_version()
    target = bin_dir(version)
    if "--where" in argv:
        if not _reports(target / "pulumi", version):
            return 1
        _install_plugins(target, version)
        print(target)
        return 0
    if _reports(target / "pulumi", version):
        print(f"Pulumi CLI v{version}: reusing {target / 'pulumi'}", file=sys.stderr)
    else:
        started = time.monotonic()
        build(version, target)
        if not _reports(target / "pulumi", version):
            raise SystemExit(f"error: the built CLI does not report v{version}")
        print(f"built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    _install_plugins(target, version)
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
