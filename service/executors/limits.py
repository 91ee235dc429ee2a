"""Hold an instance to its InstanceType: memory and CPU from the ``/available`` table, and a
process count, enforced by cgroups where this machine lets us write them, else by rlimits.

One backend is chosen per process (the runner host, a Dask worker) and logged once:

    cgroup v2   memory.max (+ memory.swap.max 0), cpu.max, pids.max; OOM seen in memory.events
    cgroup v1   memory.limit_in_bytes (+ memsw), cpu.cfs_quota_us, pids.max; OOM in memory.oom_control
    rlimits     RLIMIT_AS for memory, RLIMIT_NPROC for processes (of the whole run-as user); no
                CPU share and no reliable OOM report (a program sees allocation failures instead)

How the command gets into its cgroups before it runs anything (no ``preexec_fn``, which is unsafe
in the runner's threads):

    cgroup v1   the spawning thread moves itself alone into the attempt's folders (it writes 0 to
                each ``tasks`` file), starts the command, which is born there, and moves itself
                back (``Confinement.entering``). No process of its own, and no whole-process
                attach: the kernel moves the calling thread without the global threadgroup lock.
    cgroup v2   a thread cannot leave its process's domain cgroup, so a fixed ``sh`` script writes
                its own pid to each ``cgroup.procs`` and then execs the rest of the argv
                (``Confinement.prefix``; paths reach the script as arguments, never as script text).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

log = logging.getLogger("bcsd.limits")

LimitsKind = Literal["cgroup v2", "cgroup v1", "rlimits"]
CPU_PERIOD_US = 100_000
_JOIN = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'
GROUP_PREFIX = "bcsd-instances"
# An attempt's folder lives from just before its command starts until just after it ends, so an
# empty folder this old was left by a killed process. Younger empty folders may belong to an
# attempt of another bcsd (or another thread) that has not joined it yet: never swept.
STALE_AFTER_S = 120.0


class CannotEnter(Exception):
    """A thread could not move into an attempt's cgroups (it is back in its own): the node's fault."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one instance may use."""

    memory_bytes: int
    cpu_cores: float
    pids: int

    def describe(self) -> str:
        return f"{self.memory_bytes / 1e9:g} GB memory, {self.cpu_cores:g} CPU, {self.pids} processes"


class Confinement(Protocol):
    """The limits of one attempt: how a command enters them, then what happened.

    A command is started as ``with jail.entering(): spawn([*jail.prefix(), *argv])``: either part
    may do nothing on a given backend.
    """

    def prefix(self) -> list[str]: ...

    def entering(self) -> contextlib.AbstractContextManager[None]:
        """While inside, a process this thread starts is born in the limits."""
        ...

    def out_of_memory(self) -> bool: ...

    def oom_kills(self) -> int:
        """How many OOM kills so far (a VM sandbox judges each instance by the delta)."""
        ...

    def processes(self) -> int | None:
        """How many processes are in the limits now (None: this backend cannot tell)."""
        ...

    def close(self) -> None: ...


class Backend(Protocol):
    kind: LimitsKind

    def confine(self, name: str, limits: Limits) -> Confinement: ...


# ---------------------------------------------------------------- cgroups


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _counter(path: Path, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    return 0


def _move_this_thread(folder: Path) -> None:
    """Move the calling thread alone into ``folder`` (cgroup v1: 0 in ``tasks`` names the writer)."""
    fd = os.open(folder / "tasks", os.O_WRONLY)
    try:
        os.write(fd, b"0")
    finally:
        os.close(fd)


LEAVE_TRIES = 3


@dataclass
class _Cgroups:
    """One attempt's cgroup folder in each hierarchy we use (one on v2, one per controller on v1).

    ``homes`` (v1 only): this process's own folder in the hierarchy of each of ``folders``, where
    a thread that entered them to start a command goes back to.
    """

    folders: list[Path]
    oom_file: Path
    oom_key: str
    homes: tuple[Path, ...] = ()

    def prefix(self) -> list[str]:
        if self.homes:
            return []
        return ["/bin/sh", "-c", _JOIN, "bcs-join", *[str(f / "cgroup.procs") for f in self.folders], "--"]

    @contextlib.contextmanager
    def entering(self) -> Iterator[None]:
        """v1: this thread is in the attempt's folders while inside (the folders are in ``cpu``-last
        order, so it runs the shortest time under the instance's CPU quota), then back home;
        raises ``CannotEnter`` when it cannot enter (it is back home then)."""
        entered = 0
        try:
            for folder in self.folders if self.homes else ():
                try:
                    _move_this_thread(folder)
                except OSError as exc:
                    raise CannotEnter(f"{folder}: {exc.strerror or exc}") from exc
                entered += 1
            yield
        finally:
            for home in reversed(self.homes[:entered]):
                _go_home(home)

    def out_of_memory(self) -> bool:
        return self.oom_kills() > 0

    def oom_kills(self) -> int:
        return _counter(self.oom_file, self.oom_key)

    def processes(self) -> int | None:
        try:
            return len((self.folders[0] / "cgroup.procs").read_text().split())
        except OSError:
            return None

    def close(self) -> None:
        """Remove the folders; an emptied cgroup may stay busy for a moment after its last exit."""
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.002)


def _go_home(home: Path) -> None:
    """Back to the process's own folder; a thread left in an instance's cgroup would be counted
    in its limits and keep its folder from being removed, so this is tried again. It never raises:
    the command it just started must stay in the runner's hands (waited for, killed, reported)."""
    for attempt in range(LEAVE_TRIES):
        try:
            _move_this_thread(home)
            return
        except OSError as exc:
            if attempt == LEAVE_TRIES - 1:
                log.error("a runner thread cannot leave an instance cgroup for %s: %s", home, exc)
                return
            time.sleep(0.001)


def _make(base: Path, name: str) -> Path:
    folder = base / name
    folder.mkdir()
    return folder


class CgroupV2:
    kind: LimitsKind = "cgroup v2"

    def __init__(self, base: Path) -> None:
        self.base = base

    def confine(self, name: str, limits: Limits) -> _Cgroups:
        folder = _make(self.base, name)
        try:
            _write(folder / "memory.max", str(limits.memory_bytes))
            with contextlib.suppress(OSError):
                _write(folder / "memory.swap.max", "0")
            _write(folder / "cpu.max", f"{int(limits.cpu_cores * CPU_PERIOD_US)} {CPU_PERIOD_US}")
            _write(folder / "pids.max", str(limits.pids))
        except OSError:
            folder.rmdir()
            raise
        return _Cgroups([folder], folder / "memory.events", "oom_kill")


class CgroupV1:
    kind: LimitsKind = "cgroup v1"

    def __init__(self, memory: Path, cpu: Path, pids: Path) -> None:
        self.memory, self.cpu, self.pids = memory, cpu, pids

    def confine(self, name: str, limits: Limits) -> _Cgroups:
        made: list[Path] = []
        mem = self.memory / name
        try:
            _make(self.memory, name)
            made.append(mem)
            _write(mem / "memory.limit_in_bytes", str(limits.memory_bytes))
            with contextlib.suppress(OSError):  # no swap accounting: memory alone is the limit
                _write(mem / "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
            pids = _make(self.pids, name)
            made.append(pids)
            _write(pids / "pids.max", str(limits.pids))
            cpu = _make(self.cpu, name)
            made.append(cpu)
            _write(cpu / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(cpu / "cpu.cfs_quota_us", str(int(limits.cpu_cores * CPU_PERIOD_US)))
        except OSError:
            _Cgroups(made, mem, "").close()
            raise
        homes = (self.memory.parent, self.pids.parent, self.cpu.parent)
        return _Cgroups(made, mem / "memory.oom_control", "oom_kill", homes)


# ---------------------------------------------------------------- rlimits


@dataclass(frozen=True, slots=True)
class _Rlimited:
    limits: Limits

    def prefix(self) -> list[str]:
        prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
        return [prlimit, f"--as={self.limits.memory_bytes}", f"--nproc={self.limits.pids}", "--"]

    def entering(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def out_of_memory(self) -> bool:
        return False

    def oom_kills(self) -> int:
        return 0

    def processes(self) -> int | None:
        return None

    def close(self) -> None:
        return None


class Rlimits:
    kind: LimitsKind = "rlimits"

    def confine(self, name: str, limits: Limits) -> _Rlimited:
        return _Rlimited(limits)


# ---------------------------------------------------------------- choosing one


def _own_cgroup(controller: str) -> str:
    """Our cgroup path in a hierarchy ('' for v2), from /proc/self/cgroup."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path
    return "/"


def _v1_mounts() -> dict[str, Path]:
    mounts: dict[str, Path] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[2] == "cgroup":
                for option in fields[3].split(","):
                    mounts.setdefault(option, Path(fields[1]))
    return mounts


def _group_base(root: Path, now: float) -> Path:
    """Our own folder under ``root`` (made if missing); stale empty attempt folders are swept.

    Several bcsd processes (and a runner host beside its bcsd) share this folder, so only folders
    older than ``STALE_AFTER_S`` go: sweeping a fresh one would pull the cgroup from under an
    attempt that is about to join it (seen as ``cgroup.procs: Directory nonexistent``, exit 125).
    """
    base = root / GROUP_PREFIX
    base.mkdir(exist_ok=True)
    for child in base.iterdir():
        with contextlib.suppress(OSError):  # busy (still has processes) or already gone
            if child.is_dir() and now - child.stat().st_mtime > STALE_AFTER_S:
                child.rmdir()
    return base


def _try_v2() -> CgroupV2 | None:
    root = Path("/sys/fs/cgroup")
    if not (root / "cgroup.controllers").exists():
        return None
    own = root / _own_cgroup("").lstrip("/")
    try:
        wanted = {"memory", "pids", "cpu"}
        if not wanted <= set((own / "cgroup.controllers").read_text().split()):
            return None
        base = own / GROUP_PREFIX
        base.mkdir(exist_ok=True)
        _write(base / "cgroup.subtree_control", "+memory +pids +cpu")
        return CgroupV2(_group_base(own, time.time()))
    except OSError:
        return None


def _try_v1() -> CgroupV1 | None:
    mounts = _v1_mounts()
    if not {"memory", "cpu", "pids"} <= set(mounts):
        return None
    try:
        now = time.time()
        bases = [_group_base(mounts[c] / _own_cgroup(c).lstrip("/"), now) for c in ("memory", "cpu", "pids")]
    except OSError:
        return None
    return CgroupV1(*bases)


_choosing = threading.Lock()


def backend() -> Backend:
    """The best way this process can limit instances; said once in the log.

    Chosen once per process under a lock: the runner's threads ask at their first launch together.
    """
    with _choosing:
        return _choose()


@functools.cache
def _choose() -> Backend:
    chosen: Backend = _try_v2() or _try_v1() or Rlimits()
    log.info("instance limits enforced by %s", chosen.kind)
    return chosen


def attempt_group_name(label: str) -> str:
    """A cgroup folder name for one attempt: readable, and unique even across runner restarts."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:120]
    return f"{safe}.{uuid.uuid4().hex[:8]}"


def limits_for(memory_gb: float, cpu: float, pids: int) -> Limits:
    return Limits(memory_bytes=int(memory_gb * 1e9), cpu_cores=max(cpu, 0.01), pids=max(pids, 8))


def confine(label: str, limits: Limits) -> Confinement:
    """Enter ``limits`` for one attempt; a backend that fails now falls back to rlimits (logged)."""
    chosen = backend()
    try:
        return chosen.confine(attempt_group_name(label), limits)
    except OSError as exc:
        log.warning("cannot make the %s limits for %s (%s); using rlimits", chosen.kind, label, exc)
        return Rlimits().confine(label, limits)


def kind() -> LimitsKind:
    return backend().kind


def in_force(executor: str) -> str:
    """How instances are held to their InstanceType, as /healthz and the start line say it."""
    return kind() if executor == "local" else "decided by each Dask worker"
