"""Confine one instance like a VM: a bubblewrap sandbox that sees only what is its own.

On BatchCompute every instance has a VM to itself. Here an instance is a process on a shared
machine, so ``bwrap`` gives it a world of its own: a read-only system (``/usr``, ``/bin``,
``/lib*``, a minimal ``/etc``, the interpreter that runs bcsd so ``python`` resolves), its
sandbox's ``workdir/`` and ``fs/`` at the same paths as outside (so ``HOME``,
``BATCH_COMPUTE_LOCAL_ROOT`` and every mapped path keep working), a private ``/tmp`` and
``/dev``, its own PID, IPC and UTS namespaces, and nothing of bcsd's data directory (database,
credentials, other sandboxes, the object store).

Who it runs as: when the runner is root, the command is ``Isolation.run_as``, a real unprivileged
uid outside the sandbox too, with no groups, no new privileges and no capabilities. bwrap joins a
user namespace made once per run-as user (``userns.py``) and switches to that uid itself; where
that namespace cannot be made, bwrap sets up the mounts as root and ``setpriv`` drops the command
(one exec more per instance). When the runner is not root, bwrap makes a user namespace of its
own and the command keeps the runner's uid, seeing only its mounts.

The value travels in every ``InstanceLaunch``, so a Dask worker confines exactly as the local
runner host does; the machine facts (is bwrap here, does it work) are probed where it runs.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

from service.executors import userns

IsolationMode = Literal["bwrap", "none"]
IsolationChoice = Literal["auto", "bwrap", "none"]

#: Files and folders of /etc a program commonly needs (name service, TLS roots, the dynamic
#: loader's cache, Debian's alternatives symlinks). Shadow files and the rest of /etc stay out.
#: Kept short on purpose: each bind costs bwrap ~0.15 ms per instance (bench/bench_executors.py).
ETC_ENTRIES: tuple[str, ...] = (
    "passwd", "group", "hosts", "resolv.conf", "nsswitch.conf", "localtime", "ld.so.cache",
    "alternatives", "ssl",
)  # fmt: skip
SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
FIX_HINT = "install Debian's bubblewrap (apt-get install bubblewrap) or choose --isolation none"


class IsolationUnavailable(RuntimeError):
    """``--isolation bwrap`` was asked for and this machine cannot provide it."""


@dataclass(frozen=True, slots=True)
class Isolation:
    """How instances are confined (plain values: it is pickled into launches for Dask)."""

    mode: IsolationMode = "none"
    run_as: tuple[int, int] = (65534, 65534)  # uid, gid of the command when the runner is root
    network: bool = True  # jobs fetch data; off gives the sandbox only a loopback interface
    extra_ro: tuple[str, ...] = ()  # more host folders shown read-only (e.g. /opt/tools)
    extra_rw: tuple[str, ...] = ()  # shared folders every instance may write (a scratch NAS)
    pids_max: int = 512  # processes of one instance (a fork bomb stops here)


@dataclass(frozen=True, slots=True)
class SpawnNeeds:
    """What the spawn of a ``bwrap_argv`` needs besides the argv: fds it names, and ``groups``
    ``[]`` when bwrap must start without our supplementary groups (None: we have none to drop)."""

    fds: tuple[int, ...] = ()
    groups: list[int] | None = None


def bwrap_binary() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _system_binds() -> tuple[str, ...]:
    """Read-only system: real folders bound, the usr-merge symlinks (/bin -> usr/bin) recreated.
    Looked at once per process: the machine's layout does not change under a running bcsd."""
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return tuple(args)


@functools.cache
def interpreter_roots() -> tuple[str, ...]:
    """The interpreter running us (a venv and the Python it was made from) outside /usr; looked
    at once per process, like the system binds."""
    roots: list[str] = []
    for prefix in (
        sys.prefix,
        sys.base_prefix,
        os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))),
    ):
        real = os.path.realpath(prefix)
        if real.startswith("/usr/") or real == "/usr" or real in roots:
            continue
        roots.append(real)
    return tuple(roots)


def _parents(paths: list[str]) -> list[str]:
    """Folders bwrap must create above the bind points, parents first. Made explicitly with mode
    0755: bwrap's own intermediate folders are 0700 root, which the run-as user cannot traverse."""
    found: set[str] = set()
    for path in paths:
        parent = os.path.dirname(os.path.normpath(path))
        while parent not in ("/", "") and not any(
            parent == d or parent.startswith(d + "/") for d in SYSTEM_DIRS
        ):
            found.add(parent)
            parent = os.path.dirname(parent)
    return sorted(found, key=lambda p: (p.count("/"), p))


@functools.cache
def _as_root() -> bool:
    return os.geteuid() == 0


def bwrap_argv(
    isolation: Isolation, *, workdir: str, writable: list[str], hostname: str = "bcs"
) -> list[str]:
    """The command prefix that starts a program inside the sandbox (the program's argv follows).

    ``writable`` folders are bound read-write at their own paths; ``workdir`` becomes the cwd.
    """
    binary = bwrap_binary() or "bwrap"
    args = [binary, "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
    namespace = _run_as_namespace(isolation)
    if namespace is not None:
        uid, gid = isolation.run_as
        args += ["--userns", str(namespace), "--uid", str(uid), "--gid", str(gid)]
    if not isolation.network:
        args.append("--unshare-net")
    if not _as_root():
        args.append("--unshare-user")
    args += ["--die-with-parent", "--hostname", hostname]
    args += _system_binds()
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "01777", "--tmpfs", "/tmp"]
    args += ["--perms", "0755", "--dir", "/var", "--symlink", "../tmp", "/var/tmp"]
    readonly = [*interpreter_roots(), *isolation.extra_ro]
    parents = _parents([*readonly, *writable])
    # The folders bwrap makes are the sandbox user's own when bwrap runs as that user (in a user
    # namespace), so they are sealed: the sandbox's root is made read-only at the end (not the
    # mounts on it), and so is a tmpfs of their own for those that would be in the private /tmp.
    in_tmp = [p for p in parents if os.path.dirname(p) == "/tmp"]
    for top in in_tmp:
        args += ["--perms", "0755", "--tmpfs", top]
    for parent in parents:
        args += ["--perms", "0755", "--dir", parent]
    for root in readonly:
        args += ["--ro-bind-try", root, root]
    for path in writable:
        args += ["--bind", path, path]
    for sealed in [*in_tmp, "/"]:
        args += ["--remount-ro", sealed]
    args += ["--chdir", workdir, "--setenv", "TMPDIR", "/tmp"]
    if _as_root() and namespace is None:
        uid, gid = isolation.run_as
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
        args += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--no-new-privs"]
    args.append("--")
    return args


def _run_as_namespace(isolation: Isolation) -> int | None:
    return userns.for_user(*isolation.run_as) if _as_root() else None


def spawn_needs(isolation: Isolation) -> SpawnNeeds:
    """See ``SpawnNeeds``; in the run-as namespace bwrap does not clear the groups it inherits."""
    namespace = _run_as_namespace(isolation) if isolation.mode == "bwrap" else None
    if namespace is None:
        return SpawnNeeds()
    return SpawnNeeds((namespace,), [] if os.getgroups() else None)


def chown_for(isolation: Isolation, paths: list[str]) -> None:
    """Hand the sandbox's writable folders to the unprivileged user the command runs as."""
    if isolation.mode != "bwrap" or not _as_root():
        return
    uid, gid = isolation.run_as
    for top in paths:
        os.lchown(top, uid, gid)
        for base, dirs, files in os.walk(top):
            for name in dirs + files:
                os.lchown(os.path.join(base, name), uid, gid)


@functools.cache
def probe() -> str:
    """ "" when a bwrap sandbox can be made here, else why not (one line)."""
    binary = bwrap_binary()
    if binary is None:
        return "bwrap is not installed"
    default = Isolation(mode="bwrap")
    argv = bwrap_argv(default, workdir="/", writable=[]) + ["/bin/true"]
    needs = spawn_needs(default)
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
            pass_fds=needs.fds, extra_groups=needs.groups,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot start: {exc}"
    if done.returncode != 0:
        return "bwrap cannot create a sandbox here: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    return ""


def resolve(choice: IsolationChoice) -> tuple[IsolationMode, str]:
    """The mode in force and, when it is weaker than asked or than the default, one line saying so.

    ``auto`` (the default) is bwrap when it works here; otherwise instances run unconfined and
    the returned warning says how to fix it. An explicit ``bwrap`` that cannot work is an error.
    """
    if choice == "none":
        return "none", "instances run unconfined (--isolation none): they can read bcsd's data directory"
    why = probe()
    if not why:
        return "bwrap", ""
    if choice == "bwrap":
        raise IsolationUnavailable(f"--isolation bwrap: {why}; {FIX_HINT}")
    return "none", f"instances run UNCONFINED: {why}; {FIX_HINT}"
