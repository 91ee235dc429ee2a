"""Make the store fixtures of the upgrade test: run a *previous release* of bcsd (a source tree,
e.g. ``git archive 15a47e2 | tar -x -C /tmp/old``) on SQLite and on a throwaway PostgreSQL, give
it a small workload (a cluster, finished / stopped / waiting / auto-released jobs, a queued
notification, an IdempotentToken) and dump both stores as SQL text into
``tests/scaleout/data/``. ``tests/scaleout/test_migrations.py`` loads them and upgrades them.

    python tools/previous_release_store.py --source /tmp/old
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service.jobspec import job, task  # noqa: E402
from tests.support.client import SignedClient  # noqa: E402
from tests.support.postgres import client_program, start_postgres  # noqa: E402

OUT = ROOT / "tests" / "scaleout" / "data"
KEY_ID, SECRET = "LTAIprevious", "previous-release-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workload(url: str) -> dict[str, str]:
    """The objects the upgrade test expects to find again."""
    with SignedClient(url, KEY_ID, SECRET) as c:
        pool = {"Name": "pool", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 1,
                "InstanceType": "ecs.sn1.medium"}}}  # fmt: skip
        empty = {"Name": "empty", "ImageId": "img-ubuntu", "Groups": {"g": {"DesiredVMCount": 0,
                 "InstanceType": "ecs.sn1.medium"}}}  # fmt: skip
        pool_id = c.post("/clusters", pool, {"IdempotentToken": "previous_cluster"}).json()["Id"]
        empty_id = c.post("/clusters", empty).json()["Id"]
        dead = f"http://127.0.0.1:{free_port()}/hook"
        topic = {"Topic": {"Name": "t", "Endpoint": dead, "Events": ["OnJobFinished"]}}
        finished = c.create_job(
            job({"a": task("true"), "b": task("true", cluster_id=pool_id)}, {"a": ["b"]}, Notification=topic),
            token="previous_job",
        )
        c.wait_job(finished)
        stopped = c.create_job(job({"a": task("sleep 60")}))
        while c.job(stopped)["State"] != "Running":
            time.sleep(0.05)
        assert c.post(f"/jobs/{stopped}/stop").status_code == 201
        released = c.create_job(job({"a": task("true")}, AutoRelease=True))
        while c.get(f"/jobs/{released}").status_code != 410:
            time.sleep(0.05)
        waiting = c.create_job(job({"a": task("true", cluster_id=empty_id)}))
        assert c.job(waiting)["State"] == "Waiting"
        return {"pool": pool_id, "empty": empty_id, "finished": finished, "stopped": stopped,
                "released": released, "waiting": waiting}  # fmt: skip


def run_old(source: Path, data_dir: Path, *flags: str) -> dict[str, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(source), BCS_ACCESS_KEY_ID=KEY_ID, BCS_ACCESS_KEY_SECRET=SECRET)
    argv = [sys.executable, "-c", "from service.cli import main; raise SystemExit(main())", "serve",
            "--port", str(port), "--data-dir", str(data_dir), "--isolation", "none", *flags]  # fmt: skip
    proc = subprocess.Popen(argv, env=env, cwd=source)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        return workload(f"http://127.0.0.1:{port}")
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="the old source tree (required)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ids = run_old(args.source, Path(tmp) / "sqlite")
        with sqlite3.connect(Path(tmp) / "sqlite" / "bcsd.db") as db:
            (OUT / "previous_release.sqlite.sql").write_text("\n".join(db.iterdump()) + "\n")
        pg = start_postgres()
        try:
            ids_pg = run_old(args.source, Path(tmp) / "pg", "--database-url", pg.url)
            argv = [client_program("pg_dump"), "--inserts", "--no-owner", "--no-privileges", "-d", pg.url]
            dump = subprocess.run(argv, capture_output=True, text=True, check=True)
            (OUT / "previous_release.postgresql.sql").write_text(dump.stdout)
        finally:
            pg.stop()
    for name, found in (("sqlite", ids), ("postgresql", ids_pg)):
        (OUT / f"previous_release.{name}.ids").write_text("".join(f"{k} {v}\n" for k, v in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
