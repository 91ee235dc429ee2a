"""Scale-out figures, measured side by side in one run, end to end through ``bcsd``:

1. create-job throughput, bcsd on SQLite vs bcsd on PostgreSQL (server defaults, fsync on):
   signed requests from the same client, one client and 8 concurrent clients; the jobs target
   a named cluster with 0 VMs so nothing runs while we measure the API + validation + commit.
2. instances/s (one job of N trivial ``true`` instances, create -> Finished) and
   create-to-start latency (POST -> the instance's process writes its clock, idle service)
   for bcsd + local executor, bcsd + Dask executor (scheduler + 2 workers on 127.0.0.1), beside
   raw ``client.submit`` of the same trivial command on the same Dask cluster.

Printed, never asserted. Executor-level figures (no HTTP, no store) are in bench_executors.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# the Dask scheduler and workers unpickle raw_dask's task function from bench/: let them import it
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)

from bench.bench_executors import raw_dask  # noqa: E402
from bench.verdict import refuse_failed_runs, require, require_finished, require_statuses  # noqa: E402
from tests.service.dask_cluster import DaskCluster  # noqa: E402
from tests.service.jobspec import job, task  # noqa: E402
from tests.support.bcsd import BcsdProcess, instance_scratch, start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402
from tests.support.postgres import start_postgres  # noqa: E402

CLUSTER = {
    "Name": "parked",
    "Description": "no VMs: jobs wait, nothing runs",
    "ImageId": "img-ubuntu",
    "InstanceType": "ecs.sn1.medium",
    "Groups": {"group1": {"DesiredVMCount": 0, "InstanceType": "ecs.sn1.medium", "ResourceType": "OnDemand"}},
    "UserData": {},
}


def client_of(proc: BcsdProcess) -> SignedClient:
    return SignedClient(proc.url, proc.key_id, proc.secret)


def create_rate(proc: BcsdProcess, n: int, threads: int) -> float:
    """Jobs created per second with ``threads`` concurrent signed clients."""
    setup = client_of(proc)
    r = setup.post("/clusters", CLUSTER)
    require(r.status_code == 201, f"the parked cluster was refused: {r.status_code} {r.text[:200]}")
    spec = job({"a": task("true", cluster_id=r.json()["Id"])})
    setup.close()
    clients = [client_of(proc) for _ in range(threads)]
    per = n // threads

    def run(c: SignedClient) -> list[int]:
        return [c.post("/jobs", spec).status_code for _ in range(per)]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        statuses = [s for part in pool.map(run, clients) for s in part]
    elapsed = time.perf_counter() - t0
    for c in clients:
        c.close()
    return require_statuses(statuses, 201, "CreateJob requests") / elapsed


def latency_ms(proc: BcsdProcess, marks: Path, n: int) -> list[float]:
    """POST /jobs -> the instance's process has started (it writes its own clock)."""
    c = client_of(proc)
    out = []
    for i in range(n):
        mark = marks / f"{proc.port}-{i}"
        spec = job({"a": task(f"sh -c 'date +%s.%N > {mark}'")})
        t = time.time()
        job_id = c.create_job(spec)
        deadline = time.monotonic() + 60
        while not mark.exists() or not mark.read_text().strip():
            require(time.monotonic() < deadline, f"job {job_id}'s instance never started: {c.job(job_id)}")
            time.sleep(0.002)
        out.append((float(mark.read_text()) - t) * 1e3)
    c.close()
    return out


def instances_per_s(proc: BcsdProcess, n: int) -> float:
    c = client_of(proc)
    t0 = time.perf_counter()
    job_id = c.create_job(job({"a": task("true", count=n)}))
    body = c.wait_job(job_id, timeout=600)
    elapsed = time.perf_counter() - t0
    c.close()
    require_finished(body, f"the {n}-instance throughput job")
    return n / elapsed


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=400, help="jobs per create-throughput row")
    parser.add_argument("--n", type=int, default=200, help="instances in the throughput job")
    parser.add_argument("--latency-n", type=int, default=15, help="idle create-to-start samples")
    args = parser.parse_args()
    procs: list[BcsdProcess] = []
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as tmp:
        root = Path(tmp)
        pg = start_postgres(durable=True)
        cluster = DaskCluster(root / "dask")
        cluster.workdir.mkdir()
        try:
            cluster.start_scheduler()
            cluster.start_worker("w1", "CPU=4,MEMORY=8e9")
            cluster.start_worker("w2", "CPU=4,MEMORY=8e9")
            cluster.wait_for_workers({"w1", "w2"})
            big = {"max_job_count": 10_000_000}
            sqlite = start_bcsd(root / "sqlite", **big)
            procs.append(sqlite)
            postgres = start_bcsd(root / "pg", database_url=pg.create_database("bench"), **big)
            procs.append(postgres)
            creates = {
                (name, threads): create_rate(proc, args.creates, threads)
                for name, proc in (("SQLite", sqlite), ("PostgreSQL", postgres))
                for threads in (1, 8)
            }
            for p in procs:
                p.stop()
            local = start_bcsd(root / "local")
            procs.append(local)
            dask = start_bcsd(root / "dask-bcsd", executor="dask", dask_scheduler=cluster.address)
            procs.append(dask)
            # a folder sandboxed instances may write (bcsd's --isolation-rw-path): under bwrap an
            # instance sees nothing else of this machine's /tmp, and its clock would never land
            marks = Path(tempfile.mkdtemp(dir=instance_scratch()))
            marks.chmod(0o1777)
            runs = {}
            for name, proc in (("bcsd + local executor", local), ("bcsd + Dask executor", dask)):
                lat = latency_ms(proc, marks, args.latency_n)
                runs[name] = (instances_per_s(proc, args.n), lat)
            rate, raw_lat = asyncio.run(raw_dask(cluster.address, args.n, args.latency_n))
            runs["raw dask client.submit"] = (rate, [x * 1e3 for x in raw_lat])
        finally:
            for p in procs:
                p.stop()
            cluster.stop()
            pg.stop()
    print(f"create-job throughput ({args.creates} signed creates per row, durable commit each)")
    print(f"{'store':12} {'clients':>7} {'jobs/s':>9} {'x SQLite':>9}")
    for (name, threads), rate in creates.items():
        print(f"{name:12} {threads:7d} {rate:9.1f} {rate / creates[('SQLite', threads)]:9.2f}")
    print()
    print(f"{args.n} trivial instances in one job (create -> Finished); start latency over {args.latency_n}")
    print(f"{'path':26} {'inst/s':>8} {'x raw':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    raw_rate = runs["raw dask client.submit"][0]
    for name, (rate, lat) in runs.items():
        p50, p99, mean = pct(lat, 0.5), pct(lat, 0.99), statistics.fmean(lat)
        print(f"{name:26} {rate:8.1f} {rate / raw_rate:7.2f} {p50:8.2f} {p99:8.2f} {mean:8.2f}")
    print("latency: bcsd rows = POST /jobs -> process start; raw = submit -> task start on the worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
