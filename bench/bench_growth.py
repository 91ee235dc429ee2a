"""Flat as the store grows (issue 16, item 3): the same operations with 1k, 10k and 100k jobs
already stored (all but a handful Finished), and bcsd's memory as finished jobs accumulate.

Per store size, on one SQLite data dir grown step by step (``bench/seed_store.py`` copies one
real finished job through the store's tables while bcsd is stopped, then bcsd restarts on it):
- CreateJob throughput: ``--clients`` client processes posting signed creates to a VM-less
  cluster (the jobs wait, so this is the create path alone);
- one scheduler turn: the mean of ``bcsd_scheduler_turn_duration_seconds`` over the turns of
  ``--chains`` sequential one-instance jobs of ``true`` run to Finished (their wall time too);
- GetJob of a random stored job, and ListJobs pages (first page; ``State=Finished``; a page
  found by a Marker in the middle of the store): p50 over sequential requests;
- bcsd's RSS after restart and after the operations.
Then, in one bcsd life, RSS after every ``--rss-step`` trivial jobs run to Finished.
The baseline of each figure is the same figure at the smallest size in the same run: the ratio
100k/1k is the growth (1.00 = flat). Printed, never asserted.

    python bench/bench_growth.py [--sizes 1000,10000,100000] [--clients 4] [--creates 400]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.seed_store import clone_finished_job, stored_jobs  # noqa: E402
from bench.verdict import refuse_failed_runs, require, require_finished, require_statuses  # noqa: E402
from tests.service.jobspec import PARKED_CLUSTER, job, task  # noqa: E402
from tests.support.bcsd import BcsdProcess, start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident set of a process, from /proc (VmRSS, kB)."""
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024  # type: ignore[union-attr]


def turn_totals(client: SignedClient) -> tuple[float, float]:
    """(sum of seconds, count) of the scheduler-turn histogram at /metrics."""
    text = client.get("/metrics").text
    pattern = re.compile(r"^bcsd_scheduler_turn_duration_seconds_(sum|count) (\S+)$", re.M)
    found = {m.group(1): float(m.group(2)) for m in pattern.finditer(text)}
    return found.get("sum", 0.0), found.get("count", 0.0)


def p50_ms(fn, n: int) -> float:  # noqa: ANN001
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out) * 1000


def _creates(url: str, key: str, secret: str, body: dict, n: int) -> list[int]:
    with SignedClient(url, key, secret) as client:
        return [client.post("/jobs", body).status_code for _ in range(n)]


def create_rate(proc: BcsdProcess, cluster_id: str, total: int, clients: int) -> float:
    """Signed creates per second from ``clients`` processes (spawned: their uuid1 nonces must differ)."""
    body = job({"a": task("true", cluster_id=cluster_id)})
    args = (proc.url, proc.key_id, proc.secret, body)
    with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_creates, *zip(*[(*args, 3)] * clients, strict=True)))  # warm up
        t0 = time.perf_counter()
        parts = pool.map(_creates, *zip(*[(*args, total // clients)] * clients, strict=True))
        statuses = [s for part in parts for s in part]
        elapsed = time.perf_counter() - t0
    return require_statuses(statuses, 201, "CreateJob requests") / elapsed


def run_trivial(client: SignedClient, n: int) -> list[float]:
    """Wall seconds of ``n`` one-instance jobs of ``true``, one after another, each Finished."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        job_id = client.create_job(job({"a": task("true")}))
        require_finished(client.wait_job(job_id, timeout=120))
        out.append(time.perf_counter() - t0)
    return out


def measure(proc: BcsdProcess, cluster_id: str, ids: list[str], args: argparse.Namespace) -> dict[str, float]:
    client = SignedClient(proc.url, proc.key_id, proc.secret)
    try:
        fig: dict[str, float] = {"RSS after start, MB": rss_mb(proc.pid)}
        pick = random.Random(7)

        def get_job() -> None:
            r = client.get(f"/jobs/{pick.choice(ids)}")
            require(r.status_code == 200, f"GetJob answered {r.status_code}")

        def page(params: dict) -> None:
            r = client.get("/jobs", {"MaxItemCount": 50, **params})
            full = r.status_code == 200 and len(r.json()["Items"]) == 50
            require(full, f"ListJobs answered {r.status_code}, not a page of 50")

        middle = client.get("/jobs", {"MaxItemCount": 100}).json()["Items"][-1]["Id"]
        fig["GetJob p50, ms"] = p50_ms(get_job, args.reads)
        fig["ListJobs first page (50) p50, ms"] = p50_ms(lambda: page({}), args.reads // 2)
        finished = {"State": "Finished"}
        fig["ListJobs State=Finished page p50, ms"] = p50_ms(lambda: page(finished), args.reads // 2)
        fig["ListJobs page by Marker p50, ms"] = p50_ms(lambda: page({"Marker": middle}), args.reads // 2)

        def on_cluster() -> None:  # the jobs of one named cluster: few, among every stored job
            r = client.get("/jobs", {"MaxItemCount": 50, "ClusterId": cluster_id})
            require(r.status_code == 200, f"ListJobs ClusterId answered {r.status_code}")

        fig["ListJobs ClusterId=<cluster> p50, ms"] = p50_ms(on_cluster, args.reads // 2)
        s0, c0 = turn_totals(client)
        walls = run_trivial(client, args.chains)
        s1, c1 = turn_totals(client)
        require(c1 > c0, "no scheduler turn was observed")
        fig["scheduler turn mean, ms"] = (s1 - s0) / (c1 - c0) * 1000
        fig["1-instance job create->Finished p50, ms"] = statistics.median(walls) * 1000
        fig["CreateJob /s"] = create_rate(proc, cluster_id, args.creates, args.clients)
        fig["RSS after the operations, MB"] = rss_mb(proc.pid)
        return fig
    finally:
        client.close()


def rss_as_jobs_finish(tmp: Path, steps: int, per_step: int) -> list[tuple[int, float]]:
    """RSS of one bcsd after every ``per_step`` trivial jobs (8 in flight) have Finished."""
    proc = start_bcsd(tmp, isolation="none", max_job_count=10**7)
    out = []
    try:
        with SignedClient(proc.url, proc.key_id, proc.secret) as client:
            run_trivial(client, 20)  # warm: imports, pools, caches
            out.append((0, rss_mb(proc.pid)))
            for step in range(1, steps + 1):
                pending = [client.create_job(job({"a": task("true")})) for _ in range(per_step)]
                for job_id in pending:
                    require_finished(client.wait_job(job_id, timeout=600))
                out.append((step * per_step, rss_mb(proc.pid)))
    finally:
        proc.stop()
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--creates", type=int, default=400)
    p.add_argument("--reads", type=int, default=200)
    p.add_argument("--chains", type=int, default=20)
    p.add_argument("--rss-steps", type=int, default=4)
    p.add_argument("--rss-step", type=int, default=500)
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-growth-") as tmpdir:
        tmp = Path(tmpdir)
        # --isolation none: the figures are about the store and the scheduler, not the sandbox
        proc = start_bcsd(tmp, isolation="none", max_job_count=10**7)
        url = f"sqlite:///{proc.data_dir / 'bcsd.db'}"
        try:
            with SignedClient(proc.url, proc.key_id, proc.secret) as client:
                r = client.post("/clusters", PARKED_CLUSTER)
                require(r.status_code == 201, f"the parked cluster was refused: {r.status_code}")
                cluster_id = r.json()["Id"]
                template = client.create_job(job({"a": task("true")}))
                require_finished(client.wait_job(template, timeout=60), "the template job")
            for size in sizes:
                proc.stop()
                have = stored_jobs(url)
                took = clone_finished_job(url, template, max(0, size - have))
                print(f"seeded {size - have} copies of a finished job in {took:.1f} s (store: {size} jobs)",
                      flush=True)
                proc.restart()
                with SignedClient(proc.url, proc.key_id, proc.secret) as client:
                    ids = [j["Id"] for j in client.get("/jobs", {"MaxItemCount": 100,
                           "State": "Finished"}).json()["Items"]]  # fmt: skip
                results[size] = measure(proc, cluster_id, ids, args)
                print(f"  {size}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[size].items()), flush=True)
        finally:
            proc.stop()
        rss = rss_as_jobs_finish(tmp / "rss", args.rss_steps, args.rss_step)
    small, large = sizes[0], sizes[-1]
    print(f"\nstore of N jobs (SQLite, all but the bench's own Finished); growth = figure at N / at {small}")
    print(f"{'figure':42}" + "".join(f"{n:>10}" for n in sizes) + f"{'growth':>9}")
    for name in results[small]:
        row = [results[n][name] for n in sizes]
        print(f"{name:42}" + "".join(f"{v:10.2f}" for v in row) + f"{row[-1] / row[0]:9.2f}x")
    print(f"(growth {large}/{small}; for CreateJob /s below 1.00 means slower, for the rest above 1.00 does)")
    print("\nbcsd RSS as finished jobs accumulate in one process (trivial 1-instance jobs):")
    for done, mb in rss:
        print(f"  after {done:5d} finished: {mb:7.1f} MB")
    first, last = rss[0], rss[-1]
    per_job = (last[1] - first[1]) * 1024 / max(1, last[0] - first[0])
    print(f"  growth {last[1] / first[1]:.2f}x over {last[0]} jobs ({per_job:.2f} kB per finished job)")
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
