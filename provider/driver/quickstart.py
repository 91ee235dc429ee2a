"""``python -m provider.driver.quickstart up|down|status`` — the README's main command (``make up``).

``up``: build ``worker.tar.gz`` from ``stacks/packages/worker/``, start ``bcsd serve`` on
127.0.0.1 (port ``BCS_DEV_PORT``, default 19080) with data dir ``.bcs/dev`` in the background
unless the data dir's bcsd already runs (whatever its port: one bcsd per data dir, found through
its lock ``.bcs/dev/bcsd.lock``), upload the package and the input, write ``.bcs/dev/env`` (endpoint,
keys, backend, passphrase, for ``bcs-deploy``/``pulumi`` run by hand), deploy the ``dev`` stack (the
real ``pulumi up`` when ``pulumi`` is on PATH or ``make pulumi`` built it, else ``bcs-deploy up``;
both on the file backend ``.bcs/pulumi``), then poll the stack's own jobs (the checkpoint's, not
whatever else the service holds) until they finish, say why one did not, and list the files they
wrote. Running it twice is fine: bcsd is reused, the deploy is a no-op. ``down`` stops the data
dir's bcsd by its PID. ``status`` says whether it runs and how the stack's jobs are.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.states import TERMINAL_STATES, UNSUCCESSFUL_STATES
from provider.client import BatchComputeClient
from provider.driver import dev_service
from provider.driver.dev_service import RunningBcsd
from provider.driver.dev_stack import StackJob, output_files, stack_jobs
from provider.errors import BatchComputeError

DEFAULT_PORT = 19080
STACK = "dev"
BUCKET = "bcs-dev"
DEV_PASSPHRASE = "bcs-gitops-dev"  # the dev stack keeps no secret in git; this only seals local state


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


def _checkpoint(root: Path) -> Path:
    from provider.driver.backend import StackPaths
    from provider.driver.project import load_project

    return StackPaths(root / ".bcs" / "pulumi", load_project(root).name, STACK).checkpoint


def _display(root: Path, path: Path) -> str:
    """``path`` as the user types it from the project folder (relative when inside it)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def start_bcsd(root: Path) -> RunningBcsd:
    """The data dir's bcsd: the running one whatever its port, else a new one on ``BCS_DEV_PORT``."""
    data = _data(root)
    server = dev_service.running(data)
    if server is not None and not server.url:
        raise SystemExit("error: a bcsd holds .bcs/dev/bcsd.lock but has not said where it listens yet "
                         "(still starting?); try again in a moment")
    if server is not None:
        note = ""
        if server.url != f"http://127.0.0.1:{_port()}":
            note = f" (not BCS_DEV_PORT={_port()}: one bcsd per data dir; `make down` first to move it)"
        print(f"bcsd already running (pid {server.pid}) at {server.url}{note}")
        return server
    server = dev_service.start(_bin("bcsd"), data, _port())
    print(f"bcsd started (pid {server.pid}) at {server.url}, data in {_display(root, data)}")
    return server


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


def dev_env(root: Path, server: RunningBcsd) -> dict[str, str]:
    """What a deployment of the dev stack needs in its environment: the running bcsd's URL and
    keys, the file backend and the dev passphrase. Also kept in ``.bcs/dev/env`` (mode 0600, beside
    ``credentials.json``) so ``bcs-deploy`` and ``pulumi`` run by hand reach the same bcsd."""
    env = {
        "BCS_ENDPOINT": server.url,
        **_credentials(root),
        "PULUMI_BACKEND_URL": f"file://{root / '.bcs' / 'pulumi'}",
        "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", DEV_PASSPHRASE),
    }
    path = _data(root) / "env"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# written by `make up`: source it to run bcs-deploy or pulumi against the dev bcsd\n")
        fh.writelines(f"export {key}={shlex.quote(value)}\n" for key, value in env.items())
    return env


def deploy(root: Path, dev: dict[str, str]) -> int:
    """The real ``pulumi up`` when the CLI is available (unless ``BCS_OFFLINE=1``), else the
    offline driver; says which, and how to get the other. Both keep the stack in the same file
    backend, ``.bcs/pulumi``, so either can take over from the other. The engine's Outputs block
    is left out: it holds the states at submission, which the live list after it replaces."""
    backend = root / ".bcs" / "pulumi"
    backend.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **dev, "PULUMI_SKIP_UPDATE_CHECK": "1"}
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
        argv = [str(pulumi), "up", "--yes", "--skip-preview", "--stack", STACK, "--non-interactive",
                "--suppress-outputs"]
        return subprocess.run(argv, cwd=root, env=env).returncode
    why = "BCS_OFFLINE=1" if os.environ.get("BCS_OFFLINE") else "no Pulumi CLI found; `make pulumi` builds it"
    print(f"deploying with the offline driver bcs-deploy ({why})")
    cmd = [sys.executable, "-m", "provider.driver.cli", "up", "--stack", STACK, "--yes", "--cwd", str(root),
           "--suppress-outputs"]
    return subprocess.run(cmd, env=env).returncode


def _client(server: RunningBcsd, env: dict[str, str]) -> BatchComputeClient:
    from provider.config import Settings

    keys = (env["BCS_ACCESS_KEY_ID"], env["BCS_ACCESS_KEY_SECRET"])
    return BatchComputeClient(Settings(server.url, "local", *keys))


def _live(client: BatchComputeClient, job: StackJob) -> dict[str, Any]:
    try:
        return client.get_job(job.job_id)
    except BatchComputeError as exc:  # released after success (410) or deleted behind our back (404)
        state = "Finished" if exc.code == "InvalidResource.Released" else "Deleted"
        return {"Id": job.job_id, "State": state, "Message": exc.message}


def wait_for_jobs(client: BatchComputeClient, jobs: list[StackJob], timeout: float = 300) -> dict[str, dict]:
    """Poll the stack's own jobs until each is terminal, printing each state change; their last
    answers by name (a job still running at ``timeout`` keeps its non-terminal state)."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while True:
        for job in jobs:
            live = _live(client, job)
            if (seen.get(job.name) or {}).get("State") != live.get("State"):
                print(f"  {job.name}: {live.get('State')}  ({job.job_id})", flush=True)
            seen[job.name] = live
        if all(j.get("State") in TERMINAL_STATES | {"Deleted"} for j in seen.values()):
            return seen
        if time.monotonic() > deadline:
            print("  (still running; `make status` shows them later)")
            return seen
        time.sleep(0.5)


def _bcsd_command(root: Path) -> str:
    """How to run bcsd from the project folder, as printed: the virtualenv's, by its path."""
    return _display(root, Path(_bin("bcsd")))


def why_not_finished(client: BatchComputeClient, job: StackJob, live: dict[str, Any]) -> str:
    """One line: which job, its state, and the failing task/instance with exit code and error."""
    from provider.waiting import failure_detail

    state = live.get("State")
    if state == "Failed":
        return f"job {job.name} ({job.job_id}) Failed: {failure_detail(client, live)}"
    detail = f": {live['Message']}" if live.get("Message") else ""
    return f"job {job.name} ({job.job_id}) is {state}{detail}"


def show_outputs(root: Path, jobs: list[StackJob], live: dict[str, dict]) -> None:
    """The stack's jobs with their live state, and the files each wrote, with a command that prints one."""
    oss = _data(root) / "oss"
    bcsd = _bcsd_command(root)
    data = _display(root, _data(root))
    print(f"\nOutputs (local object store: oss://bucket/key is {data}/oss/bucket/key):")
    for job in jobs:
        print(f"  {job.name}: {(live.get(job.name) or {}).get('State', '?')}  ({job.job_id})")
        for url in output_files(oss, job):
            print(f"    {bcsd} oss --data-dir {data} cat {url}")


def up(root: Path) -> int:
    package = build_package(root)
    print(f"built {package.relative_to(root)} from stacks/packages/worker/")
    server = start_bcsd(root)
    env = dev_env(root, server)
    _oss_cp(root, package, f"oss://{BUCKET}/packages/worker.tar.gz")
    _oss_cp(root, root / "stacks" / "packages" / "worker" / "input.txt", f"oss://{BUCKET}/testJob/input/input.txt")
    code = deploy(root, env)
    if code != 0:
        print("error: the deployment failed (see above)", file=sys.stderr)
        return code
    jobs = stack_jobs(_checkpoint(root))
    print("\nJobs of the stack:")
    with _client(server, env) as client:
        live = wait_for_jobs(client, jobs)
        unfinished = [j for j in jobs if live[j.name].get("State") != "Finished"]
        failed = [why_not_finished(client, j, live[j.name]) for j in unfinished]
    show_outputs(root, jobs, live)
    print(f"\nbcsd keeps running in the background (pid {server.pid}) at {server.url}; "
          "stop it with: make down")
    env_file = _display(root, _data(root) / "env")
    deploy_cmd = _display(root, Path(_bin("bcs-deploy")))
    print(f"bcs-deploy by hand: . {env_file} && {deploy_cmd} preview --stack dev")
    for line in failed:
        print(f"error: {line}", file=sys.stderr)
    return 1 if failed else 0


def down(root: Path) -> int:
    server = dev_service.running(_data(root))
    if server is None:
        print("bcsd is not running")
        return 0
    if server.pid <= 0:
        print("error: bcsd is still starting (its lock is held, its pid not yet written); try again",
              file=sys.stderr)
        return 1
    dev_service.stop(server)
    print(f"bcsd stopped (pid {server.pid}, {server.url})")
    return 0


def status(root: Path) -> int:
    """Whether the data dir's bcsd runs (whatever its port) and the stack's jobs; 1 when it does
    not run or a job of the stack did not finish (each with why)."""
    server = dev_service.running(_data(root))
    if server is None or not dev_service.healthy(server.url):
        print("bcsd is not running (start it with: make up)")
        return 1
    print(f"bcsd running (pid {server.pid}) at {server.url}")
    jobs = stack_jobs(_checkpoint(root))
    if not jobs:
        print("  the dev stack has no jobs yet (make up deploys it)")
        return 0
    env = _credentials(root)
    problems = []
    with _client(server, env) as client:
        for job in jobs:
            live = _live(client, job)
            print(f"  {job.name}: {live.get('State')}  ({job.job_id})")
            if live.get("State") in UNSUCCESSFUL_STATES | {"Deleted"}:
                problems.append(why_not_finished(client, job, live))
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


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
    except (OSError, httpx.HTTPError, BatchComputeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
