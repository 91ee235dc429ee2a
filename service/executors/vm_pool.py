"""The runner host's VM sandboxes: which launch runs on one, leasing, idling out, a cap.

One VM sandbox per ``VmKey`` (job, task, VM slot, isolation, limits), leased to one attempt at a
time (the scheduler never gives one VM two instances at once; a second lease meanwhile just
takes the direct path). A VM sandbox idles out ``idle_s`` after its last instance, is retired at
once when it broke, held leftovers or its attempt keeps its sandbox (ReserveOnFail), and all are
stopped when the host closes. At most ``max_alive`` exist; at the cap an idle one is stopped to
make room, else the launch takes the direct path.
"""

from __future__ import annotations

import threading
import time

from service.executors import limits
from service.executors.base import InstanceLaunch
from service.executors.vm_sandbox import VmKey, VmSandbox, sweep_stale

DEFAULT_IDLE_S = 2.0
DEFAULT_MAX_ALIVE = 64


MIN_INSTANCES_PER_VM = 3
"""Measured (2026-12-03, sequential, 40 each): a direct confined start of ``true`` costs ~5.5 ms
of CPU, a VM sandbox's start + one instance + stop ~8.5 ms and each further instance on it
~2.5 ms: two instances per VM break even, from three on the VM sandbox saves CPU."""


def uses_vm(isolation_mode: str, instances_per_vm: int, warm: bool) -> bool:
    """Whether an attempt runs on a VM sandbox rather than its own direct confined start.

    Starting the agent costs more than one direct bwrap start (an interpreter inside the
    sandbox), so it only pays when the VM will run enough of the task's instances in turn, or
    when one is already warm for this key. A one-instance task (a chain's step), or a task
    spread one instance per VM, keeps the direct path and is not slowed down. Without bwrap
    there is no sandbox to keep: the direct path (limits only) stays (service/executors/README.md).
    """
    return isolation_mode == "bwrap" and (instances_per_vm >= MIN_INSTANCES_PER_VM or warm)


def key_for(launch: InstanceLaunch) -> VmKey:
    quota = limits.limits_for(launch.memory_gb, launch.cpu, launch.isolation.pids_max)
    k = launch.key
    return VmKey(launch.sandbox_root, k.job_id, k.task_name, launch.vm_id, launch.isolation, quota)


class VmPool:
    """Thread-safe; ``lease``/``release`` around each attempt, ``close`` once at the end."""

    def __init__(self, idle_s: float = DEFAULT_IDLE_S, max_alive: int = DEFAULT_MAX_ALIVE) -> None:
        self.idle_s = idle_s
        self.max_alive = max_alive
        self._lock = threading.Lock()
        self._vms: dict[VmKey, VmSandbox] = {}
        self._busy: set[VmKey] = set()
        self._stopping = 0  # taken out of ``_vms``, still being stopped (counted as alive)
        self._closed = False
        self._wake = threading.Event()
        self._reaper: threading.Thread | None = None
        self._swept: set[str] = set()  # sandbox roots cleared of a dead host's VM folders
        self._sweeping = threading.Lock()

    def lease(self, launch: InstanceLaunch) -> VmSandbox | None:
        """The VM sandbox this attempt runs on (started if needed), or None for the direct path.
        Raises ``VmLost`` (or ``OSError``) when a VM sandbox was due but could not be made."""
        if not launch.vm_id:
            return None
        key = key_for(launch)
        evicted: VmSandbox | None = None
        with self._lock:
            if self._closed or key in self._busy:
                return None
            vm = self._vms.get(key)
            if not uses_vm(launch.isolation.mode, launch.instances_per_vm, warm=vm is not None):
                return None
            if vm is None and len(self._vms) + self._starting() >= self.max_alive:
                evicted = self._oldest_idle()
                if evicted is None:
                    return None
                del self._vms[evicted.key]
                self._stopping += 1
            self._busy.add(key)
        if evicted is not None:
            self._stop([evicted])
        if vm is not None:
            return vm
        try:
            with self._sweeping:  # once per root, before any VM of ours is made there
                if key.sandbox_root not in self._swept:
                    sweep_stale(key.sandbox_root)
                    self._swept.add(key.sandbox_root)
            vm = VmSandbox.start(key)
        except BaseException:
            with self._lock:
                self._busy.discard(key)
            raise
        with self._lock:
            self._vms[key] = vm
        self._ensure_reaper()
        return vm

    def release(self, vm: VmSandbox, retire: bool) -> None:
        """Give the VM back after its attempt (before the attempt's exit is reported, so the
        next instance the scheduler places on it finds it free)."""
        retire = retire or vm.broken or not vm.clean()
        with self._lock:
            self._busy.discard(vm.key)
            if retire or self._closed:
                if self._vms.get(vm.key) is vm:
                    del self._vms[vm.key]
                self._stopping += 1
            else:
                vm.idle_since = time.monotonic()
        if retire or self._closed:
            self._stop([vm])

    def alive(self) -> int:
        """VM sandboxes running (those being stopped included)."""
        with self._lock:
            return len(self._vms) + self._stopping

    def reap(self, now: float | None = None) -> int:
        """Stop VM sandboxes idle for ``idle_s`` or more; how many were stopped."""
        now = time.monotonic() if now is None else now
        with self._lock:
            idle = [vm for key, vm in self._vms.items() if key not in self._busy]
            done = [vm for vm in idle if now - vm.idle_since >= self.idle_s]
            for vm in done:
                del self._vms[vm.key]
            self._stopping += len(done)
        self._stop(done)
        return len(done)

    def close(self) -> None:
        """Stop every idle VM sandbox now; a leased one is stopped when it is released."""
        with self._lock:
            self._closed = True
            done = [vm for key, vm in self._vms.items() if key not in self._busy]
            for vm in done:
                del self._vms[vm.key]
            self._stopping += len(done)
        self._wake.set()
        self._stop(done)

    # ------------------------------------------------------------ inside

    def _stop(self, vms: list[VmSandbox]) -> None:
        for vm in vms:
            try:
                vm.close()
            finally:
                with self._lock:
                    self._stopping -= 1

    def _starting(self) -> int:
        return sum(1 for key in self._busy if key not in self._vms)

    def _oldest_idle(self) -> VmSandbox | None:
        idle = [vm for key, vm in self._vms.items() if key not in self._busy]
        return min(idle, key=lambda vm: vm.idle_since) if idle else None

    def _ensure_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None or self._closed:
                return
            self._reaper = threading.Thread(target=self._reap_loop, name="bcs-vm-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while not self._wake.wait(max(self.idle_s / 4, 0.05)):
            self.reap()
