"""Where bcsd's time goes (issue 16, item 1): py-spy samples of a running bcsd, summed by component.

Two workloads, each on a fresh bcsd on 127.0.0.1 sampled by ``py-spy record --format raw``
(on-CPU samples only, bcsd and its runner host with ``--subprocesses``):
- ``create``: ``--creates`` signed CreateJobs from 2 client processes onto a VM-less cluster;
- ``transition``: one job of ``--instances`` trivial instances of ``true`` run to Finished.
Each sample's stack is attributed to the first component (table ``COMPONENTS``, checked in
order from the innermost frame outwards, so the most specific match wins), and the shares are
printed with CPU ms per create / per instance from /proc. Not part of ``make bench`` (it needs
py-spy: ``.venv/bin/pip install py-spy``).

    python bench/profile_hot_path.py [--creates 3000] [--instances 2000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_baselines import _creates, cpu_s  # noqa: E402
from bench.verdict import refuse_failed_runs, require, require_finished, require_statuses  # noqa: E402
from tests.service.jobspec import PARKED_CLUSTER, job, task  # noqa: E402
from tests.support.bcsd import BcsdProcess, start_bcsd  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402

#: (component, substrings of a frame's "function (file:line)"); a frame matches the first row
#: whose substring it contains, and a sample counts for the innermost matching frame
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("SQLite commit (driver)", ("commit (sqlalchemy/engine/default.py", "do_commit")),
    ("sqlite3 execute (driver)", ("do_execute (", "do_executemany (")),
    ("SQLAlchemy execution context", ("sqlalchemy/",)),
    ("signature check + nonce", ("service/auth.py", "api/signing.py", "service/nonce")),
    ("validation + canonical (api/ pydantic)", ("api/", "pydantic")),
    ("JSON encode/decode", ("json/", "orjson")),
    ("logging + metrics (telemetry)", ("service/telemetry/", "logging/", "prometheus_client/")),
    ("sandbox create/remove (executors)", ("executors/sandbox.py", "executors/package.py")),
    ("cgroups + limits (executors)", ("executors/limits.py", "executors/isolation.py")),
    ("process spawn (subprocess/bwrap)", ("subprocess.py", "_posixsubprocess", "fork_exec")),
    # _exited is a select() on the instance's pidfd: py-spy may count a thread blocked in it as busy
    ("waiting for the exit (pidfd select)", ("_exited (",)),
    # the VM sandbox's runner side, and its agent (run with -c: its frames are "<string>")
    ("VM sandbox agent (inside bwrap)", ("(<string>:",)),
    ("VM sandbox (runner side)", ("executors/vm_sandbox.py", "executors/vm_pool.py")),
    ("runner host + pipe", ("executors/runner_host.py", "executors/runner.py", "executors/process.py")),
    ("scheduler (core + loop + effects)", ("service/scheduler/",)),
    ("response socket write (uvicorn send)", ("RequestResponseCycle.send (",)),
    ("routes + rendering", ("service/routes/", "service/render.py", "service/jobs.py",
                            "service/http_errors.py")),  # fmt: skip
    ("middleware (service)", ("service/middleware.py",)),
    ("FastAPI/Starlette request + response", ("fastapi/", "starlette/")),
    ("uvicorn + httptools + asyncio", ("uvicorn/", "httptools", "asyncio/", "uvloop")),
]


def component(stack: str) -> str:
    for frame in reversed(stack.split(";")):
        for name, needles in COMPONENTS:
            if any(n in frame for n in needles):
                return name
    return "other (interpreter, imports, threads)"


def summarize(raw: Path) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if stack and n.isdigit():  # a VM agent's command line (its -c source) spans lines: skipped
            counts[component(stack)] += int(n)
    return counts


def record(pid: int, out: Path, subprocesses: bool) -> subprocess.Popen[bytes]:
    argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "250",
            "--format", "raw", "--output", str(out), "--nonblocking"]  # fmt: skip
    argv += ["--subprocesses"] if subprocesses else []
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attach
    return proc


def stop_recording(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(2)  # SIGINT: py-spy writes its file and exits
    proc.wait(30)


def children_cpu(pid: int) -> float:
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(cpu_s(int(k)) for k in kids if Path(f"/proc/{k}").exists())


def print_shares(title: str, counts: collections.Counter[str], per_unit_ms: float, unit: str) -> None:
    total = sum(counts.values())
    print(f"{title}: {total} samples; {per_unit_ms:.2f} ms CPU per {unit}")
    for name, n in counts.most_common():
        print(f"   {name:42} {100 * n / total:5.1f} %   {per_unit_ms * n / total:6.3f} ms/{unit}")


def profile_creates(bcsd: BcsdProcess, tmp: Path, n: int) -> None:
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        r = client.post("/clusters", PARKED_CLUSTER)
        require(r.status_code == 201, "the parked cluster was refused")
        body = job({"a": task("true", cluster_id=r.json()["Id"])})
    args = (bcsd.url, bcsd.key_id, bcsd.secret, body)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_creates, *zip(*[(*args, 20)] * 2, strict=True)))
        spy = record(bcsd.pid, tmp / "create.raw", subprocesses=False)
        cpu0 = cpu_s(bcsd.pid)
        parts = pool.map(_creates, *zip(*[(*args, n // 2)] * 2, strict=True))
        done = require_statuses((s for part in parts for _, s in part), 201, "creates")
        cpu = cpu_s(bcsd.pid) - cpu0
        stop_recording(spy)
    print_shares(f"CreateJob x{done}", summarize(tmp / "create.raw"), cpu * 1000 / done, "create")


def profile_transitions(bcsd: BcsdProcess, tmp: Path, n: int) -> None:
    with SignedClient(bcsd.url, bcsd.key_id, bcsd.secret) as client:
        spy = record(bcsd.pid, tmp / "transition.raw", subprocesses=True)
        cpu0 = cpu_s(bcsd.pid) + children_cpu(bcsd.pid)
        t0 = time.perf_counter()
        require_finished(client.wait_job(client.create_job(job({"a": task("true", count=n)})), timeout=900))
        wall = time.perf_counter() - t0
        cpu = cpu_s(bcsd.pid) + children_cpu(bcsd.pid) - cpu0
        stop_recording(spy)
    print(f"{n} trivial instances in {wall:.1f} s ({n / wall:.0f}/s); bcsd + runner host CPU "
          f"(instances' own processes excluded) {cpu * 1000 / n:.2f} ms per instance")  # fmt: skip
    print_shares("instance transitions", summarize(tmp / "transition.raw"), cpu * 1000 / n, "instance")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--creates", type=int, default=3000, help="0: skip the create profile")
    p.add_argument("--instances", type=int, default=2000, help="0: skip the instances profile")
    p.add_argument("--isolation", default="auto")
    p.add_argument("--keep", default="", help="copy the raw py-spy files here")
    args = p.parse_args()
    require(shutil.which("py-spy") is not None or (Path(sys.executable).parent / "py-spy").exists(),
            "py-spy is not installed (.venv/bin/pip install py-spy)")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmpdir:
        tmp = Path(tmpdir)
        for name, run, n in (("create", profile_creates, args.creates),
                             ("transition", profile_transitions, args.instances)):  # fmt: skip
            if n <= 0:  # that part not asked for
                continue
            bcsd = start_bcsd(tmp / name, isolation=args.isolation, max_job_count=10**7)
            try:
                run(bcsd, tmp, n)
            finally:
                bcsd.stop()
        if args.keep:
            for raw in tmp.glob("*.raw"):
                shutil.copy(raw, Path(args.keep) / raw.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(refuse_failed_runs(main))
