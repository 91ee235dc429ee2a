"""A throwaway Slurm 22.05 on this machine, as the baseline for "100 trivial jobs" (issue 16).

``ensure_installed`` installs Debian's ``slurmctld slurmd munge`` with apt-get when they are
missing (and says why in one line when apt cannot). ``LocalSlurm`` runs munged, slurmctld and
slurmd in the foreground as children (so each is stopped by its own PID), all on 127.0.0.1 and
all state under one temp dir: its own munge socket, spool, state and config, nothing of the
system's. Tuned for many short jobs, as measured in /work/shared/design.md: no accounting, no
job-accounting gather, linuxproc tracking, no task plugin, and a scheduler that runs on every
submit and completion (no batch delay, no minimum interval).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


def ensure_installed() -> str:
    """'' when Slurm and munge are usable, else why not (one line)."""
    if all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS) and shutil.which("sbatch"):
        return ""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    argv = ["apt-get", "install", "-y", "--no-install-recommends", "slurmctld", "slurmd", "munge"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        return f"apt-get could not install slurmctld slurmd munge: {last[-1] if last else done.returncode}"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(root: Path, cpus: int) -> str:
    return f"""ClusterName=bench
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={root}/munge.socket
CryptoType=crypto/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
SlurmctldDebug=error
SlurmdDebug=error
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000
MinJobAge=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=bench Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    """munged + slurmctld + slurmd under ``root``; ``start()``, ``sbatch_many()``, ``stop()``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "slurm.conf"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _spawn(self, argv: list[str]) -> None:
        log = open(self.root / f"{Path(argv[0]).name}.out", "ab")  # noqa: SIM115 - the child owns it
        self.procs.append(subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT))
        log.close()

    def start(self, timeout: float = 60.0) -> None:
        for d in ("state", "spool", "munge"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(_config(self.root, os.cpu_count() or 1))
        self._spawn(["/usr/sbin/munged", "-F", "--force", f"--socket={self.root}/munge.socket",
                     f"--pid-file={self.root}/munged.pid", f"--log-file={self.root}/munged.log",
                     f"--seed-file={self.root}/munge/seed", "--key-file=/etc/munge/munge.key"])  # fmt: skip
        self._wait(lambda: (self.root / "munge.socket").exists(), timeout, "munged")
        self._spawn(["/usr/sbin/slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._spawn(["/usr/sbin/slurmd", "-D", "-N", "localhost", "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "slurmd to register")

    def _node_idle(self) -> bool:
        done = subprocess.run(["sinfo", "-h", "-o", "%t"], env=self.env, capture_output=True, text=True,
                              check=False)  # fmt: skip
        return done.returncode == 0 and done.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"waiting for {what}: {dead or 'timeout'}; logs in {self.root}")
            time.sleep(0.1)

    def sbatch_many(self, n: int, timeout: float = 900.0) -> float:
        """Seconds from the first ``sbatch --wrap true`` of ``n`` to the last one done; each job
        must leave its 'ok' (its output file), else ``RuntimeError``."""
        out = self.root / "out"
        out.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        for i in range(n):
            subprocess.run(["sbatch", "-Q", "-o", f"{out}/{i}.out", "--wrap", "true && echo ok"],
                           env=self.env, check=True, capture_output=True)  # fmt: skip
        self._wait(lambda: not self._queued(), timeout, f"{n} jobs to leave the queue")
        elapsed = time.perf_counter() - t0
        ok = sum(1 for f in out.glob("*.out") if f.read_text().strip() == "ok")
        if ok != n:
            raise RuntimeError(f"only {ok} of {n} Slurm jobs printed ok")
        return elapsed

    def _queued(self) -> bool:
        done = subprocess.run(["squeue", "-h"], env=self.env, capture_output=True, text=True, check=False)
        return done.returncode != 0 or bool(done.stdout.strip())

    def stop(self) -> None:
        """SIGTERM each daemon by its PID (slurmd first), SIGKILL after 10 s."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
        self.procs.clear()
