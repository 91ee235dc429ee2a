"""The user namespace a root runner's sandboxes drop into: the run-as uid without a ``setpriv`` exec.

A root runner used to end every sandbox with ``setpriv --reuid … --clear-groups --no-new-privs``,
one more exec per instance (~1.1–1.4 ms of a ~5 ms start). Instead the runner makes one user
namespace per run-as user, once, and bwrap joins it (``--userns FD --uid U --gid G``): bwrap
switches to U inside the namespace before it mounts anything, so the command is the real,
unprivileged uid U outside as well, without groups (bwrap is started with none), with no new
privileges (bwrap always sets them) and with no capabilities (bwrap drops them before the exec).

The namespace's maps (written by root, so the namespace is owned by root and nobody else can
enter it):

    inside 1      -> outside 0          root's files, so bwrap may still read the 0700 folders
                                        (/root, bcsd's data dir) it binds: a capability inside
                                        applies to an inode only when its owner is mapped
    inside 2..    -> outside 2..        every other uid as itself (so files show their owners)

Inside uid 0 is left unmapped on purpose: bwrap's switch away from uid 0 would otherwise clear
the capabilities it still needs for the mounts. So inside the sandbox root's files show as uid 1
(named ``daemon`` in most ``/etc/passwd``), and outside uid 1 as the overflow uid; a run-as uid
or gid of 0 or 1 cannot use this and keeps ``setpriv``, as does a machine where the namespace
or the check sandbox cannot be made (``for_user`` returns None and says why in the log once).

The command inherits the namespace's fd (bwrap keeps it open); without a capability in that
namespace it can do nothing with it (``setns`` needs ``CAP_SYS_ADMIN`` there).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import threading
import time

log = logging.getLogger("bcsd.isolation")

ROOT_INSIDE = 1
UID_LIMIT = 4294967295  # (uid_t) -1 is no uid
MAP = f"{ROOT_INSIDE} 0 1\n2 2 {UID_LIMIT - 2}\n"
READY_TIMEOUT_S = 5.0

_making = threading.Lock()
_launcher_watched = False


def use_in_this_process() -> None:
    """Let this process's sandboxes use the namespace: only a launcher whose death is watched.

    In the namespace bwrap's pid 1 is the run-as user and its launcher root without
    capabilities, so ``--die-with-parent`` cannot signal it across that uid switch and a sandbox
    may outlive a killed launcher. The local runner host is watched: bcsd kills its attempts'
    process groups when it dies, its keeper (``keeper.py``) when bcsd died with it, and a restart
    reaps what a crash of all three left. A Dask worker is not, so its sandboxes keep
    ``setpriv`` and die with it.
    """
    global _launcher_watched
    _launcher_watched = True


def usable_for(uid: int, gid: int) -> bool:
    """Inside 0 and 1 are not the run-as user's to take (see the maps above)."""
    return uid > ROOT_INSIDE and gid > ROOT_INSIDE


def for_user(uid: int, gid: int) -> int | None:
    """An fd of the namespace the sandboxes of ``uid``/``gid`` join; None: use ``setpriv``."""
    if not _launcher_watched or not usable_for(uid, gid) or os.geteuid() != 0:
        return None
    with _making:
        return _made(uid, gid)


@functools.cache
def _made(uid: int, gid: int) -> int | None:
    try:
        fd = _new_namespace()
    except (OSError, subprocess.SubprocessError, TimeoutError) as exc:
        log.info("sandboxes drop to uid %d with setpriv: no user namespace here (%s)", uid, exc)
        return None
    why = _check(fd, uid, gid)
    if why:
        os.close(fd)
        log.info("sandboxes drop to uid %d with setpriv: bwrap cannot join a user namespace (%s)", uid, why)
        return None
    return fd


def _new_namespace() -> int:
    """A new user namespace with the maps above; it lives as long as the returned fd."""
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    holder = subprocess.Popen(
        [unshare, "--user", "--", "cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ours = os.stat("/proc/self/ns/user").st_ino
        deadline = time.monotonic() + READY_TIMEOUT_S
        while os.stat(f"/proc/{holder.pid}/ns/user").st_ino == ours:  # until it has unshared
            if holder.poll() is not None or time.monotonic() > deadline:
                raise TimeoutError("unshare --user did not start")
            time.sleep(0.001)
        for name in ("uid_map", "gid_map"):
            with open(f"/proc/{holder.pid}/{name}", "w") as f:
                f.write(MAP)
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()


def _check(fd: int, uid: int, gid: int) -> str:
    """'' when bwrap can join the namespace and switch to the user (bwrap 0.8+), else why not."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bwrap is not installed"
    argv = [bwrap, "--userns", str(fd), "--uid", str(uid), "--gid", str(gid), "--ro-bind", "/", "/", "true"]
    try:
        done = subprocess.run(
            argv, pass_fds=(fd,), capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
            extra_groups=[],
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]
