"""A real Dask cluster for tests: ``dask scheduler`` and ``dask worker`` subprocesses on 127.0.0.1.

Every process is started here and stopped by its PID (``stop``), so nothing outlives a test module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DaskCluster:
    workdir: Path
    address: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
            env={**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"},
        )
        self.procs[name] = proc
        return proc

    def start_scheduler(self) -> None:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._spawn("scheduler", [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard", "--no-show"])

    def start_worker(self, name: str, resources: str, nthreads: int = 4) -> None:
        self._spawn(name, [DASK, "worker", self.address, "--host", "127.0.0.1", "--name", name,
                           "--nthreads", str(nthreads), "--no-nanny", "--no-dashboard",
                           "--resources", resources, "--local-directory", str(self.workdir / name)])

    def worker_addresses(self) -> dict[str, str]:
        """name -> address of every worker the scheduler knows now."""
        from distributed import Client

        with Client(self.address, timeout=20) as client:
            return {w["name"]: a for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}

    def wait_for_workers(self, names: set[str], timeout: float = 60.0) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while True:
            for name, proc in self.procs.items():
                if proc.poll() is not None and name in names | {"scheduler"}:
                    raise RuntimeError(f"{name} exited: {(self.workdir / f'{name}.log').read_text()[-2000:]}")
            try:
                found = self.worker_addresses()
                if names <= set(found):
                    return found
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers {names} did not join {self.address}")
            time.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, sig)
            proc.wait(10)

    def stop(self) -> None:
        for name in [n for n in self.procs if n != "scheduler"] + ["scheduler"]:
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
