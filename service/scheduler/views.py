"""Build the core's ``JobView`` of a job from the store."""

from __future__ import annotations

from sqlalchemy import Connection

from service.scheduler.core import InstanceView, JobView, TaskView
from service.store import repo


def load_view(conn: Connection, job_id: str) -> JobView | None:
    job = repo.get_job(conn, job_id)
    if job is None:
        return None
    by_task: dict[str, list[InstanceView]] = {}
    for row in sorted(repo.job_instances(conn, job_id), key=lambda r: r.instance_id):
        by_task.setdefault(row.task_name, []).append(
            InstanceView(row.instance_id, row.state, row.retry_count, row.attempt)
        )
    tasks = {}
    for t in repo.job_tasks(conn, job_id):
        tasks[t.name] = TaskView(
            name=t.name,
            upstream=tuple(t.upstream),
            max_retry=t.max_retry,
            instances=by_task.get(t.name, []),
            state=t.state,
            auto_cluster=not t.cluster_id,
            reserve_on_fail=t.reserve_on_fail,
            cluster_id=t.cluster_id,
        )
    return JobView(
        id=job.id,
        state=job.state,
        fail_on_instance_fail=job.fail_on_instance_fail,
        auto_release=job.auto_release,
        tasks=tasks,
        priority=job.priority,
        seq=job.seq,
        created=job.creation_time,
    )
