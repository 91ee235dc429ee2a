"""Executors: instances/s and launch→process-start latency, side by side in one run.

Rows: a bare ``subprocess`` spawn loop (baseline), ``LocalExecutor`` with instances confined by
bwrap and by cgroup/rlimit limits (the default where bwrap works) and with limits only
(``--isolation none``), raw Dask ``client.submit`` of the same trivial command, and
``DaskExecutor`` (a real scheduler + 2 workers on 127.0.0.1, bwrap on the workers).
Throughput: N trivial instances (``true``) launched at once until all exited. Latency: one
instance at a time on an idle executor, launch call → ``InstanceStarted.at`` (process exists).
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.verdict import FailedRun, refuse_failed_runs  # noqa: E402
from service.executors.base import (  # noqa: E402
    ExecutorEvent,
    InstanceExited,
    InstanceKey,
    InstanceLaunch,
    InstanceStarted,
)
from service.executors.dask import DaskExecutor  # noqa: E402
from service.executors.isolation import Isolation, IsolationMode, probe  # noqa: E402
from service.executors.local import LocalExecutor  # noqa: E402
from tests.service.dask_cluster import DaskCluster  # noqa: E402


def launch_of(
    i: int, root: Path, task: str, mode: IsolationMode, vms: int = 0, count: int = 1
) -> InstanceLaunch:
    """``vms`` > 0: instance ``i`` of a ``count``-instance task runs on VM slot ``i % vms``."""
    return InstanceLaunch(
        key=InstanceKey("job-bench", task, i, 0),
        command_line="true",
        package_path="",
        env={},
        input_mapping={},
        output_mapping={},
        log_mapping={},
        stdout_dir="",
        stderr_dir="",
        timeout_s=600,
        sandbox_root=str(root),
        cluster_id="",
        vm_id=f"vm-{i % vms}" if vms else "",
        isolation=Isolation(mode=mode),
        instances_per_vm=-(-count // vms) if vms else 1,
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def bare_subprocess(n: int) -> tuple[float, list[float]]:
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        proc = subprocess.Popen(["true"], start_new_session=True)
        lat.append(time.perf_counter() - s)
        proc.wait()
    return n / (time.perf_counter() - t0), lat


class Collector:
    def __init__(self) -> None:
        self.started: dict[InstanceKey, datetime] = {}
        self.exited: dict[InstanceKey, InstanceExited] = {}
        self.changed = asyncio.Event()

    async def __call__(self, event: ExecutorEvent) -> None:
        if isinstance(event, InstanceStarted):
            self.started[event.key] = event.at
        elif isinstance(event, InstanceExited):
            self.exited[event.key] = event
        self.changed.set()

    async def until(self, predicate) -> None:
        while not predicate():
            self.changed.clear()
            await self.changed.wait()


async def measure_executor(
    make, n_throughput: int, n_latency: int, root: Path, mode: IsolationMode, vms: int = 0
) -> tuple[float, list[float]]:
    """``vms`` > 0: the launches of one task go to that many VM slots, each slot's next instance
    launched when its previous one exited (as the scheduler does), so VM sandboxes are reused."""
    col = Collector()
    ex = make(col)
    await ex.start()
    try:
        lat = []
        for i in range(n_latency):  # idle: one at a time (on one VM slot when vms > 0)
            launch = launch_of(i * max(vms, 1), root, "lat", mode, vms, n_latency * max(vms, 1))
            t = datetime.now(UTC)
            await ex.launch(launch)
            await col.until(lambda k=launch.key: k in col.exited)
            lat.append((col.started[launch.key] - t).total_seconds())
        launches = [launch_of(i, root, "tput", mode, vms, n_throughput) for i in range(n_throughput)]
        t0 = time.perf_counter()
        if vms:
            queues = [launches[v::vms] for v in range(vms)]
            running = {q.pop(0).key: v for v, q in enumerate(queues) if q}
            for key in running:
                await ex.launch(launches[key.instance_id])
            while running:
                await col.until(lambda: any(k in col.exited for k in running))
                for key in [k for k in running if k in col.exited]:
                    v = running.pop(key)
                    if queues[v]:
                        nxt = queues[v].pop(0)
                        running[nxt.key] = v
                        await ex.launch(nxt)
        else:
            for launch in launches:
                await ex.launch(launch)
        await col.until(lambda: all(la.key in col.exited for la in launches))
        rate = n_throughput / (time.perf_counter() - t0)
        bad = [e for k, e in col.exited.items() if not e.succeeded]
        if bad:
            raise FailedRun(f"{len(bad)} attempts failed, e.g. {bad[0].error_code} {bad[0].error_message}")
        return rate, lat
    finally:
        await ex.close()


def _run_true(submitted_at: float) -> float:
    started = time.time()
    subprocess.run(["true"], check=True)
    return started - submitted_at


async def raw_dask(address: str, n_throughput: int, n_latency: int) -> tuple[float, list[float]]:
    from distributed import Client

    async with Client(address, asynchronous=True) as client:
        lat = [await client.submit(_run_true, time.time(), pure=False) for _ in range(n_latency)]
        t0 = time.perf_counter()
        futures = [client.submit(_run_true, time.time(), pure=False) for _ in range(n_throughput)]
        await client.gather(futures)
        return n_throughput / (time.perf_counter() - t0), lat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=400, help="instances for throughput")
    parser.add_argument("--latency-n", type=int, default=40, help="one-at-a-time launches for latency")
    args = parser.parse_args()
    rows: list[tuple[str, float, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-exec-") as tmp:
        root = Path(tmp)
        rows.append(("bare subprocess loop", *bare_subprocess(args.n)))
        sandboxed: IsolationMode = "bwrap" if not probe() else "none"
        if sandboxed == "none":
            print(f"note: no bwrap sandbox here ({probe()}): the bwrap rows run unconfined")
        local = measure_executor(LocalExecutor, args.n, args.latency_n, root / "local", sandboxed)
        rows.append(("LocalExecutor, bwrap+limits", *asyncio.run(local)))
        local = measure_executor(LocalExecutor, args.n, args.latency_n, root / "local-vm", sandboxed, vms=16)
        rows.append(("  same, one task on 16 VMs", *asyncio.run(local)))
        local = measure_executor(LocalExecutor, args.n, args.latency_n, root / "local-none", "none")
        rows.append(("LocalExecutor, limits only", *asyncio.run(local)))
        cluster = DaskCluster(root / "dask")
        cluster.workdir.mkdir()
        try:
            cluster.start_scheduler()
            cluster.start_worker("w1", "CPU=4,MEMORY=8e9")
            cluster.start_worker("w2", "CPU=4,MEMORY=8e9")
            cluster.wait_for_workers({"w1", "w2"})
            raw = raw_dask(cluster.address, args.n, args.latency_n)
            rows.append(("raw dask client.submit", *asyncio.run(raw)))
            dask = measure_executor(
                lambda sink: DaskExecutor(sink, cluster.address),
                args.n,
                args.latency_n,
                root / "dask-sb",
                sandboxed,
            )
            rows.append(("DaskExecutor (2 workers)", *asyncio.run(dask)))
        finally:
            cluster.stop()
    base_rate = rows[0][1]
    print(f"N={args.n} trivial instances ('true'); latency over {args.latency_n} idle launches")
    print(f"{'executor':28} {'inst/s':>9} {'x bare':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for name, rate, lat in rows:
        p50, p99 = pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3
        print(f"{name:28} {rate:9.1f} {rate / base_rate:7.2f} {p50:8.2f} {p99:8.2f}")
    print("latency: bare = Popen call; executors = launch() -> InstanceStarted.at;")
    print("         raw dask = submit -> task start on the worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
