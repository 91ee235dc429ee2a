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

import errno
import os
import posixpath
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from service.executors.base import InstanceKey, InstanceLaunch

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SandboxPathError(ValueError):
    """A mapped path would leave the sandbox."""


def _component(value: str) -> str:
    # ids are validated by the API already; this keeps a bad one from ever becoming a path trick
    if not value or value in (".", "..") or "/" in value or "\x00" in value:
        raise SandboxPathError(f"unusable path component {value!r}")
    return value


def check_components(*values: str) -> None:
    """Raise ``SandboxPathError`` unless every value can be one folder name."""
    for value in values:
        _component(value)


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


def _parts(k: InstanceKey) -> tuple[str, str, str, str]:
    return _component(k.job_id), _component(k.task_name), str(int(k.instance_id)), str(int(k.attempt))


def sandbox_for(launch: InstanceLaunch) -> Sandbox:
    return Sandbox(Path(launch.sandbox_root).joinpath(*_parts(launch.key)))


CREATE_TRIES = 100
"""How often ``create`` re-makes the chain of folders a sibling's ``remove`` took away meanwhile.
Each retry needs a sibling to empty and rmdir a shared folder in that very window, so this is
never reached in practice; it only keeps a broken file system from looping forever."""


def create(sandbox: Sandbox) -> None:
    """Make a fresh sandbox (a leftover from an earlier run of the same attempt is wiped).

    Sibling instances share the job and task folders, and a finishing sibling's ``remove``
    rmdirs them the moment they are empty, which can be between any two of our mkdirs. Making
    a folder can then fail with ``FileNotFoundError`` (the parent went away) or with
    ``FileExistsError`` (it existed, then vanished before the is-a-directory check), so the
    whole chain is made again until ``workdir`` and ``fs`` both exist. Once ``workdir`` exists
    no folder above it is empty, so no sibling can take it away any more.
    """
    if sandbox.root.exists():
        shutil.rmtree(sandbox.root, ignore_errors=True)
    last: OSError | None = None
    for _ in range(CREATE_TRIES):
        try:
            os.makedirs(sandbox.workdir, exist_ok=True)
            os.makedirs(sandbox.fs, exist_ok=True)
        except (FileNotFoundError, FileExistsError) as exc:
            last = exc
            continue
        if sandbox.workdir.is_dir() and sandbox.fs.is_dir():
            return
    raise last or FileNotFoundError(errno.ENOENT, "the sandbox folders kept disappearing", str(sandbox.root))


def remove(sandbox: Sandbox, sandbox_root: str) -> None:
    """Delete the sandbox and the now-empty per-instance/task/job folders above it.

    Only empty folders are rmdir'ed, so a sibling's sandbox (or one being created) is never
    touched: ``ENOTEMPTY`` means someone still uses the folder and ends the climb (its last
    user removes it); ``ENOENT`` means a sibling removed it already, and the climb goes on,
    since the folder above may now be empty. Only folders strictly inside ``sandbox_root`` are
    removed, never the root itself nor anything outside it.
    """
    shutil.rmtree(sandbox.root, ignore_errors=True)
    stop = Path(sandbox_root).resolve()
    above = [p for p in sandbox.root.resolve().parents if p != stop and p.is_relative_to(stop)]
    for parent in above[:3]:  # <InstanceId>, <TaskName>, <JobId>
        try:
            parent.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            break


def remove_lost(sandbox_root: str | Path, key: InstanceKey, recorded: str, keep: bool) -> str:
    """Clean up after an attempt lost with its bcsd (restart or take-over), once its process
    group was killed; returns the sandbox path to keep on the instance row ("" if removed).

    A lost attempt is a failed one, so the rule after a failed exit applies (``build_launch``):
    ``keep`` is the task's ``reserves_on_fail`` (its AutoCluster's ReserveOnFail keeps the sandbox
    for inspection, never on a named cluster).
    ``recorded`` is the row's ``sandbox_path`` (what the executor reported at start, possibly
    under another node's root on a shared database); it is only trusted when its last four
    parts name this very attempt. The layout path under ``sandbox_root`` is looked at too: bcsd
    may have died before the start was recorded.
    """
    try:
        parts = _parts(key)
    except (SandboxPathError, ValueError, TypeError):
        return ""  # such a key never got a sandbox (the runner refuses it)
    boxes = [(Sandbox(Path(sandbox_root).joinpath(*parts)), Path(sandbox_root))]
    path = Path(recorded)
    if recorded and path.is_absolute() and path.parts[-4:] == parts and path != boxes[0][0].root:
        boxes.insert(0, (Sandbox(path), path.parents[3]))
    if keep:
        return next((str(box.root) for box, _ in boxes if box.root.is_dir()), "")
    for box, root in boxes:
        for _ in range(3):  # a just-killed process may finish one last write or mkdir
            remove(box, str(root))
            if not box.root.exists():
                break
            time.sleep(0.05)
    return ""


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
