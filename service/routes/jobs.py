"""Jobs: create, get (+ ?description), list, stop, start, delete, priority; PATCH extension;
history extension."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api import JobDescription, parse_job_update, parse_priority
from api.errors import error
from api.states import JobAction, allows
from service import render
from service.jobs import accept_job, check_restartable, release_job
from service.routes.common import idempotent_token, page, read_json, rt
from service.scheduler import core
from service.store import repo
from service.telemetry.log_format import REQUEST_ID

router = APIRouter()
log = logging.getLogger("bcsd.jobs")


def _job_or_error(conn: Any, job_id: str) -> Any:
    row = repo.get_job(conn, job_id)
    if row is None:
        stone = repo.tombstone(conn, job_id)
        if stone is not None:
            raise error("released", at=render.ts(stone.released_at))
        raise error("not_found")
    return row


async def create_job(request: Request) -> JSONResponse:
    r = rt(request)
    token = idempotent_token(request)
    body = await read_json(request)
    # the flush runs in the context of the request that started it: name this one's id
    request_id = REQUEST_ID.get()

    def write(conn: Any) -> tuple[str, Any, Any, Any]:
        job_id, view, spec = accept_job(conn, r.settings, body, token)
        return job_id, view, spec, (r.scheduler.create(conn, view, spec) if view is not None else None)

    def admit(created: tuple[str, Any, Any, Any]) -> tuple[str, Any]:
        job_id, view, spec, done = created
        if view is not None:
            r.scheduler.admit(view, spec, done)  # registered only once committed
            r.metrics.jobs_created.inc()
            log.info("job %s created (%d task(s))", job_id, len(view.tasks), extra={"request_id": request_id})
        return job_id, done

    # answered once the job is durable: concurrent creates share that commit (group_commit)
    job_id, done = await r.commits.run(write, admit)
    if done is not None:
        await r.scheduler.after_commit(done, job_id)
    return JSONResponse({"Id": job_id}, status_code=201)


#: a plain Starlette route: it reads its Request and returns its Response itself, so FastAPI's
#: dependency solving and response handling (~50 us of a create's CPU) have nothing to do
router.add_route("/jobs", create_job, methods=["POST"])


@router.get("/jobs")
async def list_jobs(request: Request) -> dict[str, Any]:
    r = rt(request)
    marker, size = page(request)
    q = request.query_params
    state = q.get("State", "").strip()
    reverse = q.get("IsReverse", "").strip().lower() in ("true", "1", "yes")
    with r.engine.connect() as conn:
        rows, next_marker = repo.list_jobs(
            conn,
            state=state,
            marker=marker,
            limit=size,
            reverse=reverse,
            cluster_id=q.get("ClusterId", "").strip(),
        )
        counts = repo.job_metrics(conn, [row.id for row in rows])
    items = [render.job(row, *counts[row.id]) for row in rows]
    return {"NextMarker": next_marker, "Items": items}


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    with r.engine.connect() as conn:
        row = _job_or_error(conn, job_id)
        if "description" in request.query_params:
            return {"Id": row.id, **(row.description or {})}
        counts = repo.job_metrics(conn, [row.id])[row.id]
    return render.job(row, *counts)


@router.post("/jobs/{job_id}/stop", status_code=201)
async def stop_job(job_id: str, request: Request) -> Response:
    return await _action(request, job_id, "StopJob", core.StopRequested())


@router.post("/jobs/{job_id}/start", status_code=201)
async def start_job(job_id: str, request: Request) -> Response:
    return await _action(request, job_id, "StartJob", core.StartRequested())


async def _action(request: Request, job_id: str, action: JobAction, event: core.Event) -> Response:
    r = rt(request)
    with r.scheduler.transaction() as conn:
        row = _job_or_error(conn, job_id)
        if not allows(action, row.state):
            raise error("state_conflict", state=row.state)
        if isinstance(event, core.StartRequested):
            check_restartable(conn, job_id)
        done = r.scheduler.adopt(conn, job_id, JobDescription.model_validate(row.description), event)
    await r.scheduler.after_commit(done, job_id if isinstance(event, core.StartRequested) else None)
    return Response(status_code=201)


@router.delete("/jobs/{job_id}", status_code=204)
async def delete_job(job_id: str, request: Request) -> Response:
    r = rt(request)
    with r.engine.begin() as conn:
        row = _job_or_error(conn, job_id)
        if not allows("DeleteJob", row.state):
            raise error("state_conflict", state=row.state)
        release_job(conn, job_id, reason="DeleteJob", sandbox_root=r.settings.sandbox_root)
    r.scheduler.forget(job_id)
    r.scheduler.wake()
    return Response(status_code=204)


@router.put("/jobs/{job_id}")
async def change_priority(job_id: str, request: Request) -> Response:
    r = rt(request)
    body = await read_json(request)
    with r.scheduler.transaction() as conn:
        row = _job_or_error(conn, job_id)
        priority = parse_priority(body)
        if not allows("ChangePriority", row.state):
            raise error("state_conflict", state=row.state)
        _set_priority(r, conn, row, priority)
    return Response(status_code=200)


@router.patch("/jobs/{job_id}")
async def patch_job(job_id: str, request: Request) -> Response:
    """Extension: change Priority / Description / Notification in any state."""
    r = rt(request)
    body = await read_json(request)
    with r.scheduler.transaction() as conn:
        row = _job_or_error(conn, job_id)
        update = parse_job_update(body)
        desc = dict(row.description or {})
        fields = update.model_dump(by_alias=True, exclude_unset=True)
        if "Description" in fields:
            desc["Description"] = fields["Description"]
        if "Notification" in fields:
            desc["Notification"] = fields["Notification"]
        repo.set_job(conn, job_id, description=desc)
        r.scheduler.update_spec(job_id, JobDescription.model_validate(desc))
        if fields.get("Priority") is not None:
            _set_priority(r, conn, repo.get_job(conn, job_id), int(fields["Priority"]))
    return Response(status_code=200)


def _set_priority(r: Any, conn: Any, row: Any, priority: int) -> None:
    desc = dict(row.description or {})
    desc["Priority"] = priority
    repo.set_job(conn, row.id, priority=priority, description=desc)
    r.scheduler.set_priority(conn, row.id, priority, JobDescription.model_validate(desc))


@router.get("/jobs/{job_id}/history")
async def job_history(job_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    with r.engine.connect() as conn:
        _job_or_error(conn, job_id)
        rows = repo.history(conn, job_id)
    return {
        "Items": [
            {
                "Scope": h.scope,
                "Task": h.task,
                "Instance": h.instance,
                "From": h.from_state,
                "To": h.to_state,
                "Cause": h.cause,
                "Time": render.ts(h.at),
            }
            for h in rows
        ]
    }
