"""A two-task DAG running a real package from the local object store (put there with
``bcsd oss cp``), leaving outputs and logs where the spec says."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from tests.service.jobspec import job, task
from tests.support.bcsd import BCSD, BcsdProcess
from tests.support.client import SignedClient

WORKER = """
import os, pathlib, sys
root = pathlib.Path(os.environ["BATCH_COMPUTE_LOCAL_ROOT"])
step = sys.argv[1]
env = os.environ
idx, jid = env['BATCH_COMPUTE_DAG_INSTANCE_ID'], env['BATCH_COMPUTE_DAG_JOB_ID']
print(f"hello from {step} instance {idx} of {jid}")
print("a warning", file=sys.stderr)
(root / "data/logs").mkdir(parents=True, exist_ok=True)
(root / f"data/logs/{step}.log").write_text(f"log of {step}\\n")
if step == "split":
    text = (root / "data/in/words.txt").read_text()
    (root / "data/out").mkdir(parents=True, exist_ok=True)
    (root / "data/out/upper.txt").write_text(text.upper())
else:
    upper = (root / "data/prev/upper.txt").read_text()
    (root / "data/out").mkdir(parents=True, exist_ok=True)
    (root / "data/out/count.txt").write_text(str(len(upper.split())))
"""


def bcsd_oss(bcsd: BcsdProcess, *args: str) -> str:
    done = subprocess.run(
        [str(BCSD), "oss", *args, "--data-dir", str(bcsd.data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_two_task_dag_with_package(tmp_path: Path, bcsd: BcsdProcess, client: SignedClient) -> None:
    src = tmp_path / "pkg"
    src.mkdir()
    (src / "worker.py").write_text(WORKER)
    archive = tmp_path / "worker.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "worker.py", arcname="worker.py")
    (tmp_path / "input").mkdir()
    (tmp_path / "input" / "words.txt").write_text("alpha beta gamma\n")
    bcsd_oss(bcsd, "cp", str(archive), "oss://bucket/pkg/worker.tar.gz")
    bcsd_oss(bcsd, "cp", str(tmp_path / "input"), "oss://bucket/input/")
    common = {"package": "oss://bucket/pkg/worker.tar.gz", "logs": "oss://bucket/logs/"}
    spec = job(
        {
            "split": task(
                "python worker.py split",
                InputMapping={"oss://bucket/input/": "/data/in/"},
                OutputMapping={"/data/out/": "oss://bucket/stage1/"},
                LogMapping={"/data/logs/split.log": "oss://bucket/logmap/"},
                **common,
            ),
            "count": task(
                "python worker.py count",
                InputMapping={"oss://bucket/stage1/": "/data/prev/"},
                OutputMapping={"/data/out/": "oss://bucket/stage2/"},
                **common,
            ),
        },
        {"split": ["count"]},
    )
    job_id = client.create_job(spec)
    body = client.wait_job(job_id, timeout=60)
    assert body["State"] == "Finished", (body, bcsd.log()[-2000:])
    assert bcsd_oss(bcsd, "cat", "oss://bucket/stage1/upper.txt") == "ALPHA BETA GAMMA\n"
    assert bcsd_oss(bcsd, "cat", "oss://bucket/stage2/count.txt") == "3"
    out = bcsd_oss(bcsd, "cat", f"oss://bucket/logs/stdout.{job_id}.split.0")
    assert out == f"hello from split instance 0 of {job_id}\n"
    assert bcsd_oss(bcsd, "cat", f"oss://bucket/logs/stderr.{job_id}.count.0") == "a warning\n"
    assert bcsd_oss(bcsd, "cat", f"oss://bucket/logmap/split.log.{job_id}.split.0") == "log of split\n"
    inst = client.get(f"/jobs/{job_id}/tasks/count/instances/0").json()
    assert inst["StdoutRedirectPath"] == f"oss://bucket/logs/stdout.{job_id}.count.0"
    split = client.get(f"/jobs/{job_id}/tasks/split").json()
    count = client.get(f"/jobs/{job_id}/tasks/count").json()
    assert split["EndTime"] <= count["StartTime"]  # the dependency held
