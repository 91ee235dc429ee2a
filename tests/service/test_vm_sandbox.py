"""VM sandboxes (service/executors/vm_sandbox.py, vm_pool.py) with real bwrap, processes and cgroups:
a task's instances on one VM reuse one sandbox, and nothing of one instance reaches the next."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import TaskDescription
from service.config import Settings
from service.executors import isolation, limits
from service.executors.base import InstanceExited, InstanceKey, InstanceLaunch, InstanceStarted
from service.executors.runner import run_instance
from service.executors.runner_host import Host, read_frame
from service.executors.vm_pool import VmPool, uses_vm
from service.objectstore import ObjectStore
from service.scheduler.launch import instances_per_vm
from tests.service.jobspec import job, task
from tests.support.bcsd import start_bcsd
from tests.support.client import SignedClient

pytestmark = pytest.mark.skipif(
    isolation.probe() != "" and not os.environ.get("BCS_REQUIRE_BWRAP"),
    reason=f"no bwrap sandbox here: {isolation.probe()}",
)

JOB = "job-000000005F0E3A1A00000A0B0000VM01"


def launch_for(tmp_path: Path, command: str, idx: int = 0, **kw: object) -> InstanceLaunch:
    store = ObjectStore.local(tmp_path / "data")
    fields: dict[str, object] = dict(
        key=InstanceKey(JOB, "work", idx, 0), command_line=command, package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="oss://logs/", stderr_dir="oss://logs/",
        timeout_s=30.0, sandbox_root=str(tmp_path / "sandboxes"), cluster_id="cls-vm", vm_id="vm-a",
        object_store=store.to_config(), isolation=isolation.Isolation(mode="bwrap"), instances_per_vm=10,
    )  # fmt: skip
    fields.update(kw)
    return InstanceLaunch(**fields)  # type: ignore[arg-type]


def stdout_of(tmp_path: Path, launch: InstanceLaunch) -> str:
    k = launch.key
    logs = tmp_path / "data" / "oss" / "logs"
    return (logs / f"stdout.{k.job_id}.{k.task_name}.{k.instance_id}").read_text()


@pytest.fixture()
def pool() -> Iterator[VmPool]:
    vms = VmPool(idle_s=60.0)
    yield vms
    vms.close()


class Run:
    """run_instance on the pool, remembering the process group each attempt reported."""

    def __init__(self, tmp_path: Path, pool: VmPool) -> None:
        self.tmp_path, self.pool = tmp_path, pool
        self.pgids: list[int] = []

    def __call__(self, launch: InstanceLaunch, should_stop=lambda: False) -> tuple[InstanceExited, str]:
        exited = run_instance(launch, should_stop, lambda pid, _: self.pgids.append(pid), vms=self.pool)
        try:
            out = stdout_of(self.tmp_path, launch)
        except FileNotFoundError:
            out = ""
        return exited, out


def _cwd_under(root: Path) -> list[tuple[int, str]]:
    """Processes (pid, cmdline) whose cwd is inside ``root``, seen from outside."""
    found = []
    base = os.path.realpath(root) + os.sep
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if (cwd + os.sep).startswith(base):
                found.append((int(entry), cmd))
    return found


def test_when_a_vm_sandbox_is_used() -> None:
    assert uses_vm("bwrap", 10, warm=False)
    assert not uses_vm("bwrap", 1, warm=False)  # a chain's one-instance task keeps the direct path
    assert not uses_vm("bwrap", 2, warm=False)  # break-even: the direct path
    assert uses_vm("bwrap", 1, warm=True)  # a retry on a warm VM
    assert not uses_vm("none", 10, warm=True)


def test_instances_per_vm_from_the_task_and_its_cluster() -> None:
    settings = Settings(data_dir=Path("/nonexistent"), auto_cluster_max_vms=64)
    auto = {"AutoCluster": {"InstanceType": "ecs.sn1.medium", "ImageId": "img-ubuntu"}}
    spec = {"InstanceCount": 1, "Parameters": {"Command": {"CommandLine": "true", "PackagePath": ""}}}

    def per_vm(count: int, **kw: object) -> int:
        body = {**spec, **auto, "InstanceCount": count, **kw}
        return instances_per_vm(TaskDescription.model_validate(body), settings)

    assert [per_vm(n) for n in (1, 10, 64, 65, 2000)] == [1, 1, 1, 2, 32]  # an AutoCluster: min(n, 64) VMs
    assert per_vm(5, ClusterId="cls-named") == 5  # a named cluster's size is unknown: an upper bound


def test_instances_of_a_task_on_one_vm_reuse_its_sandbox(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    script = "import os, socket; print(socket.gethostname(), os.path.exists('/tmp/left-by-0'), os.getcwd())"
    first, out0 = run(launch_for(tmp_path, "sh -c 'touch /tmp/left-by-0; hostname'", 0))
    second, out1 = run(launch_for(tmp_path, f'python -c "{script}"', 1))
    assert first.succeeded and second.succeeded, (first, second)
    assert out0.strip() == "vm-a"
    host, shared_tmp, cwd = out1.split()
    assert host == "vm-a" and shared_tmp == "True"  # the VM's /tmp, as on a real VM
    assert cwd == str(tmp_path / "sandboxes" / JOB / "work" / "1" / "0" / "workdir")  # its own folder
    assert run.pgids[0] == run.pgids[1] and pool.alive() == 1  # one sandbox for both
    other, _ = run(launch_for(tmp_path, "true", 2, vm_id="vm-b"))
    assert other.succeeded and run.pgids[2] != run.pgids[0] and pool.alive() == 2  # a VM per slot


def test_a_setsid_daemon_does_not_survive_into_the_next_instance(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    daemon = "sh -c 'setsid sleep 321 & setsid sh -c \"sleep 322 &\"; sleep 0.2; echo started'"
    first, out = run(launch_for(tmp_path, daemon, 0))
    assert first.succeeded and out.strip() == "started", first
    lister = (
        "import os; print([open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ') "
        "for p in os.listdir('/proc') if p.isdigit()])"
    )
    second, seen = run(launch_for(tmp_path, f'python -c "{lister}"', 1))
    assert second.succeeded, second
    assert "sleep 32" not in seen, seen  # nothing of instance 0 is left in the VM
    assert run.pgids[0] == run.pgids[1]  # and it was the same VM sandbox
    assert not [cmd for _, cmd in _cwd_under(tmp_path) if "sleep 32" in cmd]  # nor seen from outside


def test_stop_and_timeout_end_the_command_and_the_vm_goes_on(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    timed, _ = run(launch_for(tmp_path, "sh -c 'trap \"\" TERM; sleep 60'", 0, timeout_s=0.5))
    assert timed.error_code == "InstanceTimeout" and timed.exit_code is None, timed
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    stopped, _ = run(launch_for(tmp_path, "sleep 60", 1), stop.is_set)
    assert stopped.error_code == "InstanceStopped", stopped
    after, _ = run(launch_for(tmp_path, "sh -c 'exit 7'", 2))
    assert after.exit_code == 7 and after.error_code == "" and len(set(run.pgids)) == 1
    missing, _ = run(launch_for(tmp_path, "no-such-program-here", 3))
    assert missing.error_code == "CommandNotFound", missing
    killed, _ = run(launch_for(tmp_path, "sh -c 'kill -9 $$'", 4))
    assert killed.exit_code == 137, killed


@pytest.mark.skipif(limits.kind() == "rlimits", reason="no writable cgroups on this machine")
def test_limits_hold_per_instance_and_oom_is_judged_per_instance(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    small = {"memory_gb": 0.2, "instance_type": "ecs.tiny"}
    hog, _ = run(launch_for(tmp_path, "python -c 'x = b\"x\" * (10**9); print(len(x))'", 0, **small))
    assert hog.error_code == "InstanceOutOfMemory" and "0.2 GB" in hog.error_message, hog
    fine, _ = run(launch_for(tmp_path, "true", 1, **small))
    assert fine.succeeded, fine  # the earlier OOM kill is not this instance's
    pids = "import os; print(open('/proc/self/cgroup').read())"
    seen, _ = run(launch_for(tmp_path, f'python -c "{pids}"', 2, **small))
    assert seen.succeeded


def test_reserve_on_fail_keeps_the_sandbox_and_retires_the_vm(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    failed, _ = run(
        launch_for(tmp_path, "sh -c 'echo kept > $HOME/note; exit 3'", 0, keep_sandbox_on_failure=True)
    )
    assert failed.exit_code == 3 and failed.sandbox_path, failed
    assert (Path(failed.sandbox_path) / "workdir" / "note").read_text() == "kept\n"
    assert pool.alive() == 0  # nothing else reuses that VM sandbox
    nxt, _ = run(launch_for(tmp_path, "true", 1, keep_sandbox_on_failure=True))
    assert nxt.succeeded and run.pgids[1] != run.pgids[0]


def test_a_dead_agent_ends_its_attempt_node_lost_and_is_not_reused(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    lost, _ = run(launch_for(tmp_path, "sh -c 'sleep 0.3; kill -9 $PPID; sleep 30'", 0))  # after its start
    assert lost.error_code == "NodeLost" and "VM sandbox" in lost.error_message, lost
    assert pool.alive() == 0
    nxt, _ = run(launch_for(tmp_path, "true", 1))
    assert nxt.succeeded and run.pgids[1] != run.pgids[0]
    assert not [cmd for _, cmd in _cwd_under(tmp_path) if "sleep 30" in cmd]


def test_a_vm_sees_its_task_folder_only(tmp_path: Path, pool: VmPool) -> None:
    run = Run(tmp_path, pool)
    root = tmp_path / "sandboxes"
    (root / "job-someone-else" / "t" / "0" / "0" / "workdir").mkdir(parents=True)
    (root / JOB / "other" / "0" / "0" / "workdir").mkdir(parents=True)  # another task of the same job
    lister = (
        f"import os, json; print(json.dumps([sorted(os.listdir(p)) for p in ('{root}', '{root / JOB}')]))"
    )
    seen, out = run(launch_for(tmp_path, f'python -c "{lister}"', 0))
    assert seen.succeeded, seen
    assert json.loads(out) == [[JOB], ["work"]]  # no other job, no other task of its own job


def test_idle_vm_sandboxes_stop_and_leave_nothing(tmp_path: Path) -> None:
    vms = VmPool(idle_s=0.2)
    try:
        run = Run(tmp_path, vms)
        done, _ = run(launch_for(tmp_path, "true", 0))
        assert done.succeeded and vms.alive() == 1
        deadline = time.monotonic() + 30
        while vms.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert vms.alive() == 0
        assert not _cwd_under(tmp_path)
        assert not (tmp_path / "sandboxes" / JOB).exists()  # the VM's folder and the emptied ones above
    finally:
        vms.close()


def test_at_the_cap_an_idle_vm_makes_room_and_close_stops_all(tmp_path: Path) -> None:
    vms = VmPool(idle_s=60.0, max_alive=1)
    run = Run(tmp_path, vms)
    a, _ = run(launch_for(tmp_path, "true", 0, vm_id="vm-1"))
    b, _ = run(launch_for(tmp_path, "true", 1, vm_id="vm-2"))
    assert a.succeeded and b.succeeded and vms.alive() == 1 and run.pgids[0] != run.pgids[1]
    vms.close()
    assert vms.alive() == 0 and not _cwd_under(tmp_path)


def test_the_runner_host_reuses_vms_and_stops_them_when_it_closes(tmp_path: Path) -> None:
    read, write = os.pipe()
    events: list[object] = []
    with os.fdopen(write, "wb") as out, os.fdopen(read, "rb") as inp:
        host = Host(out, 4, "node-test")
        for idx in range(3):
            host.launch(launch_for(tmp_path, "true", idx))
            while not isinstance(event := read_frame(inp), InstanceExited):  # the next one follows its exit
                events.append(event)
            events.append(event)
        host.close()
    started = [e for e in events if isinstance(e, InstanceStarted)]
    exited = [e for e in events if isinstance(e, InstanceExited)]
    assert len(started) == 3 and len(exited) == 3 and all(e.succeeded for e in exited), exited
    assert len({e.pid for e in started}) == 1  # one VM sandbox ran the three instances
    assert not _cwd_under(tmp_path)  # closing the host stopped it


def test_a_killed_hosts_vm_folders_are_swept_before_the_first_vm(tmp_path: Path, pool: VmPool) -> None:
    left = tmp_path / "sandboxes" / JOB / "work" / ".vm-vm-old" / "workdir"
    left.mkdir(parents=True)  # what a runner host killed with SIGKILL leaves
    done, _ = Run(tmp_path, pool)(launch_for(tmp_path, "true", 0))
    assert done.succeeded and not left.parent.exists()
    assert (tmp_path / "sandboxes" / JOB / "work" / ".vm-vm-a").is_dir()  # the live VM's is kept


@pytest.mark.parametrize(("vm_max", "shared"), [(64, True), (0, False)])
def test_bcsd_vm_sandbox_options_reach_the_runner_host(tmp_path: Path, vm_max: int, shared: bool) -> None:
    """``--vm-sandbox-max``: four instances in turn on one VM slot share its sandbox's /tmp (the
    default), and with 0 each gets a sandbox of its own, as an operator who turns them off expects."""
    options = {"auto_cluster_max_vms": 1, "vm_sandbox_max": vm_max, "vm_sandbox_idle": 30}
    bcsd = start_bcsd(tmp_path, isolation="bwrap", **options)
    try:
        with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
            probe = "sh -c 'ls /tmp; touch /tmp/was-here-$BATCH_COMPUTE_DAG_INSTANCE_ID'"
            job_id = client.create_job(job({"t": task(probe, count=4, logs="oss://logs/vm/")}))
            assert client.wait_job(job_id, timeout=60)["State"] == "Finished"
        logs = bcsd.data_dir / "oss" / "logs" / "vm"
        listed = [(logs / f"stdout.{job_id}.t.{i}").read_text().split() for i in range(4)]
        seen = [[name for name in names if name.startswith("was-here-")] for names in listed]
        assert seen[0] == []  # the first instance on a fresh VM
        assert any(seen[1:]) is shared, listed
    finally:
        bcsd.stop()
