"""A VM sandbox: one bwrap sandbox and its cgroups that run a task's instances one after another.

On BatchCompute a VM of a cluster runs instances in turn. A direct confined start costs a bwrap
exec and its namespaces plus three cgroup mkdir/rmdir (≈4.5 ms of CPU with the runner's part,
≈6–9 ms before the start lost its sh and setpriv execs), which is more than the work of a
trivial instance. A VM sandbox pays that once: the sandbox is made
with the task folder ``<sandbox_root>/<JobId>/<TaskName>/`` bound at its own path (never the
sandbox root: other jobs and tasks stay invisible), an agent (``vm_agent.py``) runs inside as the
isolation user, and each instance is a message on a socket plus a fork/exec by the agent.

What instances of one task on one VM share, as on a real VM: the sandbox's ``/tmp``, its
hostname, its cgroups (one instance at a time, so the limits are still per instance; OOM is the
delta of the OOM-kill counter over the instance) and the task folder (siblings' attempt folders
are visible, as they are the same task's). What they never share: processes (the agent kills
every process of the sandbox after each command, and this side checks the cgroup is back to the
agent alone), their own ``workdir/``, ``fs/`` and streams (made per attempt by the runner).

A VM sandbox that misbehaves (agent gone, garbled answer, leftovers) is ``broken`` and must not
be reused; the attempt it was running ends ``NodeLost``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from service.executors import isolation, limits, process
from service.executors import sandbox as sb

AGENT_SOURCE = (Path(__file__).with_name("vm_agent.py")).read_text()
START_TIMEOUT_S = 20.0  # bwrap + interpreter start on a loaded machine
ANSWER_TIMEOUT_S = 20.0  # a started/exited answer after an order (the sweep is bounded)
VM_FOLDER = ".vm-{vm_id}"  # next to the task's <InstanceId> folders; never an integer, so never one


class VmLost(Exception):
    """The agent vanished or broke its protocol: the attempt is ``NodeLost``, the VM is retired."""


class CannotStart(Exception):
    """The agent could not start the program (its ``strerror``): ``CommandNotFound``."""


@dataclass(frozen=True, slots=True)
class VmKey:
    """What a VM sandbox is made for; only a launch with the same key may reuse it."""

    sandbox_root: str
    job_id: str
    task_name: str
    vm_id: str
    isolation: isolation.Isolation
    limits: limits.Limits

    def label(self) -> str:
        return f"{self.job_id}.{self.task_name}.vm-{self.vm_id}"

    def task_folder(self) -> Path:
        return Path(self.sandbox_root, self.job_id, self.task_name)


AGENT_PIDS = 3
"""Processes of the VM itself in its pids cgroup (bwrap outside, bwrap's init, the agent): added
to the pids limit so an instance may still start ``--instance-pids-max`` processes."""


def sweep_stale(sandbox_root: str) -> list[Path]:
    """Remove the folders of VM sandboxes whose processes are gone (a runner host that was
    killed leaves them, and each would keep its task folder from ever being removed).

    A VM's agent and bwrap have their cwd in its folder, so a folder no process has its cwd in
    belongs to no live VM. Returns the folders removed."""
    folders = list(Path(sandbox_root).glob(f"*/*/{VM_FOLDER.format(vm_id='*')}"))
    if not folders:
        return []
    busy = [cwd + os.sep for cwd in process.working_directories(sandbox_root).values()]  # one /proc walk
    stale = []
    for folder in folders:
        inside = os.path.realpath(folder) + os.sep
        if not any(cwd.startswith(inside) for cwd in busy):
            sb.remove(sb.Sandbox(folder), sandbox_root)
            stale.append(folder)
    return stale


class VmSandbox:
    """A running VM sandbox; one caller at a time (the pool leases it)."""

    def __init__(
        self, key: VmKey, home: sb.Sandbox, proc: subprocess.Popen[bytes], ctl: socket.socket,
        jail: limits.Confinement,
    ) -> None:  # fmt: skip
        self.key = key
        self.home = home
        self.proc = proc
        self.jail = jail
        self.broken = False
        self.idle_since = time.monotonic()
        self._ctl = ctl
        self._baseline = jail.processes()

    @property
    def pgid(self) -> int:
        return self.proc.pid

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, key: VmKey) -> VmSandbox:
        """Make the folder, the cgroups and the sandbox, and wait for the agent's hello."""
        sb.check_components(key.job_id, key.task_name, key.vm_id)
        home = sb.Sandbox(key.task_folder() / VM_FOLDER.format(vm_id=key.vm_id))
        sb.create(home)  # keeps the task folder alive (non-empty) while the VM lives
        quota = limits.Limits(key.limits.memory_bytes, key.limits.cpu_cores, key.limits.pids + AGENT_PIDS)
        jail = limits.confine(key.label(), quota)
        host_end, agent_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        iso = key.isolation
        writable = [str(key.task_folder()), *iso.extra_rw]
        argv = [
            *jail.prefix(),
            *isolation.bwrap_argv(iso, workdir=str(home.workdir), writable=writable, hostname=key.vm_id),
            os.path.abspath(sys.executable), "-I", "-S", "-c", AGENT_SOURCE, str(agent_end.fileno()),
        ]  # fmt: skip
        needs = isolation.spawn_needs(iso)
        try:
            with jail.entering():
                proc = subprocess.Popen(
                    argv, cwd=home.workdir, env={"PATH": sb.BASE_PATH, "LANG": "C.UTF-8"},
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
                    pass_fds=(agent_end.fileno(), *needs.fds), extra_groups=needs.groups,
                )  # fmt: skip
        except (OSError, limits.CannotEnter):
            host_end.close()
            jail.close()
            sb.remove(home, key.sandbox_root)
            raise
        finally:
            agent_end.close()
        vm = cls(key, home, proc, host_end, jail)
        try:
            hello = vm._answer(START_TIMEOUT_S)
            if not isinstance(hello.get("ready"), int):
                raise VmLost(f"the VM agent did not start: {hello}")
        except VmLost:
            vm.close()
            raise
        vm._baseline = jail.processes()
        return vm

    def close(self) -> None:
        """End the agent (it kills what is left), then the sandbox, cgroups and folder."""
        self.broken = True
        with contextlib.suppress(OSError):
            self._ctl.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(1.0)
        # bwrap's own pid 1 shares its group and is not always killed with its launcher: when bwrap
        # switched uid in a user namespace, the launcher may not signal it (no parent-death signal)
        process.kill_group(self.proc.pid)
        self.proc.wait()
        with contextlib.suppress(OSError):
            self.jail.close()
        sb.remove(self.home, self.key.sandbox_root)

    # ------------------------------------------------------------ one instance

    def run(
        self,
        argv: list[str],
        env: dict[str, str],
        cwd: Path,
        streams: tuple[int, int],
        timeout_s: float,
        should_stop: Callable[[], bool],
        on_started: Callable[[], None],
    ) -> process.Outcome:
        """Run one command in the VM; Timeout and stop as ``process.wait`` (SIGTERM the group,
        SIGKILL after ``KILL_GRACE_S``). Raises ``CannotStart`` or ``VmLost``."""
        order = json.dumps({"op": "run", "argv": argv, "env": env, "cwd": str(cwd)}).encode()
        try:
            socket.send_fds(self._ctl, [order], list(streams))
        except OSError as exc:
            self.broken = True
            raise VmLost(f"the VM agent is gone: {exc}") from exc
        answer = self._answer(ANSWER_TIMEOUT_S)
        if "error" in answer:
            raise CannotStart(str(answer["error"]))
        if not isinstance(answer.get("started"), int):
            self.broken = True
            raise VmLost(f"unexpected answer from the VM agent: {answer}")
        on_started()
        deadline = time.monotonic() + timeout_s if timeout_s > 0 else float("inf")
        while True:
            if should_stop():
                return self._terminate("stopped")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return self._terminate("timeout")
            ready, _, _ = select.select([self._ctl], [], [], min(process.STOP_POLL_S, remaining))
            if ready:
                return process.Outcome("exited", self._exit_code(self._answer(0)))

    def clean(self) -> bool:
        """True when nothing but the VM itself is left in its cgroup (the agent's sweep is not
        taken on trust: a command could have tampered with it)."""
        now = self.jail.processes()
        return now is None or self._baseline is None or now <= self._baseline

    def _terminate(self, ending: process.Ending) -> process.Outcome:
        self._signal(signal.SIGTERM)
        ready, _, _ = select.select([self._ctl], [], [], process.KILL_GRACE_S)
        if not ready:
            self._signal(signal.SIGKILL)
        self._exit_code(self._answer(ANSWER_TIMEOUT_S))
        return process.Outcome(ending, None)

    def _signal(self, sig: int) -> None:
        try:
            self._ctl.send(json.dumps({"op": "signal", "sig": int(sig)}).encode())
        except OSError as exc:
            self.broken = True
            raise VmLost(f"the VM agent is gone: {exc}") from exc

    def _exit_code(self, answer: dict[str, object]) -> int:
        code = answer.get("exited")
        if not isinstance(code, int) or isinstance(code, bool):
            self.broken = True
            raise VmLost(f"unexpected answer from the VM agent: {answer}")
        return code

    def _answer(self, timeout_s: float) -> dict[str, object]:
        """The agent's next message (validated as a JSON object); ``VmLost`` otherwise."""
        ready, _, _ = select.select([self._ctl], [], [], timeout_s) if timeout_s else ([self._ctl], [], [])
        if not ready:
            self.broken = True
            raise VmLost(f"the VM agent did not answer within {timeout_s:g} s")
        try:
            data = self._ctl.recv(65536)
            answer = json.loads(data) if data else None
        except (OSError, ValueError) as exc:
            self.broken = True
            raise VmLost(f"the VM agent broke the protocol: {exc}") from exc
        if not isinstance(answer, dict):
            self.broken = True
            why = "the VM agent ended" if answer is None else f"unexpected answer {answer!r}"
            raise VmLost(why)
        return answer
