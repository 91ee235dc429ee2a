"""bcsd: create-job throughput and latency, create→process-start latency, per-transition
overhead on a 16-task chain, instances/s for many trivial instances — each beside a baseline
measured in the same run (bare subprocess spawn loop, bare SQLite commit loop). Prints, never
asserts. Goals (issue 3): ≥1,000 creates/s, p50 create-to-start < 20 ms, < 5 ms per transition.

    python bench/bench_service.py [--instances 10000] [--creates 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.verdict import FailedRun, refuse_failed_runs, require, require_finished, require_statuses  # noqa: E402
from tests.support.bcsd import instance_scratch, start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402


def ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() if text else 0.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# ------------------------------------------------------------------ baselines


def spawn_loop(n: int) -> float:
    """Seconds per bare ``subprocess.run(["true"])``."""
    started = time.perf_counter()
    for _ in range(n):
        subprocess.run(["true"], check=True)
    return (time.perf_counter() - started) / n


def sqlite_commit_loop(n: int, path: Path) -> float:
    """Seconds per one-row commit, WAL + synchronous=NORMAL (the store's settings)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    started = time.perf_counter()
    for i in range(n):
        db.execute("INSERT INTO t (body) VALUES (?)", (json.dumps({"i": i}),))
        db.commit()
    elapsed = (time.perf_counter() - started) / n
    db.close()
    return elapsed


# ------------------------------------------------------------------ bodies


def trivial_task(command: str, *, count: int = 1, cluster_id: str = "") -> dict:
    body: dict = {
        "InstanceCount": count,
        "Timeout": 3600,
        "Parameters": {"Command": {"CommandLine": command, "PackagePath": ""}},
    }
    if cluster_id:
        body["ClusterId"] = cluster_id
    else:
        body["AutoCluster"] = {"InstanceType": "ecs.sn1.medium", "ImageId": "img-ubuntu"}
    return body


def job(tasks: dict, deps: dict | None = None) -> dict:
    return {"Name": "bench", "Type": "DAG", "Priority": 0, "JobFailOnInstanceFail": True,
            "DAG": {"Tasks": tasks, "Dependencies": deps or {}}}  # fmt: skip


# ------------------------------------------------------------------ measurements


def _create_worker(url: str, key: str, secret: str, body: dict, n: int) -> list[tuple[float, int]]:
    """(latency, status) of ``n`` sequential signed creates."""
    client = SignedClient(url, key, secret)
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post("/jobs", body)
        out.append((time.perf_counter() - t0, r.status_code))
    client.close()
    return out


def create_throughput(url: str, key: str, secret: str, cluster_id: str, total: int, clients: int) -> tuple:
    """``clients`` client processes (not threads: the client's own signing and HTTP work must not
    share one GIL) posting signed CreateJob requests."""
    body = job({"a": trivial_task("true", cluster_id=cluster_id)})
    per = total // clients
    # spawn, not fork: forked clients share libuuid's in-process clock state, so their uuid1
    # signature nonces can collide and the server rightly refuses the replay
    with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_create_worker, *zip(*[(url, key, secret, body, 5)] * clients, strict=True)))  # warm up
        started = time.perf_counter()
        results = list(
            pool.map(_create_worker, *zip(*[(url, key, secret, body, per)] * clients, strict=True))
        )
        elapsed = time.perf_counter() - started
    require_statuses((s for part in results for _, s in part), 201, "CreateJob requests")
    latencies = [x for part in results for x, _ in part]
    return len(latencies) / elapsed, pct(latencies, 50), pct(latencies, 99)


def finished(client: SignedClient, job_id: str, timeout: float) -> dict:
    try:
        return require_finished(client.wait_job(job_id, timeout=timeout))
    except TimeoutError as late:
        raise FailedRun(str(late)) from None


def create_to_start(client: SignedClient, samples: int) -> list[float]:
    out = []
    stamps = Path(tempfile.mkdtemp(dir=instance_scratch()))  # a folder sandboxed instances may write
    stamps.chmod(0o1777)
    for i in range(samples):
        stamp = stamps / f"start-{i}"
        t0 = time.time()
        job_id = client.create_job(job({"a": trivial_task(f"sh -c 'date +%s.%N > {stamp}'")}))
        finished(client, job_id, 60)
        out.append(float(stamp.read_text()) - t0)
    return out


def chain_overhead(client: SignedClient, spawn_s: float) -> tuple[float, float, float]:
    """(create->end, per-task overhead beyond a bare spawn, mean scheduler gap), where the gap is
    upstream EndTime -> downstream StartTime from the API's own timestamps (bcsd's share of a
    transition; the rest of the overhead is the executor's sandbox/runner)."""
    names = [f"t{i:02d}" for i in range(16)]
    body = job({n: trivial_task("true") for n in names}, {names[i]: [names[i + 1]] for i in range(15)})
    job_id = client.create_job(body)
    done = finished(client, job_id, 120)
    total = ts(done["EndTime"]) - ts(done["CreationTime"])
    tasks = {
        t["TaskName"]: t for t in client.get(f"/jobs/{job_id}/tasks", {"MaxItemCount": 100}).json()["Items"]
    }
    gaps = [
        ts(tasks[b]["StartTime"]) - ts(tasks[a]["EndTime"]) for a, b in zip(names, names[1:], strict=False)
    ]
    return total, total / 16 - spawn_s, statistics.mean(gaps)


def many_instances(client: SignedClient, count: int) -> tuple[float, float]:
    job_id = client.create_job(job({"a": trivial_task("true", count=count)}))
    done = finished(client, job_id, 3600)
    elapsed = ts(done["EndTime"]) - ts(done["CreationTime"])
    return count / elapsed, elapsed


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--instances", type=int, default=int(os.environ.get("BENCH_INSTANCES", "10000")))
    p.add_argument("--creates", type=int, default=2000)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        spawn_s = spawn_loop(200)
        commit_s = sqlite_commit_loop(2000, tmp / "baseline.db")
        print(f"baseline: bare subprocess spawn   {spawn_s * 1000:7.2f} ms/spawn  ({1 / spawn_s:8.0f} /s)")
        print(f"baseline: bare SQLite commit      {commit_s * 1000:7.3f} ms/commit ({1 / commit_s:8.0f} /s)")
        bcsd = start_bcsd(tmp, max_job_count=10**7)
        client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
        try:
            # a cluster with no VMs: created jobs wait, so this measures the create path only
            r = client.post(
                "/clusters",
                {
                    "Name": "idle",
                    "ImageId": "img-ubuntu",
                    "InstanceType": "ecs.sn1.medium",
                    "Groups": {"g": {"DesiredVMCount": 0}},
                },
            )
            require(r.status_code == 201, f"the idle cluster was refused: {r.status_code} {r.text[:200]}")
            cluster_id = r.json()["Id"]
            rate, p50, p99 = create_throughput(
                bcsd.url, bcsd.key_id, bcsd.secret, cluster_id, args.creates, args.clients
            )
            print(
                f"create job: {rate:8.0f} creates/s with {args.clients} clients "
                "(signed, validated, committed); "
                f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms; "
                f"x{rate * commit_s:.2f} of bare SQLite commits/s (goal >= 1000/s)"
            )
            starts = create_to_start(client, 30)
            s50 = statistics.median(starts)
            print(
                f"create -> first process start (idle): p50 {s50 * 1000:.1f} ms, "
                f"p99 {pct(starts, 99) * 1000:.1f} ms; "
                f"bare spawn {spawn_s * 1000:.1f} ms, x{s50 / spawn_s:.1f} (goal p50 < 20 ms)"
            )
            total, overhead, gap = chain_overhead(client, spawn_s)
            print(
                f"16-task chain of `true`: {total * 1000:.0f} ms create->end; "
                f"overhead per task transition {overhead * 1000:.2f} ms beyond a bare spawn (goal < 5 ms), "
                f"of which scheduler gap (EndTime -> next StartTime) {gap * 1000:.2f} ms"
            )
            rate, elapsed = many_instances(client, args.instances)
            print(
                f"{args.instances} trivial instances: {rate:7.0f} instances/s ({elapsed:.1f} s); "
                f"bare sequential spawn {1 / spawn_s:.0f}/s, ratio x{rate * spawn_s:.2f}"
            )
        finally:
            client.close()
            bcsd.stop()
        isolation_cost(tmp, spawn_s, min(args.instances, 1000))


def isolation_cost(tmp: Path, spawn_s: float, count: int) -> None:
    """The same create->start and instances/s with bwrap (+ limits) and with --isolation none."""
    rows = []
    for mode in ("bwrap", "none"):
        bcsd = start_bcsd(tmp / mode, isolation=mode)
        client = SignedClient(bcsd.url, bcsd.key_id, bcsd.secret)
        try:
            starts = create_to_start(client, 20)
            rate, _ = many_instances(client, count)
            rows.append((mode, statistics.median(starts), pct(starts, 99), rate))
        finally:
            client.close()
            bcsd.stop()
    print(f"isolation cost ({count} trivial instances; create->start over 20 idle jobs):")
    for mode, p50, p99, rate in rows:
        print(
            f"  --isolation {mode:5}: create->start p50 {p50 * 1000:6.1f} ms, p99 {p99 * 1000:6.1f} ms; "
            f"{rate:6.0f} instances/s (x{rate * spawn_s:.2f} of a bare spawn)"
        )
    (_, b50, _, brate), (_, n50, _, nrate) = rows
    print(f"  bwrap vs none: create->start x{b50 / n50:.2f}, instances/s x{brate / nrate:.2f}")


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
