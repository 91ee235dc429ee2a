"""Instances confined like a VM: real jobs on a real bcsd try to reach what is not theirs.

Each probe runs as a real instance under bwrap and prints a JSON report to its stdout, which
bcsd uploads to the local object store; the test reads it from there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.executors import isolation, limits
from tests.service.jobspec import job, task
from tests.support.bcsd import BCSD, BcsdProcess, free_port, start_bcsd
from tests.support.client import SignedClient
from tests.support.instances import instance_pids

# CI sets BCS_REQUIRE_BWRAP=1: there a machine that cannot sandbox fails these tests, never skips them
pytestmark = pytest.mark.skipif(
    isolation.probe() != "" and not os.environ.get("BCS_REQUIRE_BWRAP"),
    reason=f"no bwrap sandbox here: {isolation.probe()}",
)

PROBE = r"""
import json, os, socket, sys
data_dir, victim, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def read(path):
    try:
        if os.path.isdir(path):
            return "listed: " + ",".join(sorted(os.listdir(path)))
        with open(path, "rb") as f:
            return "read %d bytes" % len(f.read())
    except OSError as e:
        return "refused: " + (e.strerror or str(e))
def write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        return "written"
    except OSError as e:
        return "refused: " + (e.strerror or str(e))
def connect():
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "connected"
    except OSError as e:
        return "refused: " + (e.strerror or str(e))
root = os.environ["BATCH_COMPUTE_LOCAL_ROOT"]
print(json.dumps({
    "uid": os.getuid(),
    "read": {name: read(os.path.join(data_dir, name)) for name in
             ("credentials.json", "bcsd.db", "oss", "sandboxes", "sandboxes/" + victim, "")},
    "write": {"data_dir": write(os.path.join(data_dir, "planted")), "usr": write("/usr/planted"),
              "etc": write("/etc/planted"), "root": write("/planted"),
              "workdir": write("mine"), "fs": write(os.path.join(root, "mine")), "tmp": write("/tmp/mine")},
    "env": sorted(k for k in os.environ if k.startswith("BCS") and not k.startswith("BATCH_COMPUTE")),
    "network": connect(),
}))
"""


def _report(bcsd: BcsdProcess, client: SignedClient, job_id: str, task_name: str = "probe") -> dict[str, Any]:
    client.wait_job(job_id, timeout=60)
    out = bcsd.data_dir / "oss" / "logs" / "iso" / f"stdout.{job_id}.{task_name}.0"
    text = out.read_text()
    assert text.strip(), (
        bcsd.data_dir / "oss" / "logs" / "iso" / f"stderr.{job_id}.{task_name}.0"
    ).read_text()
    return json.loads(text.strip().splitlines()[-1])


def _cgroup_limits(pid: int) -> dict[str, str]:
    """The limit files of the cgroups ``pid`` is in, read from outside (v1 and v2 spellings)."""
    found: dict[str, str] = {}
    mounts = {"memory": "memory", "cpu": "cpu", "pids": "pids"}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        for name in names.split(",") if names else ["unified"]:
            base = Path("/sys/fs/cgroup") / (mounts.get(name, "") if names else "") / path.lstrip("/")
            for file in ("memory.limit_in_bytes", "cpu.cfs_quota_us", "pids.max", "memory.max", "cpu.max"):
                with contextlib.suppress(OSError):
                    found[file] = (base / file).read_text().strip()
    return found


def _probe(bcsd: BcsdProcess, client: SignedClient, scratch: Path) -> tuple[dict[str, Any], str]:
    """Run the probe beside a sleeping victim job; returns the report and the victim's id."""
    victim = client.create_job(job({"v": task("sleep 30")}))
    client.wait_job(victim, ("Running",), 30)
    deadline = time.monotonic() + 20
    while not instance_pids(victim, program="sleep") and time.monotonic() < deadline:
        time.sleep(0.05)
    (scratch / "probe.py").write_text(PROBE)  # CommandLine is at most 1024 characters
    cmd = f"python {scratch}/probe.py {bcsd.data_dir} {victim} {bcsd.port}"
    probe = client.create_job(job({"probe": task(cmd, logs="oss://logs/iso/")}))
    report = _report(bcsd, client, probe)
    # the folders above its own sandbox exist (empty but for the path to it); nothing else does
    assert report["read"].pop("") == "listed: sandboxes", report["read"]
    assert report["read"].pop("sandboxes") == f"listed: {probe}", report["read"]
    pids = instance_pids(victim, program="sleep")
    assert pids, "the victim's instance is running"
    status = Path(f"/proc/{pids[0]}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    report["victim_host_uid"] = int(uid_line.split()[1])
    report["victim_limits"] = _cgroup_limits(pids[0])
    assert client.post(f"/jobs/{victim}/stop").status_code == 201
    return report, victim


def test_an_instance_sees_nothing_of_bcsd_and_runs_unprivileged(tmp_path: Path, scratch: Path) -> None:
    with start_bcsd(tmp_path, generate_credentials=True, isolation_network="off") as bcsd:
        assert (bcsd.data_dir / "credentials.json").is_file()
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            health = httpx.get(f"{bcsd.url}/healthz").json()
            assert health["Isolation"] == "bwrap" and health["Limits"] == limits.kind()
            report, victim = _probe(bcsd, client, scratch)

    for name, outcome in report["read"].items():
        assert outcome.startswith("refused"), f"{name or 'the data dir'}: {outcome}"
    assert not (bcsd.data_dir / "planted").exists()
    for place in ("data_dir", "usr", "etc", "root"):
        assert report["write"][place].startswith("refused"), (place, report["write"][place])
    for place in ("workdir", "fs", "tmp"):
        assert report["write"][place] == "written", (place, report["write"][place])
    assert report["env"] == []  # BCS_ACCESS_KEY_* of bcsd never reach an instance
    if os.geteuid() == 0:
        assert report["uid"] == 65534 and report["victim_host_uid"] == 65534  # nobody, also outside
    assert report["network"].startswith("refused")  # --isolation-network off: own loopback only
    held = report["victim_limits"]  # ecs.sn1.medium: 2 CPU, 4 GB; pids from --instance-pids-max
    if limits.kind() == "cgroup v1":
        assert held["memory.limit_in_bytes"] == str(4 * 10**9 // 4096 * 4096), held
        assert held["cpu.cfs_quota_us"] == "200000" and held["pids.max"] == "512", held
    elif limits.kind() == "cgroup v2":
        assert held["memory.max"] == str(4 * 10**9 // 4096 * 4096) and held["cpu.max"] == "200000 100000"
        assert held["pids.max"] == "512", held
    assert victim


def test_network_is_on_by_default(
    shared_bcsd: BcsdProcess, shared_client: SignedClient, scratch: Path
) -> None:
    report, _ = _probe(shared_bcsd, shared_client, scratch)
    assert report["network"] == "connected"
    assert all(outcome.startswith("refused") for outcome in report["read"].values()), report["read"]


def test_memory_beyond_the_instance_type_fails_clearly(shared_client: SignedClient) -> None:
    hog = task("python -c 'x = b\"x\" * (3 * 10**9); print(len(x))'")
    hog["AutoCluster"]["InstanceType"] = "ecs.t1.small"  # 1 CPU, 1 GB in the /available table
    job_id = shared_client.create_job(job({"hog": hog}))
    assert shared_client.wait_job(job_id, timeout=60)["State"] == "Failed"
    result = shared_client.get(f"/jobs/{job_id}/tasks/hog/instances/0").json()["Result"]
    if limits.kind() == "rlimits":  # no OOM report without cgroups: the program sees MemoryError
        assert result["ExitCode"] != 0
        return
    assert result["ErrorCode"] == "InstanceOutOfMemory", result
    assert "1 GB" in result["ErrorMessage"] and "ecs.t1.small" in result["ErrorMessage"]


FORK_BOMB = r"""
import os, time
kids = []
try:
    while len(kids) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
    print("unbounded", len(kids))
except OSError as e:
    print("stopped", len(kids))
for k in kids:
    os.kill(k, 9)
"""


def test_a_fork_bomb_stops_at_the_pids_limit(tmp_path: Path) -> None:
    with (
        start_bcsd(tmp_path, instance_pids_max=32) as bcsd,
        SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as c,
    ):
        job_id = c.create_job(
            job({"probe": task(f"python -c {shlex.quote(FORK_BOMB)}", logs="oss://logs/iso/")})
        )
        assert c.wait_job(job_id, timeout=60)["State"] == "Finished"
        out = (bcsd.data_dir / "oss" / "logs" / "iso" / f"stdout.{job_id}.probe.0").read_text().split()
    assert out[0] == "stopped" and int(out[1]) < 32, out


def test_rlimits_fallback_sets_the_limits_on_the_command() -> None:
    jail = limits.Rlimits().confine("x", limits.limits_for(0.5, 1, 40))
    code = "import resource as r; print(r.getrlimit(r.RLIMIT_AS)[0], r.getrlimit(r.RLIMIT_NPROC)[0])"
    out = subprocess.run(
        [*jail.prefix(), sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == [str(500_000_000), "40"]


def _serve(tmp_path: Path, isolation_choice: str, path: str) -> subprocess.Popen[bytes]:
    port = free_port()
    env = dict(os.environ, PATH=path, BCS_ACCESS_KEY_ID="LTAIiso", BCS_ACCESS_KEY_SECRET="s" * 20)
    argv = [
        str(BCSD),
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "d"),
        "--isolation",
        isolation_choice,
    ]
    log = open(tmp_path / "log", "wb")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.port = port  # type: ignore[attr-defined]
    return proc


def test_without_bwrap_auto_warns_and_bwrap_refuses_to_start(tmp_path: Path) -> None:
    no_bwrap = str(Path(sys.executable).parent)  # bcsd's interpreter, but no bwrap on PATH
    refused = subprocess.run(
        [str(BCSD), "serve", "--port", "0", "--data-dir", str(tmp_path / "x"), "--isolation", "bwrap"],
        env=dict(os.environ, PATH=no_bwrap), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "--isolation bwrap: bwrap is not installed" in refused.stderr and "bubblewrap" in refused.stderr
    assert "Traceback" not in refused.stderr

    proc = _serve(tmp_path, "auto", no_bwrap)
    try:
        deadline = time.monotonic() + 30
        health: dict[str, str] = {}
        while time.monotonic() < deadline and not health:
            try:
                health = httpx.get(f"http://127.0.0.1:{proc.port}/healthz").json()  # type: ignore[attr-defined]
            except httpx.HTTPError:
                time.sleep(0.1)
        assert health["Isolation"] == "none"
    finally:
        proc.terminate()
        proc.wait(10)
    warnings = [line for line in (tmp_path / "log").read_text().splitlines() if "UNCONFINED" in line]
    assert len(warnings) == 1 and "apt-get install bubblewrap" in warnings[0], warnings


def _joins(jail: limits.Confinement) -> int:
    with jail.entering():
        return subprocess.run([*jail.prefix(), "true"], capture_output=True, check=False).returncode


@pytest.mark.skipif(limits.kind() == "rlimits", reason="no writable cgroups on this machine")
def test_a_starting_bcsd_never_sweeps_another_attempts_fresh_cgroup() -> None:
    """Regression: every new bcsd (and runner host) swept all empty attempt folders, including
    ones another process had just made and not joined yet; that instance then failed with
    ``cgroup.procs: Directory nonexistent`` (exit 125), and its job with it."""
    jail = limits.confine("fresh-attempt", limits.limits_for(0.2, 1, 16))
    try:
        sweep = "from service.executors import limits; limits.backend()"
        subprocess.run([sys.executable, "-c", sweep], check=True, cwd=Path(__file__).parents[2])
        assert _joins(jail) == 0
    finally:
        jail.close()


@pytest.mark.skipif(limits.kind() == "rlimits", reason="no writable cgroups on this machine")
def test_first_launches_of_a_process_all_join_their_cgroups() -> None:
    """Regression: a fresh runner's threads chose the backend together, and the later choice swept
    the folders the earlier threads had just made."""
    script = """
import subprocess, sys, threading
from service.executors import limits
codes = []
def one(i):
    jail = limits.confine(f"burst-{i}", limits.limits_for(0.2, 1, 16))
    try:
        with jail.entering():
            codes.append(subprocess.run([*jail.prefix(), "true"], capture_output=True).returncode)
    except limits.CannotEnter:
        codes.append(125)
    finally:
        jail.close()
threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sorted(codes))
"""
    for _ in range(3):  # a fresh process each time: the choice happens at its first launches
        argv = [sys.executable, "-c", script]
        out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
        assert out.stdout.strip() == str([0] * 16), out.stdout + out.stderr
