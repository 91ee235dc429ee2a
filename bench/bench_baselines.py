"""The table of issue 16, each figure beside its baseline measured in the same run, as a ratio.

Rows (median of ``--rounds`` rounds each, alternated so drift hits both sides alike):
1. CreateJob (signed, validated, committed) from ``--clients`` client processes: bcsd vs a
   one-route FastAPI app doing the same HMAC check, JSON parse and SQLite WAL insert + commit,
   and the same work as a bare ASGI callable (``bench/baseline_app.py``); server CPU per create
   from /proc of each server process.
2. ``--instances`` trivial instances (one job of ``true``) vs sequential ``subprocess.run(['true'])``.
3. A 16-task chain of ``true``: overhead per transition beyond a bare spawn, and the
   scheduler's share (upstream EndTime -> downstream StartTime), vs the bare spawn.
4. 100 trivial jobs end to end: bcsd vs Slurm 22.05 (``bench/slurm_local.py``: installed from
   Debian when missing, daemons on loopback, stopped by PID); one line instead when it cannot run.
5. CreateJob on PostgreSQL 15 (a throwaway cluster, fsync on) vs SQLite at 1 and 8 clients.

Every timed piece of work is checked (creates answered 201, jobs Finished, Slurm jobs printed
ok) or no figure is printed (``bench/verdict.py``). Nothing is asserted about speed.

    python bench/bench_baselines.py [--rounds 3] [--rows create,instances,chain,slurm,postgres]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_scaleout import create_rate as threaded_create_rate  # noqa: E402
from bench.bench_service import chain_overhead, many_instances, spawn_loop  # noqa: E402
from bench.slurm_local import LocalSlurm, ensure_installed  # noqa: E402
from bench.verdict import FailedRun, refuse_failed_runs, require, require_finished, require_statuses  # noqa: E402
from tests.service.jobspec import PARKED_CLUSTER, job, task  # noqa: E402
from tests.support.bcsd import free_port, start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def median(values: list[float]) -> float:
    return statistics.median(values)


# ---------------------------------------------------------------- row 1: CreateJob vs baselines


@dataclass
class Server:
    """A create server on 127.0.0.1, the body its creates post, and how to stop it (by PID)."""

    url: str
    pid: int
    key_id: str
    secret: str
    body: dict
    stop: Callable[[], None]


def bcsd_server(tmp: Path) -> Server:
    proc = start_bcsd(tmp, max_job_count=10**7)
    with SignedClient(proc.url, proc.key_id, proc.secret) as client:
        r = client.post("/clusters", PARKED_CLUSTER)
        require(r.status_code == 201, f"the parked cluster was refused: {r.status_code}")
        body = job({"a": task("true", cluster_id=r.json()["Id"])})
    return Server(proc.url, proc.pid, proc.key_id, proc.secret, body, proc.stop)


def baseline_server(tmp: Path, app: str, body: dict) -> Server:
    """``bench.baseline_app:<app>`` under uvicorn (httptools + uvloop, no access log, as bcsd)."""
    port, key_id, secret = free_port(), "LTAIbench", "s" + os.urandom(12).hex()
    env = {**os.environ, "BASELINE_DB": str(tmp / f"{app}.db"), "BCS_ACCESS_KEY_ID": key_id,
           "BCS_ACCESS_KEY_SECRET": secret, "PYTHONPATH": str(ROOT)}  # fmt: skip
    log = open(tmp / f"{app}.log", "ab")  # noqa: SIM115 - the child owns it
    argv = [sys.executable, "-m", "uvicorn", f"bench.baseline_app:{app}", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with SignedClient(url, key_id, secret) as c:
                if c.post("/jobs", body).status_code == 201:
                    break
        except httpx.TransportError:  # not listening yet
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            raise FailedRun(f"baseline {app} did not answer 201: {(tmp / f'{app}.log').read_text()[-500:]}")
        time.sleep(0.1)
    return Server(url, proc.pid, key_id, secret, body, stop)


def _creates(url: str, key: str, secret: str, body: dict, n: int) -> list[tuple[float, int]]:
    with SignedClient(url, key, secret) as client:
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            status = client.post("/jobs", body).status_code
            out.append((time.perf_counter() - t0, status))
        return out


def create_round(pool: ProcessPoolExecutor, server: Server, total: int, clients: int) -> tuple[float, ...]:
    """(creates/s, p50 s, p99 s, server CPU s per create) of ``total`` creates from ``clients``."""
    args = [(server.url, server.key_id, server.secret, server.body, total // clients)] * clients
    list(pool.map(_creates, *zip(*[(*a[:4], 5) for a in args], strict=True)))  # warm up
    cpu0, t0 = cpu_s(server.pid), time.perf_counter()
    results = [x for part in pool.map(_creates, *zip(*args, strict=True)) for x in part]
    elapsed, cpu = time.perf_counter() - t0, cpu_s(server.pid) - cpu0
    n = require_statuses((s for _, s in results), 201, "creates")
    lat = sorted(x for x, _ in results)
    return n / elapsed, lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))], cpu / n


def row_create(tmp: Path, rounds: int, total: int, clients: int) -> None:
    bcsd = bcsd_server(tmp / "bcsd")
    servers = {"bcsd": bcsd}
    try:
        servers["FastAPI one route"] = baseline_server(tmp, "fastapi_app", bcsd.body)
        servers["bare ASGI"] = baseline_server(tmp, "asgi_app", bcsd.body)
        figures: dict[str, list[tuple[float, ...]]] = {name: [] for name in servers}
        with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in range(rounds):
                for name, server in servers.items():
                    figures[name].append(create_round(pool, server, total, clients))
    finally:
        for server in servers.values():
            server.stop()
    med = {name: [median([r[i] for r in runs]) for i in range(4)] for name, runs in figures.items()}
    print(f"1. CreateJob, {clients} client processes, {total} creates per round, median of {rounds}:")
    for name, (rate, p50, p99, cpu) in med.items():
        print(f"   {name:18} {rate:7.0f}/s  p50 {p50 * 1e3:6.2f} ms  p99 {p99 * 1e3:6.2f} ms  "
              f"server CPU {cpu * 1e3:5.2f} ms/create")  # fmt: skip
    b = med["bcsd"]
    for name in ("FastAPI one route", "bare ASGI"):
        base = med[name]
        print(f"   bcsd / {name}: throughput x{b[0] / base[0]:.2f}, CPU per create x{b[3] / base[3]:.1f}")


# ---------------------------------------------------------------- rows 2-4 on one bcsd


def hundred_jobs(client: SignedClient, n: int = 100) -> float:
    """Seconds from the first of ``n`` one-instance jobs of ``true`` created to the last Finished."""
    t0 = time.perf_counter()
    ids = [client.create_job(job({"a": task("true")})) for _ in range(n)]
    for job_id in ids:
        require_finished(client.wait_job(job_id, timeout=600))
    return time.perf_counter() - t0


def rows_bcsd(tmp: Path, rounds: int, instances: int, rows: set[str]) -> dict[str, float]:
    spawn: list[float] = []
    inst: list[float] = []
    chain: list[tuple[float, float, float]] = []
    hundred: list[float] = []
    proc = start_bcsd(tmp / "run", max_job_count=10**7)
    try:
        with SignedClient(proc.url, proc.key_id, proc.secret) as client:
            for _ in range(rounds):
                spawn.append(spawn_loop(300))
                if "instances" in rows:
                    inst.append(many_instances(client, instances)[0])
                if "chain" in rows:
                    chain.append(chain_overhead(client, spawn[-1]))
                if "slurm" in rows:
                    hundred.append(hundred_jobs(client))
    finally:
        proc.stop()
    s = median(spawn)
    if inst:
        rate = median(inst)
        print(f"2. {instances} trivial instances, median of {rounds}: {rate:.0f}/s; sequential "
              f"subprocess.run(['true']) {1 / s:.0f}/s; ratio x{rate * s:.2f}")  # fmt: skip
    if chain:
        over, gap = median([c[1] for c in chain]), median([c[2] for c in chain])
        print(f"3. 16-task chain of `true`, median of {rounds}: {over * 1e3:.2f} ms per transition beyond "
              f"a bare spawn (scheduler's share {gap * 1e3:.2f} ms); bare spawn {s * 1e3:.2f} ms; "
              f"x{over / s:.1f} a spawn")  # fmt: skip
    return {"hundred": median(hundred)} if hundred else {}


def slurm_seconds(tmp: Path, jobs: int = 100) -> float | str:
    """Seconds a throwaway Slurm takes for ``jobs`` trivial jobs, or why it cannot run here."""
    why = ensure_installed()
    if why:
        return why
    slurm = LocalSlurm(tmp / "slurm")
    try:
        slurm.start()
        return slurm.sbatch_many(jobs)
    except RuntimeError as failed:
        raise FailedRun(f"Slurm baseline: {failed}") from None
    finally:
        slurm.stop()


def row_slurm(tmp: Path, bcsd_s: float) -> None:
    took = slurm_seconds(tmp)
    if isinstance(took, str):
        print(f"4. 100 trivial jobs vs Slurm: skipped, {took}; bcsd alone {bcsd_s:.2f} s")
        return
    print(f"4. 100 trivial jobs end to end: bcsd {bcsd_s:.2f} s (median); Slurm 22.05 tuned, one round "
          f"{took:.1f} s; Slurm/bcsd x{took / bcsd_s:.0f}")


# ---------------------------------------------------------------- row 5: PostgreSQL vs SQLite


def row_postgres(tmp: Path, rounds: int, creates: int) -> None:
    pg = start_postgres(durable=True)
    procs = []
    try:
        sqlite = start_bcsd(tmp / "sqlite", max_job_count=10**7)
        procs.append(sqlite)
        postgres = start_bcsd(tmp / "pg", database_url=pg.create_database("bench"), max_job_count=10**7)
        procs.append(postgres)
        rates: dict[tuple[str, int], list[float]] = {}
        for _ in range(rounds):
            for threads in (1, 8):
                for name, proc in (("SQLite", sqlite), ("PostgreSQL", postgres)):
                    rates.setdefault((name, threads), []).append(threaded_create_rate(proc, creates, threads))
    finally:
        for p in procs:
            p.stop()
        pg.stop()
    print(f"5. CreateJob on PostgreSQL 15 (fsync on) vs SQLite, {creates} creates per row, "
          f"median of {rounds}:")
    for threads in (1, 8):
        s, p = median(rates[("SQLite", threads)]), median(rates[("PostgreSQL", threads)])
        print(f"   {threads} client(s): PostgreSQL {p:.0f}/s, SQLite {s:.0f}/s; x{p / s:.2f}")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--rows", default="create,instances,chain,slurm,postgres")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--creates", type=int, default=1200)
    p.add_argument("--instances", type=int, default=2000)
    p.add_argument("--pg-creates", type=int, default=160)
    args = p.parse_args()
    rows = set(args.rows.split(","))
    print("shared 2-core machine: absolute figures are noisy; compare the same-run ratios", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-baselines-") as tmpdir:
        tmp = Path(tmpdir)
        if "create" in rows:
            row_create(tmp / "create", args.rounds, args.creates, args.clients)
        if rows & {"instances", "chain", "slurm"}:
            found = rows_bcsd(tmp / "bcsd", args.rounds, args.instances, rows)
            if "slurm" in rows:
                row_slurm(tmp, found["hundred"])
        if "postgres" in rows:
            row_postgres(tmp / "pg", args.rounds, args.pg_creates)
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
