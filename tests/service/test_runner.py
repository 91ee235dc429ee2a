"""run_instance against real packages, real subprocesses and the real local object store."""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
from pathlib import Path

import pytest

from service.executors.base import InstanceKey, InstanceLaunch
from service.executors.runner import log_object, run_instance
from service.objectstore import ObjectStore

WORKER = b"""
import os, sys
root = os.environ["BATCH_COMPUTE_LOCAL_ROOT"]
data = open(os.path.join(root, "home/input/in.txt")).read()
os.makedirs(os.path.join(root, "home/output"), exist_ok=True)
open(os.path.join(root, "home/output/result.txt"), "w").write(data.upper())
open("run.log", "w").write("log line\\n")
print("job", os.environ["BATCH_COMPUTE_DAG_JOB_ID"], os.environ["BATCH_COMPUTE_DAG_TASK_ID"],
      os.environ["BATCH_COMPUTE_DAG_INSTANCE_ID"], os.environ["GREETING"], os.getcwd() == os.environ["HOME"])
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("EXIT", "0")))
"""


def make_tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    return info, data


def link_member(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.fixture()
def store(tmp_path: Path) -> ObjectStore:
    return ObjectStore.local(tmp_path / "data")


def launch_for(store: ObjectStore, tmp_path: Path, command: str, **kw: object) -> InstanceLaunch:
    fields: dict[str, object] = dict(
        key=InstanceKey("job-000000005F0E3A1A00000A0B00000001", "echo", 0, 0),
        command_line=command,
        package_path="",
        env={},
        input_mapping={},
        output_mapping={},
        log_mapping={},
        stdout_dir="oss://logs/out/",
        stderr_dir="oss://logs/err/",
        timeout_s=30.0,
        sandbox_root=str(tmp_path / "sandboxes"),
        cluster_id="cls-test",
        vm_id="vm-0",
        object_store=store.to_config(),
    )
    fields.update(kw)
    return InstanceLaunch(**fields)  # type: ignore[arg-type]


def run(launch: InstanceLaunch, **kw: object):
    return run_instance(launch, lambda: False, **kw)  # type: ignore[arg-type]


def test_package_mappings_env_and_log_objects(store: ObjectStore, tmp_path: Path) -> None:
    store.write_bytes("oss://pkgs/worker.tar.gz", make_tar([file_member("worker.py", WORKER)]))
    store.write_bytes("oss://data/input/in.txt", b"hello")
    launch = launch_for(
        store,
        tmp_path,
        "python worker.py",
        package_path="oss://pkgs/worker.tar.gz",
        env={"GREETING": "hi there"},
        input_mapping={"oss://data/input/": "/home/input/"},
        output_mapping={"/home/output/": "oss://data/output/"},
        log_mapping={"run.log": "oss://logs/mapped/"},
    )
    started: list[tuple[int, str]] = []
    exited = run_instance(launch, lambda: False, lambda pid, path: started.append((pid, path)))
    assert exited.error_code == "", exited
    assert exited.succeeded
    k = launch.key
    assert exited.stdout_object == f"oss://logs/out/stdout.{k.job_id}.echo.0"
    assert exited.stderr_object == f"oss://logs/err/stderr.{k.job_id}.echo.0"
    assert store.read_bytes(exited.stdout_object) == f"job {k.job_id} echo 0 hi there True\n".encode()
    assert store.read_bytes(exited.stderr_object) == b"to stderr\n"
    assert store.read_bytes("oss://data/output/result.txt") == b"HELLO"
    assert store.read_bytes(f"oss://logs/mapped/run.log.{k.job_id}.echo.0") == b"log line\n"
    assert started and started[0][0] > 0
    assert not Path(started[0][1]).exists()  # removed after success
    assert exited.sandbox_path == ""


def test_failed_command_still_uploads_outputs_and_keeps_sandbox_when_asked(
    store: ObjectStore, tmp_path: Path
) -> None:
    store.write_bytes("oss://pkgs/worker.tar.gz", make_tar([file_member("worker.py", WORKER)]))
    store.write_bytes("oss://data/input/in.txt", b"x")
    launch = launch_for(
        store,
        tmp_path,
        "python worker.py",
        package_path="oss://pkgs/worker.tar.gz",
        env={"GREETING": "g", "EXIT": "3"},
        input_mapping={"oss://data/input/": "/home/input/"},
        output_mapping={"/home/output/": "oss://data/output/"},
        keep_sandbox_on_failure=True,
    )
    exited = run(launch)
    assert exited.exit_code == 3 and exited.error_code == "" and not exited.succeeded
    assert store.read_bytes("oss://data/output/result.txt") == b"X"
    kept = Path(exited.sandbox_path)
    assert (kept / "workdir" / "worker.py").is_file()
    assert (kept / "fs" / "home" / "input" / "in.txt").read_bytes() == b"x"


def test_failed_attempt_sandbox_removed_without_reserve(store: ObjectStore, tmp_path: Path) -> None:
    exited = run(launch_for(store, tmp_path, "false"))
    assert exited.exit_code == 1 and exited.sandbox_path == ""
    assert not any((tmp_path / "sandboxes").rglob("workdir"))


def test_command_line_is_argv_not_shell(store: ObjectStore, tmp_path: Path) -> None:
    exited = run(launch_for(store, tmp_path, "echo 'a;b' c;d $HOME `id` > x"))
    assert exited.succeeded
    assert store.read_bytes(exited.stdout_object) == b"a;b c;d $HOME `id` > x\n"


def test_python_resolves_and_minimal_env(store: ObjectStore, tmp_path: Path) -> None:
    os.environ["BCS_TEST_LEAK"] = "should-not-leak"
    try:
        code = "import os,sys; print(sys.version_info[0], os.environ.get('BCS_TEST_LEAK'), os.environ['LANG'])"  # noqa: E501
        exited = run(launch_for(store, tmp_path, f'python -c "{code}"'))
    finally:
        del os.environ["BCS_TEST_LEAK"]
    assert exited.succeeded, exited
    assert store.read_bytes(exited.stdout_object) == b"3 None C.UTF-8\n"


def test_unknown_program_is_command_not_found(store: ObjectStore, tmp_path: Path) -> None:
    exited = run(launch_for(store, tmp_path, "no-such-program-bcs --x"))
    assert exited.error_code == "CommandNotFound"
    assert "no-such-program-bcs" in exited.error_message
    assert exited.exit_code is None


def test_missing_package_is_download_failed(store: ObjectStore, tmp_path: Path) -> None:
    exited = run(launch_for(store, tmp_path, "true", package_path="oss://pkgs/missing.tar.gz"))
    assert exited.error_code == "PackageDownloadFailed"
    assert "missing.tar.gz" in exited.error_message


def test_missing_input_is_input_mapping_failed(store: ObjectStore, tmp_path: Path) -> None:
    exited = run(launch_for(store, tmp_path, "true", input_mapping={"oss://data/none/x": "/home/x"}))
    assert exited.error_code == "InputMappingFailed"


@pytest.mark.parametrize(
    "members",
    [
        [file_member("../escape.txt", b"x")],
        [file_member("/tmp/bcs-abs-escape.txt", b"x")],
        [file_member("a/../../escape.txt", b"x")],
        [link_member("evil", "/etc/passwd")],
        [link_member("evil", "../../../../escape.txt")],
        [link_member("evil", "../outside", tarfile.LNKTYPE)],
        [file_member("ok.txt", b"fine"), link_member("sub/evil", "../..")],
    ],
    ids=["dotdot", "absolute", "nested-dotdot", "abs-symlink", "rel-symlink", "hardlink", "dir-symlink"],
)
def test_escaping_packages_refused(store: ObjectStore, tmp_path: Path, members) -> None:
    store.write_bytes("oss://pkgs/bad.tar.gz", make_tar(members))
    exited = run(launch_for(store, tmp_path, "true", package_path="oss://pkgs/bad.tar.gz"))
    assert exited.error_code == "PackageUnpackFailed", exited
    assert not list(tmp_path.rglob("escape.txt"))
    assert not Path("/tmp/bcs-abs-escape.txt").exists()


def test_garbage_package_is_unpack_failed(store: ObjectStore, tmp_path: Path) -> None:
    store.write_bytes("oss://pkgs/junk.tar.gz", b"not a tar at all")
    exited = run(launch_for(store, tmp_path, "true", package_path="oss://pkgs/junk.tar.gz"))
    assert exited.error_code == "PackageUnpackFailed"


def _gone(pid: int) -> bool:
    """True when the pid no longer exists or is a zombie; waits up to a few seconds for reaping."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.03)
    return False


def test_timeout_kills_the_whole_process_group(store: ObjectStore, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    exited = run(launch_for(store, tmp_path, f"sh -c '{script}'", timeout_s=0.5))
    assert exited.error_code == "InstanceTimeout"
    assert exited.exit_code is None
    assert _gone(int(pidfile.read_text()))


def test_child_left_behind_after_normal_exit_is_killed(store: ObjectStore, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    exited = run(launch_for(store, tmp_path, f"sh -c 'sleep 60 & echo $! > {pidfile}'"))
    assert exited.succeeded
    assert _gone(int(pidfile.read_text()))


def test_stop_kills_the_process(store: ObjectStore, tmp_path: Path) -> None:
    stop = threading.Event()
    pids: list[int] = []

    def started(pid: int, _path: str) -> None:
        pids.append(pid)
        stop.set()

    launch = launch_for(store, tmp_path, "sleep 60")
    exited = run_instance(launch, stop.is_set, started)
    assert exited.error_code == "InstanceStopped"
    assert exited.exit_code is None
    assert pids and _gone(pids[0])


def test_stop_before_start_never_runs(store: ObjectStore, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    exited = run_instance(launch_for(store, tmp_path, f"touch {marker}"), lambda: True)
    assert exited.error_code == "InstanceStopped"
    assert not marker.exists()


def test_log_object_naming() -> None:
    launch = InstanceLaunch(
        key=InstanceKey("job-1", "t", 7, 2), command_line="true", package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="oss://b/l", stderr_dir="",
        timeout_s=1, sandbox_root="/tmp", cluster_id="", vm_id="",
    )
    assert log_object(launch.stdout_dir, "stdout", launch) == "oss://b/l/stdout.job-1.t.7"
    assert log_object(launch.stderr_dir, "stderr", launch) == ""


def test_no_store_and_no_paths_still_runs(tmp_path: Path) -> None:
    launch = InstanceLaunch(
        key=InstanceKey("job-2", "t", 0, 0), command_line="true", package_path="", env={},
        input_mapping={}, output_mapping={}, log_mapping={}, stdout_dir="", stderr_dir="",
        timeout_s=5, sandbox_root=str(tmp_path), cluster_id="", vm_id="",
    )
    exited = run(launch)
    assert exited.succeeded and exited.stdout_object == ""


def test_reap_orphans_kills_groups_left_in_sandboxes(tmp_path: Path) -> None:
    import subprocess

    from service.executors.process import reap_orphans

    box = tmp_path / "sandboxes" / "job" / "t" / "0" / "0" / "workdir"
    box.mkdir(parents=True)
    outside = subprocess.Popen(["sleep", "60"], cwd=tmp_path, start_new_session=True)
    orphan = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], cwd=box, start_new_session=True)
    try:
        killed = reap_orphans(str(tmp_path / "sandboxes"))
        assert killed == [orphan.pid]
        orphan.wait(5)
        assert outside.poll() is None  # not under the sandbox root: untouched
    finally:
        for proc in (outside, orphan):
            if proc.poll() is None:
                proc.kill()
            proc.wait(5)
