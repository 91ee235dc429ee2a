"""Two bcsd nodes on one PostgreSQL database serve the same API, and each job's instances are
scheduled exactly once between them (job leases, ``service/scheduler/ownership.py``).

Every command appends ``<bcsd pid>`` to a file named after its instance, so the files count
real process starts, and name the node that started them.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service.jobspec import job, task
from tests.support.bcsd import BcsdProcess, free_port
from tests.support.client import SignedClient
from tests.support.instances import instance_pids
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.slow
LEASE_TTL = 2.0


def start_node(tmp: Path, name: str, url: str, key: tuple[str, str]) -> BcsdProcess:
    port = free_port()
    data_dir = tmp / name
    data_dir.mkdir()
    proc = BcsdProcess(
        url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port, key_id=key[0], secret=key[1],
        data_dir=data_dir, pid=0, options={"database_url": url, "lease_ttl": LEASE_TTL},
        log_path=data_dir / "bcsd.log",
    )  # fmt: skip
    proc._launch()
    return proc


@pytest.fixture(scope="module")
def nodes(
    postgres: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[BcsdProcess, BcsdProcess]]:
    tmp = tmp_path_factory.mktemp("nodes")
    key = ("LTAIscaleout", "scaleout-secret-" + os.urandom(6).hex())
    started: list[BcsdProcess] = []
    try:
        for name in ("node1", "node2"):
            started.append(start_node(tmp, name, postgres.url, key))
        yield started[0], started[1]
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture(scope="module")
def clients(nodes: tuple[BcsdProcess, BcsdProcess]) -> Iterator[tuple[SignedClient, SignedClient]]:
    a, b = (SignedClient(n.url, n.key_id, n.secret) for n in nodes)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def recording(marks: Path, then: str = "true") -> str:
    """A command that records its start (file per instance, one line per start) and runs ``then``.
    The line is the sandbox's workdir, which lies in the data dir of the node that ran it (a
    sandboxed instance cannot see its node's processes)."""
    target = f"{marks}/$BATCH_COMPUTE_DAG_JOB_ID.$BATCH_COMPUTE_DAG_TASK_ID.$BATCH_COMPUTE_DAG_INSTANCE_ID"
    return f"sh -c 'echo $BATCH_COMPUTE_WORKDIR >> {target}; {then}'"


def started_on(line: str, nodes: tuple[BcsdProcess, ...]) -> int:
    """The pid of the node whose data dir holds the recorded workdir."""
    (node,) = [n for n in nodes if line.startswith(str(n.data_dir) + "/")]
    return node.pid


def starts_in_history(client: SignedClient, job_id: str) -> Counter[tuple[str, int]]:
    items = client.get(f"/jobs/{job_id}/history").json()["Items"]
    starts = [(h["Task"], h["Instance"]) for h in items if h["Scope"] == "Instance" and h["To"] == "Running"]
    return Counter(starts)


def test_jobs_created_through_both_nodes_run_each_instance_once(
    nodes: tuple[BcsdProcess, BcsdProcess], clients: tuple[SignedClient, SignedClient], scratch: Path
) -> None:
    cmd = recording(scratch)
    spec = job({"a": task(cmd, count=3), "b": task(cmd, count=2)}, {"a": ["b"]})
    ids = [clients[i % 2].create_job(spec) for i in range(10)]
    for i, job_id in enumerate(ids):  # each node answers for every job, whoever created it
        assert clients[(i + 1) % 2].wait_job(job_id, timeout=90)["State"] == "Finished"
    files = sorted(scratch.iterdir())
    assert len(files) == 10 * 5
    starters = Counter()
    for f in files:
        lines = f.read_text().split()
        assert len(lines) == 1, f"{f.name} started {len(lines)} times"
        starters[started_on(lines[0], nodes)] += 1
    assert set(starters) == {nodes[0].pid, nodes[1].pid}  # both nodes did work
    for job_id in ids:
        assert set(starts_in_history(clients[0], job_id).values()) == {1}
        body = clients[1].job(job_id)
        assert body["InstanceMetrics"]["FinishedCount"] == 5


def test_stop_through_the_other_node_kills_the_processes(
    clients: tuple[SignedClient, SignedClient], scratch: Path
) -> None:
    owner, other = clients
    job_id = owner.create_job(job({"a": task(recording(scratch, "exec sleep 60"), count=2)}))
    other.wait_job(job_id, ("Running",), 30)
    deadline = time.monotonic() + 30
    while len(instance_pids(job_id, program="sleep")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    pids = instance_pids(job_id, program="sleep")
    assert len(pids) == 2
    assert other.post(f"/jobs/{job_id}/stop").status_code == 201
    assert owner.job(job_id)["State"] == "Stopped"  # committed before the answer, seen by both
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in pids), "the owner did not kill the stopped instances"
    # start through the other node: it claims the job and runs it again; delete through the first
    assert other.post(f"/jobs/{job_id}/start").status_code == 201
    owner.wait_job(job_id, ("Running",), 30)
    assert owner.post(f"/jobs/{job_id}/stop").status_code == 201
    assert other.delete(f"/jobs/{job_id}").status_code == 204
    assert owner.get(f"/jobs/{job_id}").status_code == 404


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped) counts as dead
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill9_of_a_node_moves_its_jobs_to_the_other(
    nodes: tuple[BcsdProcess, BcsdProcess], clients: tuple[SignedClient, SignedClient], scratch: Path
) -> None:
    victim, survivor = nodes
    to_victim, to_survivor = clients
    retried = to_victim.create_job(job({"a": task(recording(scratch, "sleep 2"), count=2, retry=1)}))
    doomed = to_victim.create_job(job({"a": task(recording(scratch, "sleep 2"), retry=0)}))
    for job_id in (retried, doomed):
        to_survivor.wait_job(job_id, ("Running",), 30)
    deadline = time.monotonic() + 30
    while len(list(scratch.iterdir())) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.kill9()
    try:
        assert to_survivor.wait_job(retried, timeout=60)["State"] == "Finished"
        assert to_survivor.wait_job(doomed, timeout=60)["State"] == "Failed"
        lost = to_survivor.get(f"/jobs/{doomed}/tasks/a/instances/0").json()
        assert lost["Result"]["ErrorCode"] == "NodeLost"
        for idx in (0, 1):
            inst = to_survivor.get(f"/jobs/{retried}/tasks/a/instances/{idx}").json()
            assert inst["State"] == "Finished" and inst["RetryCount"] == 1
            lines = (scratch / f"{retried}.a.{idx}").read_text().split()
            starts = [started_on(line, nodes) for line in lines]
            assert starts == [victim.pid, survivor.pid]  # once per attempt, on each node
    finally:
        victim.restart()  # the module's other tests (and teardown) expect both nodes
