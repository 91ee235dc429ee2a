"""The floor of each issue-16 row: the work bcsd cannot avoid under its guarantees, measured from
its parts, beside the budget the row's goal allows; both against a baseline of the same run.

Rows (``--n`` starts per loop, ``--rounds`` rounds alternated, medians):
1. Process start: S = sequential ``subprocess.run(['true'])`` (the table's baseline); with ``perf``
   on PATH, the CPU of one exec of ``true`` spent in ld.so (``perf record -e cpu-clock``, by dso).
2. Confined start, the chain row's floor: M = ``bwrap --bind / / true``; P = the production start
   (``isolation.bwrap_argv`` + ``true`` in a real sandbox folder pair, spawned as
   ``runner._start`` spawns it, in the runner host's run-as user namespace); R = one whole
   attempt through ``runner.run_instance`` (bwrap + cgroup limits), and R0 the same under
   ``--isolation none`` (limits only). Loops are timed by wall clock (S, M and P are CPU-bound;
   R also waits, e.g. for a busy cgroup's rmdir) and, with ``perf``, by ``perf stat -e
   task-clock`` of a child running the same loop, counting only the loop (``--control``).
   RUSAGE_CHILDREN would undercount bwrap: with ``--unshare-pid`` its pid 1 is not reaped by
   the bwrap we wait for.
   Budget: the chain's goal is <= 2.5 S per transition beyond a bare spawn; floor P - S.
3. 100 one-task jobs vs Slurm (goal x150): budget per job T_slurm / 100 / 150; floor per job
   (P_cpu + C_client) / cores, C_client the client CPU per job of ``hundred_jobs`` (create +
   wait) against a running bcsd, timed with the loop thread's own CPU clock.
4. CreateJob vs the one-route FastAPI app (goal x0.8): b = the app's server CPU per create
   (/proc, 4 client processes), c = the client's CPU per create, V = bcsd's validation of the
   same body (``parse_json_body`` + ``jobs.validated_job`` + ``quota_errors``), in process.
   With 2 cores saturated, throughput goes as 1 / (c + server CPU), so the best bcsd could reach
   doing nothing beyond the baseline but V is (c + b) / (c + b + V).

Every timed start is checked to have exited 0 (``bench/verdict.py``); nothing is asserted.

    python bench/bench_floors.py [--rounds 3] [--n 200] [--rows start,confined,jobs,create]
                                 [--slurm-seconds T]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import quota_errors  # noqa: E402
from api.parse import parse_json_body  # noqa: E402
from api.quotas import Quotas  # noqa: E402
from bench.bench_baselines import (  # noqa: E402
    _creates,
    baseline_server,
    bcsd_server,
    create_round,
    hundred_jobs,
    median,
    slurm_seconds,
)
from bench.bench_executors import launch_of  # noqa: E402
from bench.verdict import refuse_failed_runs, require  # noqa: E402
from service.executors import isolation, process, userns  # noqa: E402
from service.executors import sandbox as sb  # noqa: E402
from service.executors.isolation import IsolationMode  # noqa: E402
from service.executors.runner import run_instance  # noqa: E402
from service.jobs import validated_job  # noqa: E402
from tests.support.bcsd import start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402

KINDS = ("S", "M", "P", "R", "R0")
NAMES = {"S": "subprocess.run(['true'])", "M": "bwrap --bind / / true", "P": "production bwrap start",
         "R": "run_instance, bwrap + limits", "R0": "run_instance, limits only"}  # fmt: skip


def _perf_works() -> str | None:
    """``perf`` when it is on PATH and can count here (a kernel-mismatched wrapper cannot)."""
    perf = shutil.which("perf")
    if perf is None:
        return None
    done = subprocess.run([perf, "stat", "-e", "task-clock", "true"], capture_output=True, check=False)
    return perf if done.returncode == 0 else None


PERF = _perf_works()
Start = Callable[[], None]


# ---------------------------------------------------------------- the starts of rows 1-2


def _exited_0(code: int, kind: str) -> None:
    require(code == 0, f"a start of {NAMES[kind]} exited {code}")


def _attempt(root: Path, mode: IsolationMode) -> Start:
    """One attempt of ``true`` through the runner, in process (the runner host's thread's work)."""
    launch = replace(launch_of(0, root, f"floor-{mode}", mode), vm_id="vm-0")

    def start() -> None:
        exited = run_instance(launch, lambda: False)
        require(exited.exit_code == 0 and not exited.error_code, f"run_instance ended {exited}")

    return start


def _production(root: Path) -> Start:
    """bwrap as the runner starts it: the argv built per start, in the sandbox folders it binds."""
    launch = replace(launch_of(0, root, "floor-p", "bwrap"), vm_id="vm-0")
    box = sb.sandbox_for(launch)
    sb.create(box)
    own = [str(box.workdir), str(box.fs)]
    isolation.chown_for(launch.isolation, own)
    env = sb.environment(launch, box)
    needs = isolation.spawn_needs(launch.isolation)

    def start() -> None:
        argv = isolation.bwrap_argv(launch.isolation, workdir=own[0], writable=own, hostname=launch.vm_id)
        proc = process.spawn([*argv, "true"], box.workdir, env, subprocess.DEVNULL, subprocess.DEVNULL,
                             needs.fds, needs.groups)  # fmt: skip
        _exited_0(proc.wait(), "P")

    return start


def start_of(kind: str, root: Path) -> Start:
    """The start a row-2 line times; P and R in the run-as namespace, as ``runner_host.main``."""
    userns.use_in_this_process()
    if kind == "S":
        return lambda: _exited_0(subprocess.run(["true"], check=False).returncode, kind)
    if kind == "M":
        argv = [isolation.bwrap_binary() or "bwrap", "--bind", "/", "/", "true"]
        return lambda: _exited_0(subprocess.run(argv, check=False).returncode, kind)
    if kind == "P":
        return _production(root)
    return _attempt(root, "bwrap" if kind == "R" else "none")


def timed(start: Start, n: int) -> float:
    """Wall seconds per start of ``n`` sequential starts, after one not timed."""
    start()
    t0 = time.perf_counter()
    for _ in range(n):
        start()
    return (time.perf_counter() - t0) / n


def counted(start: Start, n: int, control: Path) -> None:
    """The child ``perf`` runs: setup and one warm-up start, then ``n`` starts with perf's counters
    on (its ``--control`` fifos), so nothing but the loop is counted."""
    start()
    with open(control / "ctl", "wb", buffering=0) as ctl, open(control / "ack", "rb", buffering=0) as ack:
        for command in (b"enable\n", None, b"disable\n"):
            if command is None:
                for _ in range(n):
                    start()
                continue
            ctl.write(command)
            require(b"ack" in ack.read(64), f"perf did not acknowledge {command!r}")


def _perf(tool: list[str], kind: str, n: int, root: Path) -> str:
    """stderr of ``perf <tool>`` (counting only while ``counted`` says) over a child's loop of ``kind``."""
    root.mkdir(parents=True, exist_ok=True)
    for fifo in ("ctl", "ack"):
        os.mkfifo(root / fifo)
    control = ["-D", "-1", "--control", f"fifo:{root / 'ctl'},{root / 'ack'}"]
    child = [sys.executable, __file__, "--start-loop", kind, "--n", str(n), "--root", str(root)]
    done = subprocess.run([PERF or "perf", *tool, *control, "--", *child], capture_output=True, text=True)
    require(done.returncode == 0, f"perf {tool[0]} of {NAMES[kind]}: {done.stderr[-400:]}")
    return done.stderr


def task_clock(kind: str, n: int, root: Path) -> float:
    """CPU seconds per start by ``perf stat -e task-clock``: the child and all it spawns."""
    out = _perf(["stat", "-x", ",", "-e", "task-clock"], kind, n, root)
    return next(float(line.split(",")[0]) for line in out.splitlines() if "task-clock" in line) / 1e3 / n


def ld_so_share(n: int, tmp: Path) -> tuple[float, float]:
    """(CPU ms per exec of ``true``, of which in ld.so) from ``perf record -e cpu-clock`` periods (ns)."""
    data, perf = str(tmp / "true.perf"), PERF or "perf"
    _perf(["record", "-q", "-e", "cpu-clock", "-F", "10000", "-o", data], "S", n, tmp / "perf")
    argv = [perf, "report", "-i", data, "--stdio", "-g", "none", "--no-children", "-F", "period,comm,dso"]
    report = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in report.splitlines() if line.strip() and not line.startswith("#")]
    ours = [(int(r[0]), r[2]) for r in rows if len(r) >= 3 and r[1] == "true"]
    in_ld = sum(period for period, dso in ours if dso.startswith("ld-linux"))
    return sum(period for period, _ in ours) / 1e6 / n, in_ld / 1e6 / n


def rows_starts(tmp: Path, rounds: int, n: int, rows: set[str]) -> tuple[float, str]:
    """Rows 1-2; returns P's ms of CPU per start for row 3 and where that figure comes from."""
    kinds = KINDS if "confined" in rows or "jobs" in rows else ("S",)
    wall: dict[str, list[float]] = {k: [] for k in kinds}
    cpu: dict[str, list[float]] = {k: [] for k in kinds}
    for r in range(rounds):
        for kind in kinds:
            wall[kind].append(timed(start_of(kind, tmp / f"in-{r}-{kind}"), n))
            if PERF:
                cpu[kind].append(task_clock(kind, n, tmp / f"perf-{r}-{kind}"))
    w = {k: median(v) * 1e3 for k, v in wall.items()}
    c = {k: median(v) * 1e3 for k, v in cpu.items() if v}
    s = w["S"]
    print(f"1. process start, median of {rounds} x {n}: S = {s:.2f} ms wall"
          + (f", {c['S']:.2f} ms CPU (task-clock)" if c else ""))  # fmt: skip
    if "start" in rows:
        if PERF:
            total, in_ld = ld_so_share(300, tmp)
            print(f"   one exec of `true`: {total:.2f} ms CPU, of which ld.so {in_ld:.2f} ms "
                  f"({in_ld / total:.0%}; perf record, cpu-clock)")  # fmt: skip
        else:
            print("   ld.so share of an exec of `true`: n/a (no perf)")
    if "confined" in rows:
        print(f"2. confined start, median of {rounds} x {n} (wall; CPU by perf task-clock: "
              f"{'beside it' if c else 'n/a, no perf'}):")  # fmt: skip
        for kind in kinds[1:]:
            cpu_text = f"  {c[kind]:6.2f} ms CPU" if c else ""
            print(f"   {kind:2} {NAMES[kind]:30} {w[kind]:6.2f} ms{cpu_text}  beyond S {w[kind] - s:6.2f} ms "
                  f"= x{(w[kind] - s) / s:.1f} S")  # fmt: skip
        print(f"   chain goal: <= 2.5 S = {2.5 * s:.2f} ms per transition beyond a bare spawn; "
              f"floor P - S = {w['P'] - s:.2f} ms = x{(w['P'] - s) / s:.1f} S (before any scheduling, "
              f"commit or IPC): {'within' if w['P'] - s <= 2.5 * s else 'over'} budget")  # fmt: skip
    return (c["P"], "perf task-clock") if c else (w["P"], "wall, CPU-bound")


# ---------------------------------------------------------------- row 3: jobs vs Slurm


def row_jobs(tmp: Path, rounds: int, p_cpu: float, p_source: str, slurm_given: float | None) -> None:
    client_cpu: list[float] = []
    took: list[float] = []
    proc = start_bcsd(tmp / "jobs", max_job_count=10**7)
    try:
        with SignedClient(proc.url, proc.key_id, proc.secret) as client:
            for _ in range(rounds):
                c0 = time.thread_time()
                took.append(hundred_jobs(client))
                client_cpu.append((time.thread_time() - c0) / 100)
    finally:
        proc.stop()
    if slurm_given is not None:
        t_slurm: float | str = slurm_given
        whence = "--slurm-seconds"
    else:
        t_slurm, whence = slurm_seconds(tmp), "Slurm 22.05 tuned, one round this run"
    cores = os.cpu_count() or 1
    c = median(client_cpu)
    floor = (p_cpu + c) / cores
    print(f"3. 100 one-task jobs, median of {rounds}: bcsd {median(took):.2f} s ({median(took) * 10:.1f} ms "
          f"a job); client CPU per job (create + wait) {c * 1e3:.2f} ms")  # fmt: skip
    print(f"   floor per job on {cores} cores: (P {p_cpu * 1e3:.2f} ms [{p_source}] + client "
          f"{c * 1e3:.2f} ms) / {cores} = {floor * 1e3:.2f} ms")  # fmt: skip
    if isinstance(t_slurm, str):
        print(f"   budget for x150: n/a, Slurm cannot run ({t_slurm}); pass --slurm-seconds")
        return
    budget = t_slurm / 100 / 150
    print(f"   budget for x150: T_slurm {t_slurm:.1f} s ({whence}) / 100 / 150 = {budget * 1e3:.2f} ms "
          f"per job; floor / budget x{floor / budget:.2f}; Slurm/bcsd at the floor "
          f"x{t_slurm / 100 / floor:.0f}")  # fmt: skip
    print(f"   left for all else a job costs (bcsd, runner host, sandbox folders): (budget - floor) x "
          f"{cores} = {(budget - floor) * cores * 1e3:.2f} ms of CPU")  # fmt: skip


# ---------------------------------------------------------------- row 4: CreateJob vs FastAPI


def validation_s(body: dict, n: int) -> tuple[float, float]:
    """(CPU s per validation of ``body`` as CreateJob validates it, CPU s per bare ``json.loads``)."""
    raw, quotas = json.dumps(body).encode(), Quotas()

    def validate() -> None:
        job, _, _ = validated_job(parse_json_body(raw))
        require(not quota_errors(job, quotas, 0), "the bench's body breaks a quota")

    out = []
    for step in (validate, lambda: json.loads(raw)):
        step()
        t0 = time.thread_time()
        for _ in range(n):
            step()
        out.append((time.thread_time() - t0) / n)
    return out[0], out[1]


def row_create(tmp: Path, rounds: int, total: int, clients: int) -> None:
    bcsd = bcsd_server(tmp / "bcsd")
    servers = {"bcsd": bcsd}
    runs: dict[str, list[tuple[float, ...]]] = {"bcsd": [], "FastAPI": []}
    client_cpu: list[float] = []
    try:
        servers["FastAPI"] = base = baseline_server(tmp, "fastapi_app", bcsd.body)
        with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in range(rounds):
                for name, server in servers.items():
                    runs[name].append(create_round(pool, server, total, clients))
                c0 = time.thread_time()
                _creates(base.url, base.key_id, base.secret, base.body, total // clients)
                client_cpu.append((time.thread_time() - c0) / (total // clients))
    finally:
        for server in servers.values():
            server.stop()
    v, parse = validation_s(bcsd.body, 2000)
    rate = {k: median([r[0] for r in v_]) for k, v_ in runs.items()}
    cpu = {k: median([r[3] for r in v_]) for k, v_ in runs.items()}
    c, b, s = median(client_cpu), cpu["FastAPI"], cpu["bcsd"]
    print(f"4. CreateJob, {clients} client processes x {total // clients} creates, median of {rounds}:")
    print(f"   FastAPI one route: {rate['FastAPI']:.0f}/s, server CPU b = {b * 1e3:.3f} ms/create; "
          f"client CPU c = {c * 1e3:.3f} ms/create")  # fmt: skip
    print(f"   bcsd validation V = {v * 1e6:.0f} us/create (of which JSON parse {parse * 1e6:.0f} us, "
          f"which the baseline does too)")  # fmt: skip
    best, beyond_parse = (c + b) / (c + b + v), (c + b) / (c + b + v - parse)
    allowed = (c + b) / 0.8 - c
    print(f"   x0.8 allows bcsd's server CPU <= (c + b) / 0.8 - c = {allowed * 1e3:.3f} ms/create; "
          f"floor b + V = {(b + v) * 1e3:.3f} ms")  # fmt: skip
    print(f"   best bcsd / FastAPI doing only the baseline + V: (c + b) / (c + b + V) = x{best:.2f} "
          f"(V less the parse the baseline does: x{beyond_parse:.2f}); goal x0.8")  # fmt: skip
    print(f"   bcsd now: {rate['bcsd']:.0f}/s, server CPU {s * 1e3:.3f} ms/create; measured "
          f"x{rate['bcsd'] / rate['FastAPI']:.2f}, the model with it (c + b) / (c + s) "
          f"x{(c + b) / (c + s):.2f}")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--n", type=int, default=200, help="starts per timed loop")
    p.add_argument("--rows", default="start,confined,jobs,create")
    p.add_argument("--slurm-seconds", type=float, help="T_slurm for 100 jobs, instead of running Slurm")
    p.add_argument("--creates", type=int, default=1200)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--start-loop", choices=KINDS, help=argparse.SUPPRESS)  # the child task_clock times
    p.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.start_loop:
        counted(start_of(args.start_loop, args.root), args.n, args.root)
        return 0
    rows = set(args.rows.split(","))
    print("shared 2-core machine: absolute figures are noisy; compare within one run", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-floors-") as tmpdir:
        tmp = Path(tmpdir)
        p_ms, p_source = rows_starts(tmp / "starts", args.rounds, args.n, rows)
        if "jobs" in rows:
            row_jobs(tmp / "jobs", args.rounds, p_ms / 1e3, p_source, args.slurm_seconds)
        if "create" in rows:
            row_create(tmp / "create", args.rounds, args.creates, args.clients)
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
