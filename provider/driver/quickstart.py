"""``python -m provider.driver.quickstart up|down|status`` — the README's main command (``make up``).

``up``: build ``worker.tar.gz`` from ``stacks/packages/worker/``, start ``bcsd serve`` on
127.0.0.1 (port ``BCS_DEV_PORT``, default 19080, matching ``stacks/Pulumi.dev.yaml``) with data
dir ``.bcs/dev`` in the background (pid in ``.bcs/dev/bcsd.pid``), upload the package and the
input, deploy the ``dev`` stack (the real ``pulumi up`` when ``pulumi`` is on PATH or ``make pulumi``
built it, else ``bcs-deploy up``; both on the file backend ``.bcs/pulumi``), then poll the jobs until they
finish and show where their output is. Running it twice is fine: bcsd is reused, the deploy is
a no-op. ``down`` stops bcsd by its PID. ``status`` says whether it runs and lists the jobs.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import httpx

DEFAULT_PORT = 19080
STACK = "dev"
BUCKET = "bcs-dev"
DEV_PASSPHRASE = "bcs-gitops-dev"  # the dev stack keeps no secret in git; this only seals local state
TERMINAL = {"Finished", "Failed", "Stopped"}


def _root() -> Path:
    return Path(os.environ.get("BCS_PROJECT_DIR", Path.cwd())).resolve()


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else name


def _port() -> int:
    return int(os.environ.get("BCS_DEV_PORT", DEFAULT_PORT))


def _data(root: Path) -> Path:
    return root / ".bcs" / "dev"


def build_package(root: Path) -> Path:
    """``worker.tar.gz`` from the sources, byte-for-byte reproducible (fixed mtimes and owners)."""
    src = root / "stacks" / "packages" / "worker"
    out = root / ".bcs" / "build" / "worker.tar.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(src.glob("*.py")):
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path, "rb") as fh:
                tar.addfile(info, fh)
    out.write_bytes(buf.getvalue())
    return out


def _pid(root: Path) -> int | None:
    path = _data(root) / "bcsd.pid"
    if not path.exists():
        return None
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (ValueError, ProcessLookupError, PermissionError):
        return None


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def start_bcsd(root: Path, url: str) -> None:
    """Start bcsd in the background unless ours already runs; wait until it is healthy."""
    data = _data(root)
    if _pid(root) and _healthy(url):
        print(f"bcsd already running (pid {_pid(root)}) at {url}")
        return
    if _healthy(url):
        raise SystemExit(f"error: something else answers on {url}; set BCS_DEV_PORT to another port")
    data.mkdir(parents=True, exist_ok=True)
    log = open(data / "bcsd.log", "ab")  # noqa: SIM115 - handed to the child
    env = {k: v for k, v in os.environ.items() if k not in ("BCS_ACCESS_KEY_ID", "BCS_ACCESS_KEY_SECRET")}
    proc = subprocess.Popen(
        [_bin("bcsd"), "serve", "--host", "127.0.0.1", "--port", str(_port()), "--data-dir", str(data)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    log.close()
    (data / "bcsd.pid").write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 30
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (data / "bcsd.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"error: bcsd did not start (see {data / 'bcsd.log'}):\n{tail}")
        time.sleep(0.1)
    print(f"bcsd started (pid {proc.pid}) at {url}, data in {data}")


def _credentials(root: Path) -> dict[str, str]:
    doc = json.loads((_data(root) / "credentials.json").read_text())
    key_id = doc.get("AccessKeyId") or doc.get("access_key_id") or doc.get("key_id")
    secret = doc.get("AccessKeySecret") or doc.get("access_key_secret") or doc.get("secret")
    return {"BCS_ACCESS_KEY_ID": str(key_id), "BCS_ACCESS_KEY_SECRET": str(secret)}


def _oss_cp(root: Path, src: Path, dst: str) -> None:
    subprocess.run(
        [_bin("bcsd"), "oss", "--data-dir", str(_data(root)), "cp", str(src), dst], check=True,
        stdout=subprocess.DEVNULL,
    )


def find_pulumi(root: Path) -> Path | None:
    """The real CLI: ``pulumi`` on PATH with our plugins, else the one ``make pulumi`` built.

    Never builds it (a cold build takes minutes): ``tools/pulumi/build.py --where`` only looks
    in the cache for the pinned version.
    """
    on_path = shutil.which("pulumi")
    if on_path and shutil.which("pulumi-language-python"):
        return Path(on_path)
    build = root / "tools" / "pulumi" / "build.py"
    if build.exists():
        found = subprocess.run(
            [sys.executable, str(build), "--where"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            return Path(found.stdout.strip()) / "pulumi"
    return None


def _recover_killed_run(pulumi: Path, root: Path, backend: Path, env: dict[str, str]) -> None:
    """After a killed deployment of the dev stack, do the recovery of provider/README.md
    ("Interrupted deployments") by itself: ``pulumi cancel`` removes the dead run's lock and
    ``refresh --clear-pending-creates`` its pending creates; the ``up`` that follows re-sends the
    same IdempotentTokens, so a job the killed run had submitted is adopted, not duplicated."""
    from provider.driver.backend import StackPaths
    from provider.driver.locks import dead_holders
    from provider.driver.project import load_project

    dead = dead_holders(StackPaths(backend, load_project(root).name, STACK))
    if not dead:
        return
    print(f"a previous deployment (pid {', '.join(map(str, dead))}) was killed: clearing its lock and "
          "pending operations (pulumi cancel; pulumi refresh --clear-pending-creates)")
    for args in (["cancel", "--yes"], ["refresh", "--clear-pending-creates", "--yes", "--skip-preview"]):
        subprocess.run([str(pulumi), *args, "--stack", STACK, "--non-interactive"], cwd=root, env=env,
                       check=True, stdout=subprocess.DEVNULL)


def deploy(root: Path, env: dict[str, str]) -> int:
    """The real ``pulumi up`` when the CLI is available (unless ``BCS_OFFLINE=1``), else the
    offline driver; says which, and how to get the other. Both keep the stack in the same file
    backend, ``.bcs/pulumi``, so either can take over from the other."""
    backend = root / ".bcs" / "pulumi"
    backend.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **env, "BCS_ENDPOINT": f"http://127.0.0.1:{_port()}"}
    env.setdefault("PULUMI_CONFIG_PASSPHRASE", DEV_PASSPHRASE)
    env.setdefault("PULUMI_BACKEND_URL", f"file://{backend}")
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "1")
    extra = ["--config", f"bcs:endpoint=http://127.0.0.1:{_port()}"] if _port() != DEFAULT_PORT else []
    pulumi = None if os.environ.get("BCS_OFFLINE") else find_pulumi(root)
    if pulumi is not None:
        version = subprocess.run([str(pulumi), "version"], capture_output=True, text=True).stdout.strip()
        print(f"deploying with the Pulumi CLI {version} ({pulumi}); BCS_OFFLINE=1 uses bcs-deploy instead")
        path = [str(pulumi.parent), str(Path(sys.executable).parent), env.get("PATH", "")]
        env["PATH"] = os.pathsep.join(path)
        subprocess.run(
            [str(pulumi), "stack", "select", "--create", STACK, "--non-interactive"],
            cwd=root, env=env, check=False, stdout=subprocess.DEVNULL,
        )
        _recover_killed_run(pulumi, root, backend, env)
        argv = [str(pulumi), "up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive", *extra]
        return subprocess.run(argv, cwd=root, env=env).returncode
    why = "BCS_OFFLINE=1" if os.environ.get("BCS_OFFLINE") else "no Pulumi CLI found; `make pulumi` builds it"
    print(f"deploying with the offline driver bcs-deploy ({why})")
    cmd = [sys.executable, "-m", "provider.driver.cli", "up", "--stack", STACK, "--yes", "--cwd", str(root)]
    return subprocess.run(cmd + extra, env=env).returncode


def _jobs(url: str, env: dict[str, str]) -> list[dict]:
    from provider.client import BatchComputeClient  # the provider's signed client
    from provider.config import Settings

    settings = Settings(url, "local", env["BCS_ACCESS_KEY_ID"], env["BCS_ACCESS_KEY_SECRET"])
    with BatchComputeClient(settings) as client:
        return list(client.list_jobs())


def wait_for_jobs(root: Path, url: str, env: dict[str, str], timeout: float = 300) -> bool:
    """Poll until every job is terminal; print each state change; True when all Finished."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        jobs = _jobs(url, env)
        for job in jobs:
            state = job.get("State", "?")
            if seen.get(job["Id"]) != state:
                seen[job["Id"]] = state
                print(f"  {job.get('Name')}: {state}  ({job['Id']})", flush=True)
        if jobs and all(j.get("State") in TERMINAL for j in jobs):
            return all(j.get("State") == "Finished" for j in jobs)
        if time.monotonic() > deadline:
            print("  (still running; `make status` shows them later)")
            return False
        time.sleep(0.5)


def show_outputs(root: Path) -> None:
    oss = _data(root) / "oss" / BUCKET
    print("\nOutput (local object store, oss://bcs-dev/... = .bcs/dev/oss/bcs-dev/...):")
    for path in sorted(oss.rglob("*")):
        if path.is_file() and "packages" not in path.parts and "input" not in path.parts:
            rel = path.relative_to(_data(root) / "oss")
            print(f"  {path.relative_to(root)}    bcsd oss --data-dir .bcs/dev cat oss://{rel}")


def up(root: Path) -> int:
    url = f"http://127.0.0.1:{_port()}"
    package = build_package(root)
    print(f"built {package.relative_to(root)} from stacks/packages/worker/")
    start_bcsd(root, url)
    env = _credentials(root)
    _oss_cp(root, package, f"oss://{BUCKET}/packages/worker.tar.gz")
    _oss_cp(root, root / "stacks" / "packages" / "worker" / "input.txt", f"oss://{BUCKET}/testJob/input/input.txt")
    code = deploy(root, env)
    if code != 0:
        print("error: the deployment failed (see above)", file=sys.stderr)
        return code
    print("\nJobs:")
    ok = wait_for_jobs(root, url, env)
    show_outputs(root)
    print(f"\nbcsd keeps running in the background (pid {_pid(root)}); stop it with: make down")
    return 0 if ok else 1


def down(root: Path) -> int:
    pid = _pid(root)
    if pid is None:
        print("bcsd is not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (_data(root) / "bcsd.pid").unlink(missing_ok=True)
    print(f"bcsd stopped (pid {pid})")
    return 0


def status(root: Path) -> int:
    url = f"http://127.0.0.1:{_port()}"
    pid = _pid(root)
    if pid is None or not _healthy(url):
        print("bcsd is not running (start it with: make up)")
        return 1
    print(f"bcsd running (pid {pid}) at {url}")
    for job in _jobs(url, _credentials(root)):
        print(f"  {job.get('Name')}: {job.get('State')}  ({job['Id']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "up"
    actions = {"up": up, "down": down, "status": status}
    if command not in actions:
        print("usage: python -m provider.driver.quickstart up|down|status", file=sys.stderr)
        return 2
    try:
        return actions[command](_root())
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))} failed with code {exc.returncode}", file=sys.stderr)
        return 1
    except (OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
