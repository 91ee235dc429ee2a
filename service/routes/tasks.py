"""Tasks and instances of a job (read-only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.errors import error
from service import render
from service.routes.common import index_number, page, rt
from service.routes.jobs import _job_or_error
from service.store import repo

router = APIRouter()


def _vm_count(conn: Any, row: Any) -> int:
    cluster_id = row.auto_cluster_id or row.cluster_id
    return len(repo.cluster_vms(conn, cluster_id)) if cluster_id and row.auto_cluster_id else 0


@router.get("/jobs/{job_id}/tasks")
async def list_tasks(job_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    marker, size = page(request)
    state = request.query_params.get("State", "").strip()
    cluster = request.query_params.get("ClusterId", "").strip()
    with r.engine.connect() as conn:
        _job_or_error(conn, job_id)
        rows = repo.job_tasks(conn, job_id)
        counts = repo.task_instance_metrics(conn, job_id)
        if state:
            rows = [t for t in rows if t.state == state]
        if cluster:
            rows = [t for t in rows if cluster in (t.cluster_id, t.auto_cluster_id)]
        names = [t.name for t in rows]
        start = names.index(marker) if marker in names else (len(names) if marker else 0)
        chosen = rows[start : start + size]
        items = [render.task(t, counts.get(t.name), _vm_count(conn, t)) for t in chosen]
    nxt = rows[start + size].name if len(rows) > start + size else ""
    return {"NextMarker": nxt, "Items": items}


@router.get("/jobs/{job_id}/tasks/{task_name}")
async def get_task(job_id: str, task_name: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    with r.engine.connect() as conn:
        _job_or_error(conn, job_id)
        row = repo.get_task(conn, job_id, task_name)
        if row is None:
            raise error("not_found")
        counts = repo.task_instance_metrics(conn, job_id).get(task_name)
        return render.task(row, counts, _vm_count(conn, row))


@router.get("/jobs/{job_id}/tasks/{task_name}/instances")
async def list_instances(job_id: str, task_name: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    marker, size = page(request)
    start = index_number(marker) if marker else 0
    if start is None:
        raise error("invalid_marker")
    state = request.query_params.get("State", "").strip()
    with r.engine.connect() as conn:
        _job_or_error(conn, job_id)
        if repo.get_task(conn, job_id, task_name) is None:
            raise error("not_found")
        rows = repo.task_instances(conn, job_id, task_name, state=state, start=start, limit=size + 1)
    nxt = str(rows[size].instance_id) if len(rows) > size else ""
    return {"NextMarker": nxt, "Items": [render.instance(i) for i in rows[:size]]}


@router.get("/jobs/{job_id}/tasks/{task_name}/instances/{instance_id}")
async def get_instance(job_id: str, task_name: str, instance_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    idx = index_number(instance_id)
    if idx is None:
        raise error("not_found")
    with r.engine.connect() as conn:
        _job_or_error(conn, job_id)
        rows = repo.task_instances(conn, job_id, task_name, start=idx, limit=1)
    if not rows or rows[0].instance_id != idx:
        raise error("not_found")
    return render.instance(rows[0])
