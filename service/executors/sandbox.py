"""Where one attempt lives on disk, and how the API's absolute paths map into it.

Layout of one attempt (``launch.sandbox_root`` is the executor's directory)::

    <sandbox_root>/<JobId>/<TaskName>/<InstanceId>/<attempt>/   the sandbox
        workdir/     cwd and HOME of the command; PackagePath is unpacked here
        fs/          absolute local paths of the mappings: /home/in/ -> fs/home/in/
        stdout       captured streams, uploaded to the redirect paths at the end
        stderr
        package.tar.gz   the downloaded package (removed after unpacking)

The command learns where ``fs/`` is from ``BATCH_COMPUTE_LOCAL_ROOT`` (see the README).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from service.executors.base import InstanceLaunch

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SandboxPathError(ValueError):
    """A mapped path would leave the sandbox."""


def _component(value: str) -> str:
    # ids are validated by the API already; this keeps a bad one from ever becoming a path trick
    if not value or value in (".", "..") or "/" in value or "\x00" in value:
        raise SandboxPathError(f"unusable path component {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Sandbox:
    root: Path

    @property
    def workdir(self) -> Path:
        return self.root / "workdir"

    @property
    def fs(self) -> Path:
        return self.root / "fs"

    @property
    def stdout(self) -> Path:
        return self.root / "stdout"

    @property
    def stderr(self) -> Path:
        return self.root / "stderr"

    def local(self, path: str) -> Path:
        """Map an API local path: absolute under ``fs/``, relative under ``workdir/``; no escapes.

        A trailing ``/`` (folder) is not kept by ``Path``: callers look at the original string.
        """
        if not path or "\x00" in path:
            raise SandboxPathError(f"invalid local path {path!r}")
        base = self.fs if path.startswith("/") else self.workdir
        normal = posixpath.normpath("/" + path.lstrip("/"))  # normpath of an absolute path drops ".."
        if any(part == ".." for part in path.split("/")):
            raise SandboxPathError(f"local path {path!r} may not contain '..'")
        return base / normal.lstrip("/")


def sandbox_for(launch: InstanceLaunch) -> Sandbox:
    k = launch.key
    parts = [_component(k.job_id), _component(k.task_name), str(int(k.instance_id)), str(int(k.attempt))]
    return Sandbox(Path(launch.sandbox_root).joinpath(*parts))


def create(sandbox: Sandbox) -> None:
    """Make a fresh sandbox (a leftover from an earlier run of the same attempt is wiped)."""
    if sandbox.root.exists():
        shutil.rmtree(sandbox.root, ignore_errors=True)
    for _ in range(5):  # a concurrent cleanup may rmdir an empty parent between our mkdirs
        try:
            sandbox.workdir.mkdir(parents=True)
            sandbox.fs.mkdir()
            return
        except FileNotFoundError:
            continue
    sandbox.workdir.mkdir(parents=True, exist_ok=True)
    sandbox.fs.mkdir(exist_ok=True)


def remove(sandbox: Sandbox, sandbox_root: str) -> None:
    """Delete the sandbox and the now-empty per-instance/task/job folders above it."""
    shutil.rmtree(sandbox.root, ignore_errors=True)
    stop = Path(sandbox_root).resolve()
    parent = sandbox.root.parent
    for _ in range(3):
        if parent.resolve() == stop:
            break
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def interpreter_dir() -> str:
    """The bin folder of the interpreter running bcsd: first on PATH so ``python`` always resolves."""
    return os.path.dirname(os.path.abspath(sys.executable))


def environment(launch: InstanceLaunch, sandbox: Sandbox) -> dict[str, str]:
    """Minimal base + the launch's variables + the sandbox's locations (these last, they are facts)."""
    env = {
        "PATH": f"{interpreter_dir()}:{BASE_PATH}",
        "HOME": str(sandbox.workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "USER": os.environ.get("USER", "bcsd"),
        "PYTHONUNBUFFERED": "1",
        "BATCH_COMPUTE_DAG_JOB_ID": launch.key.job_id,
        "BATCH_COMPUTE_DAG_TASK_ID": launch.key.task_name,
        "BATCH_COMPUTE_DAG_INSTANCE_ID": str(launch.key.instance_id),
        "BATCH_COMPUTE_CLUSTER_ID": launch.cluster_id,
        "BATCH_COMPUTE_WORKER_ID": launch.vm_id,
    }
    env.update(launch.env)
    env.update(
        {
            "PWD": str(sandbox.workdir),
            "BATCH_COMPUTE_LOCAL_ROOT": str(sandbox.fs),
            "BATCH_COMPUTE_WORKDIR": str(sandbox.workdir),
            "BATCH_COMPUTE_ATTEMPT": str(launch.key.attempt),
        }
    )
    return env
