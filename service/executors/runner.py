"""Run one instance attempt from start to finish: the one place that defines what running means.

Both executors call ``run_instance`` (the local one in a thread, the Dask one inside a worker
task), so sandbox, package, mappings, environment, timeout, stop and uploads behave the same
everywhere. The steps, and the error code each one's failure becomes:

    sandbox          -> NodeLost (the node could not host the attempt)
    PackagePath      -> PackageDownloadFailed / PackageUnpackFailed
    InputMapping     -> InputMappingFailed
    isolation        -> SandboxUnavailable (bwrap asked for, but this node cannot make a sandbox)
    CommandLine      -> CommandNotFound (could not start); exit code otherwise
    wait             -> InstanceTimeout / InstanceStopped / InstanceOutOfMemory (cgroup OOM kill)
    uploads          -> OutputUploadFailed (stdout/stderr, LogMapping, OutputMapping; done even
                        when the command failed, reference §12 #41)

``run_instance`` never raises: every failure is an ``InstanceExited`` with a code and a message.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from service.executors import isolation, limits, package, process
from service.executors import sandbox as sb
from service.executors.base import InstanceErrorCode, InstanceExited, InstanceLaunch
from service.executors.vm_pool import VmPool
from service.executors.vm_sandbox import CannotStart, VmLost, VmSandbox
from service.objectstore import ObjectStore, ObjectStoreError

StartedCallback = Callable[[int, str], None]
ExitedCallback = Callable[[InstanceExited], None]


class _Failed(Exception):
    """A step failed; carries the instance error code and a message for people."""

    def __init__(self, code: InstanceErrorCode, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def log_object(directory: str, stream: str, launch: InstanceLaunch) -> str:
    """Reference §8.8: ``{dir}{stream}.{JobId}.{TaskName}.{InstanceId}`` ("" when discarded)."""
    if not directory:
        return ""
    k = launch.key
    base = directory if directory.endswith("/") else directory + "/"
    return f"{base}{stream}.{k.job_id}.{k.task_name}.{k.instance_id}"


def _argv(command_line: str) -> list[str]:
    try:
        argv = shlex.split(command_line)
    except ValueError as exc:
        raise _Failed("CommandNotFound", f"CommandLine cannot be split into arguments: {exc}") from exc
    if not argv:
        raise _Failed("CommandNotFound", "CommandLine is empty")
    return argv


def _fetch_package(launch: InstanceLaunch, store: ObjectStore, box: sb.Sandbox) -> None:
    archive = box.root / "package.tar.gz"
    try:
        store.get(launch.package_path, archive)
    except (ObjectStoreError, OSError) as exc:
        raise _Failed("PackageDownloadFailed", f"cannot download {launch.package_path}: {exc}") from exc
    try:
        package.unpack(archive, box.workdir)
    except package.UnsafePackage as exc:
        raise _Failed("PackageUnpackFailed", f"cannot unpack {launch.package_path}: {exc}") from exc
    finally:
        archive.unlink(missing_ok=True)


def _map_inputs(launch: InstanceLaunch, store: ObjectStore, box: sb.Sandbox) -> None:
    for oss, local in sorted(launch.input_mapping.items()):
        try:
            target = box.local(local)
            dest: str | Path = str(target) + "/" if local.endswith("/") else target
            store.get(oss, dest)
        except (ObjectStoreError, sb.SandboxPathError, OSError) as exc:
            raise _Failed("InputMappingFailed", f"InputMapping {oss} -> {local}: {exc}") from exc


def _upload(launch: InstanceLaunch, store: ObjectStore, box: sb.Sandbox) -> list[str]:
    """Every upload is tried; the problems are returned (not raised) so one does not block the rest."""
    k = launch.key
    problems: list[str] = []
    root = os.path.realpath(box.root)
    leaving = "is a symlink leading outside the sandbox"

    def leaves(path: Path) -> bool:
        # strict: a path realpath cannot finish (a loop, a name too long) is not trusted either
        try:
            real = os.path.realpath(path, strict=True)
        except FileNotFoundError:
            return False  # nothing there (or a dangling link): nothing is uploaded from it
        except OSError:
            return True
        return real != root and not real.startswith(root + os.sep)

    streams = ((launch.stdout_dir, "stdout", box.stdout), (launch.stderr_dir, "stderr", box.stderr))
    for directory, stream, path in streams:
        if directory and leaves(path):
            problems.append(f"{stream}: {path.name} {leaving}")
        elif directory:
            try:
                store.put_file(path, log_object(directory, stream, launch))
            except (ObjectStoreError, OSError) as exc:
                problems.append(f"{stream}: {exc}")
    for local, oss_dir in sorted(launch.log_mapping.items()):
        try:
            path = box.local(local)
            if leaves(path):
                problems.append(f"LogMapping {local}: {local} {leaving}")
            elif path.is_file():
                name = f"{path.name}.{k.job_id}.{k.task_name}.{k.instance_id}"
                store.put_file(path, (oss_dir if oss_dir.endswith("/") else oss_dir + "/") + name)
        except (ObjectStoreError, sb.SandboxPathError, OSError) as exc:
            problems.append(f"LogMapping {local}: {exc}")
    for local, oss in sorted(launch.output_mapping.items()):
        try:
            path = box.local(local)
            if leaves(path):
                problems.append(f"OutputMapping {local} -> {oss}: {local} {leaving}")
            elif path.is_dir():
                store.put_folder(path, oss)
            elif path.is_file():
                store.put_file(path, oss)
            # a local path the program never created is nothing to upload, not an error
        except (ObjectStoreError, sb.SandboxPathError, OSError) as exc:
            problems.append(f"OutputMapping {local} -> {oss}: {exc}")
    return problems


def _prepare_streams(launch: InstanceLaunch, box: sb.Sandbox) -> tuple[int, int]:
    out = os.open(box.stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) if launch.stdout_dir else -1
    err = os.open(box.stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) if launch.stderr_dir else -1
    return out, err


def _program(argv0: str, path: str, cwd: Path) -> None:
    """A sandboxed program is exec'd by bwrap, whose failure is only an exit status: look it up
    first so a missing program is ``CommandNotFound`` under every isolation."""
    found = (cwd / argv0) if "/" in argv0 else shutil.which(argv0, path=path)
    if found is None or not os.path.isfile(found):
        raise _Failed("CommandNotFound", f"cannot start {argv0!r}: No such file or directory")
    if not os.access(found, os.X_OK):
        raise _Failed("CommandNotFound", f"cannot start {argv0!r}: Permission denied")


def _confined(
    launch: InstanceLaunch, box: sb.Sandbox, argv: list[str], jail: limits.Confinement
) -> list[str]:
    """The full argv: enter the limits, then (with bwrap) the sandbox, then the command."""
    if launch.isolation.mode != "bwrap":
        return [*jail.prefix(), *argv]
    own = [str(box.workdir), str(box.fs)]
    isolation.chown_for(launch.isolation, own)
    sandbox = isolation.bwrap_argv(
        launch.isolation, workdir=own[0], writable=[*own, *launch.isolation.extra_rw], hostname=launch.vm_id
    )
    return [*jail.prefix(), *sandbox, *argv]


def _resolved(argv: list[str], env: dict[str, str], cwd: Path) -> list[str]:
    """``python`` made to resolve, and the program checked to exist (``CommandNotFound``)."""
    if argv[0] == "python" and shutil.which("python", path=env["PATH"]) is None:
        argv = [os.path.abspath(sys.executable), *argv[1:]]  # only python3 on this machine
    _program(argv[0], env["PATH"], cwd)
    return argv


def _start(
    launch: InstanceLaunch, box: sb.Sandbox, argv: list[str], jail: limits.Confinement
) -> subprocess.Popen[bytes]:
    env = sb.environment(launch, box)
    argv = _resolved(argv, env, box.workdir)
    full = _confined(launch, box, argv, jail)
    needs = isolation.spawn_needs(launch.isolation)
    out, err = _prepare_streams(launch, box)
    try:
        with jail.entering():
            return process.spawn(
                full,
                box.workdir,
                env,
                out if out >= 0 else subprocess.DEVNULL,
                err if err >= 0 else subprocess.DEVNULL,
                needs.fds,
                needs.groups,
            )
    except limits.CannotEnter as exc:
        raise _Failed("NodeLost", f"cannot start {argv[0]!r} in its limits: {exc}") from exc
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise _Failed("CommandNotFound", f"cannot start {argv[0]!r}: {exc.strerror or exc}") from exc
    except OSError as exc:
        raise _Failed("CommandNotFound", f"cannot start {argv[0]!r}: {exc}") from exc
    finally:
        for fd in (out, err):
            if fd >= 0:
                os.close(fd)


def _on_vm(
    launch: InstanceLaunch, box: sb.Sandbox, argv: list[str], vm: VmSandbox,
    should_stop: Callable[[], bool], started: Callable[[int], None],
) -> tuple[process.Outcome, bool]:  # fmt: skip
    """Run the command on a leased VM sandbox: (outcome, killed for memory during this attempt)."""
    env = sb.environment(launch, box)
    argv = _resolved(argv, env, box.workdir)
    isolation.chown_for(launch.isolation, [str(box.workdir), str(box.fs)])
    out, err = _prepare_streams(launch, box)
    streams = tuple(fd if fd >= 0 else os.open(os.devnull, os.O_WRONLY) for fd in (out, err))
    oom_before = vm.jail.oom_kills()
    try:
        outcome = vm.run(
            argv, env, box.workdir, (streams[0], streams[1]), launch.timeout_s, should_stop,
            lambda: started(vm.pgid),
        )  # fmt: skip
    except CannotStart as exc:
        raise _Failed("CommandNotFound", f"cannot start {argv[0]!r}: {exc}") from exc
    except VmLost as exc:
        if vm.jail.oom_kills() > oom_before:  # the kernel chose the agent: still this instance's OOM
            return process.Outcome("exited", None), True
        raise _Failed("NodeLost", f"the VM sandbox {vm.key.vm_id} was lost: {exc}") from exc
    finally:
        for fd in streams:
            os.close(fd)
    return outcome, vm.jail.oom_kills() > oom_before


_ENDINGS: dict[str, tuple[InstanceErrorCode, str]] = {
    "timeout": ("InstanceTimeout", "killed after running longer than the task's Timeout ({t:g} s)"),
    "stopped": ("InstanceStopped", "killed because the job was stopped"),
    "exited": ("", ""),
}


def _out_of_memory_message(launch: InstanceLaunch) -> str:
    kind = f"InstanceType {launch.instance_type}" if launch.instance_type else "the default instance type"
    return f"killed: used more than the {launch.memory_gb:g} GB of memory of {kind}"


def run_instance(
    launch: InstanceLaunch,
    should_stop: Callable[[], bool],
    on_started: StartedCallback | None = None,
    *,
    node: str = "",
    on_exited: ExitedCallback | None = None,
    vms: VmPool | None = None,
) -> InstanceExited:
    """Run one attempt synchronously and describe how it ended. Never raises.

    ``should_stop`` is asked every ``process.STOP_POLL_S`` while the command runs (and between
    the preparation steps); ``on_started(pid, sandbox_path)`` is called right after the process
    exists (pid = its process-group id). ``on_exited(exited)`` is called once the attempt's
    outcome is final (command ended, outputs uploaded), before its cgroup and sandbox folders
    are removed: that cleanup (rmdir of the cgroups, which may stay busy a moment after the
    last exit, and the sandbox rmtree) is then off the path from one exit to the next launch.
    Both are removed before this returns.

    ``vms``: the runner host's VM sandboxes; when the attempt qualifies (``vm_pool.uses_vm``)
    the command runs on its VM's long-lived sandbox instead of a bwrap of its own, and the VM
    is given back (or retired, when the attempt keeps its sandbox) before ``on_exited``.
    """
    node = node or socket.gethostname()
    box = sb.sandbox_for(launch) if _usable(launch) else sb.Sandbox(Path(launch.sandbox_root) / "invalid")
    exit_code: int | None = None
    code: InstanceErrorCode = ""
    message = detail = ""
    problems: list[str] = []
    ran = False
    jail: limits.Confinement | None = None
    vm: VmSandbox | None = None
    try:
        if not _usable(launch):
            raise _Failed("NodeLost", "the instance key cannot name a sandbox folder")
        if should_stop():  # cancelled while queued: do not even fetch the package
            raise _Failed("InstanceStopped", "stopped before the command started")
        if launch.isolation.mode == "bwrap" and (why := isolation.probe()):
            raise _Failed(
                "SandboxUnavailable", f"this node cannot confine instances ({why}); {isolation.FIX_HINT}"
            )
        try:
            sb.create(box)
        except OSError as exc:
            raise _Failed("NodeLost", f"cannot create the sandbox {box.root}: {exc}") from exc
        store = ObjectStore.from_config(launch.object_store) if launch.object_store else None
        needs_store = launch.package_path or launch.input_mapping or launch.output_mapping
        needs_store = needs_store or launch.log_mapping or launch.stdout_dir or launch.stderr_dir
        if needs_store and store is None:
            raise _Failed("NodeLost", "the launch names oss:// paths but carries no object store")
        argv = _argv(launch.command_line)
        if launch.package_path:
            _fetch_package(launch, store, box)  # type: ignore[arg-type]
        if launch.input_mapping:
            _map_inputs(launch, store, box)  # type: ignore[arg-type]
        if should_stop():
            raise _Failed("InstanceStopped", "stopped before the command started")
        try:
            vm = vms.lease(launch) if vms is not None else None
        except (VmLost, OSError, ValueError, limits.CannotEnter) as exc:
            raise _Failed("NodeLost", f"cannot start the VM sandbox of {launch.vm_id}: {exc}") from exc

        def started(pid: int) -> None:
            nonlocal ran
            ran = True
            if on_started is not None:
                with contextlib.suppress(Exception):  # a reporting problem must not orphan the process
                    on_started(pid, str(box.root))

        if vm is not None:
            outcome, oom = _on_vm(launch, box, argv, vm, should_stop, started)
        else:
            quota = limits.limits_for(launch.memory_gb, launch.cpu, launch.isolation.pids_max)
            jail = limits.confine(launch.key.label(), quota)
            proc = _start(launch, box, argv, jail)
            started(proc.pid)
            outcome = process.wait(proc, launch.timeout_s, should_stop)
            oom = jail.out_of_memory()
        exit_code = outcome.exit_code
        code, template = _ENDINGS[outcome.ending]
        message = template.format(t=launch.timeout_s)
        if oom and outcome.ending == "exited":
            code = "InstanceOutOfMemory"
            message = _out_of_memory_message(launch)
    except _Failed as failure:
        code, message, detail = failure.code, failure.message, failure.detail
    except Exception as exc:  # never raise: an unexpected failure is still one attempt's end
        code, message = "NodeLost", f"the runner failed: {type(exc).__name__}: {exc}"
    if ran and launch.object_store:  # outputs exist only once the command ran, even if it failed
        try:
            problems = _upload(launch, ObjectStore.from_config(launch.object_store), box)
        except Exception as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
    if problems:
        detail = "; ".join(problems) if not detail else detail + "; " + "; ".join(problems)
        if code == "":
            code, message = "OutputUploadFailed", "uploading the outputs or logs failed"
    failed = code != "" or exit_code != 0
    kept = launch.keep_sandbox_on_failure and failed
    exited = InstanceExited(
        key=launch.key,
        at=datetime.now(UTC),
        exit_code=exit_code,
        error_code=code,
        error_message=message,
        detail=detail,
        node=node,
        stdout_object=log_object(launch.stdout_dir, "stdout", launch),
        stderr_object=log_object(launch.stderr_dir, "stderr", launch),
        sandbox_path=str(box.root) if kept else "",
    )
    if vm is not None and vms is not None:  # free before the exit is told: the next instance may follow
        with contextlib.suppress(Exception):
            vms.release(vm, retire=kept)
    if on_exited is not None:
        with contextlib.suppress(Exception):  # a reporting problem must not leave folders behind
            on_exited(exited)
    if jail is not None:
        with contextlib.suppress(OSError):
            jail.close()
    if not kept:
        sb.remove(box, launch.sandbox_root)
    return exited


def _usable(launch: InstanceLaunch) -> bool:
    try:
        sb.sandbox_for(launch)
        return True
    except (sb.SandboxPathError, ValueError, TypeError):
        return False
