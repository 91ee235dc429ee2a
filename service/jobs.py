"""Job lifecycle against the store: accept a CreateJob body, stop/start/delete, AutoRelease.

Each function runs inside the caller's transaction; routes commit before answering.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from api import JobDescription, job_instance_type_errors, parse_job, quota_errors
from api.errors import error
from service.config import INSTANCE_TYPES, Settings
from service.idempotency import replayed
from service.scheduler import core
from service.store import job_count, repo

_last_seq = 0


def next_seq() -> int:
    """Strictly increasing submission order (nanosecond clock, bumped on ties)."""
    global _last_seq
    _last_seq = max(time.time_ns(), _last_seq + 1)
    return _last_seq


def new_job_id() -> str:
    return "job-" + secrets.token_hex(16).upper()


def spec_hash(wire: dict[str, Any]) -> str:
    """What idempotent replays compare: the normal form, key order aside."""
    return hashlib.sha256(json.dumps(wire, sort_keys=True, default=str).encode()).hexdigest()


def require_active_cluster(conn: Connection, cluster_id: str) -> None:
    """A named cluster a task is placed on: 404 when unknown, 409 when not Active (reference §12 #11)."""
    _judge_cluster(repo.cluster_state(conn, cluster_id))


def _judge_cluster(cluster: Any) -> None:
    """``(kind, state)`` of a cluster a task names (None: unknown) -> refused unless an Active named one."""
    if cluster is None or cluster[0] != "named":
        raise error("not_found")
    if cluster[1] != "Active":
        raise error("state_conflict", state=cluster[1])


def check_restartable(conn: Connection, job_id: str) -> None:
    """StartJob re-queues the unfinished tasks; one whose named cluster was deleted meanwhile
    would wait forever, so StartJob answers as CreateJob would for that cluster."""
    for task in repo.job_tasks(conn, job_id):
        if task.cluster_id and task.state != "Finished":
            require_active_cluster(conn, task.cluster_id)


def validated_job(body: object) -> tuple[JobDescription, dict[str, Any], str]:
    """The job a CreateJob body describes, its normal form and that form's ``spec_hash``, or
    the API's error; reads no store, so ``bench/bench_floors.py`` times exactly this part."""
    job = parse_job(body)
    # only a type this service offers (its /available table) can ever run (issue 13)
    refused = next(job_instance_type_errors(body, INSTANCE_TYPES), None) if isinstance(body, dict) else None
    if refused is not None:
        raise refused
    wire = job.wire
    return job, wire, spec_hash(wire)


def accept_job(
    conn: Connection, settings: Settings, body: object, token: str
) -> tuple[str, core.JobView | None, JobDescription]:
    """Validate, apply quotas and IdempotentToken, insert. Returns (job id, new view or None
    when the token replayed an earlier job, the job as stored)."""
    job, wire, digest = validated_job(body)
    if (earlier := replayed(conn, "job", token, digest)) is not None:
        return earlier, None, job
    # the named clusters' states are sent now and judged after the quotas (whose refusal comes
    # first): on PostgreSQL the count claim's round trip brings them back (store.pipeline)
    clusters = {
        cluster_id: repo.cluster_state_later(conn, cluster_id)
        for task in job.dag.tasks.values()
        if (cluster_id := task.cluster_id)
    }
    # MaxJobCount counts stored jobs (any state; DeleteJob and AutoRelease give the slot back)
    max_jobs = settings.quotas.max_job_count
    at_limit = not job_count.claim(conn, max_jobs)
    problems = quota_errors(job, settings.quotas, max_jobs if at_limit else 0)
    if problems:  # its savepoint takes the slot claim back; the flush commits the others
        raise problems[0]
    now = time.time()
    job_id = new_job_id()
    task_rows: list[dict[str, Any]] = []
    inst_rows: list[dict[str, Any]] = []
    task_views: dict[str, core.TaskView] = {}
    for ordinal, (name, task) in enumerate(job.dag.tasks.items()):
        cluster_id = task.cluster_id
        if cluster_id and (sent := clusters.pop(cluster_id, None)) is not None:  # tasks often share one
            _judge_cluster(sent.first())  # refused: its savepoint undoes the claim
        auto = task.effective_auto_cluster
        upstream = job.dag.upstream(name)
        task_rows.append(
            {
                "job_id": job_id,
                "name": name,
                "ordinal": ordinal,
                "state": "Waiting",
                "upstream": upstream,
                "instance_count": task.instance_count,
                "max_retry": task.max_retry_count,
                "timeout_s": task.timeout,
                "cluster_id": cluster_id,
                "auto_cluster_id": "",
                "reserve_on_fail": task.reserves_on_fail,
                "reserved_vm_count": 0,
                "instance_type": auto.instance_type if auto else "",
            }
        )
        inst_rows.extend(
            {"job_id": job_id, "task_name": name, "instance_id": i, "state": "Waiting"}
            for i in range(task.instance_count)
        )
        task_views[name] = core.TaskView(
            name=name,
            upstream=tuple(upstream),
            max_retry=task.max_retry_count,
            instances=[core.InstanceView(i) for i in range(task.instance_count)],
            auto_cluster=not cluster_id,
            reserve_on_fail=task.reserves_on_fail,
            cluster_id=cluster_id,
        )
    seq = next_seq()
    repo.insert_job(
        conn,
        {
            "id": job_id,
            "seq": seq,
            "name": job.name,
            "owner_id": settings.owner_id,
            "priority": job.priority,
            "state": "Waiting",
            "message": "",
            "description": wire,
            "spec_hash": digest,
            "auto_release": job.auto_release,
            "fail_on_instance_fail": job.job_fail_on_instance_fail,
            "creation_time": now,
            "start_time": None,
            "end_time": None,
        },
        task_rows,
        inst_rows,
    )
    if token:
        repo.save_token(conn, "job", token, job_id, digest, now)
    view = core.JobView(
        id=job_id,
        state="Waiting",
        fail_on_instance_fail=job.job_fail_on_instance_fail,
        auto_release=job.auto_release,
        tasks=task_views,
        priority=job.priority,
        seq=seq,
        created=now,
    )
    return job_id, view, job


def release_job(conn: Connection, job_id: str, reason: str, sandbox_root: Path | None = None) -> None:
    """Delete a job with everything it holds (AutoCluster VMs, reserved ones included, and the
    sandboxes kept for inspection under ReserveOnFail). ``AutoRelease`` leaves a tombstone so
    GET answers 410 instead of 404."""
    if sandbox_root is not None:
        root = sandbox_root.resolve()
        for inst in repo.job_instances(conn, job_id):
            kept = Path(inst.sandbox_path) if inst.sandbox_path else None
            if kept is not None and kept.resolve().is_relative_to(root) and kept.resolve() != root:
                shutil.rmtree(kept, ignore_errors=True)
    for cluster in repo.auto_clusters_of(conn, job_id):
        repo.delete_cluster(conn, cluster.id)
    repo.delete_job(conn, job_id)
    if reason == "AutoRelease":
        repo.add_tombstone(conn, job_id, time.time())
