"""Named clusters: create, get, list, modify, delete; cluster instances (VM slots)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api import cluster_instance_type_errors, parse_cluster, parse_modify_cluster
from api.errors import error
from service import render
from service.cluster_vms import delete_vm, recreate_vm, visible
from service.clusters import create_named_cluster, in_use_error, jobs_using, modify_cluster
from service.config import INSTANCE_TYPES
from service.idempotency import replayed
from service.jobs import next_seq, spec_hash
from service.routes.common import idempotent_token, page, read_json, rt
from service.store import repo

router = APIRouter()


def _cluster_or_error(conn: Any, cluster_id: str) -> Any:
    row = repo.get_cluster(conn, cluster_id)
    if row is None or row.kind != "named":
        raise error("not_found")
    return row


@router.post("/clusters", status_code=201)
async def create_cluster(request: Request) -> JSONResponse:
    r = rt(request)
    token = idempotent_token(request)
    body = await read_json(request)
    model = parse_cluster(body)
    # only a type this service offers (its /available table) can ever run (issue 13)
    for refused in cluster_instance_type_errors(body, INSTANCE_TYPES) if isinstance(body, dict) else ():
        raise refused
    digest = spec_hash(model.wire)
    with r.engine.begin() as conn:
        if (earlier := replayed(conn, "cluster", token, digest)) is not None:
            return JSONResponse({"Id": earlier}, status_code=201)
        cluster_id = create_named_cluster(conn, r.settings, model, next_seq())
        if token:
            repo.save_token(conn, "cluster", token, cluster_id, digest, 0.0)
    r.scheduler.wake()
    return JSONResponse({"Id": cluster_id}, status_code=201)


@router.get("/clusters")
async def list_clusters(request: Request) -> dict[str, Any]:
    r = rt(request)
    marker, size = page(request)
    with r.engine.connect() as conn:
        rows, nxt = repo.list_clusters(conn, marker, size)
        items = [
            render.cluster(c, repo.cluster_groups(conn, c.id), repo.cluster_vms(conn, c.id)) for c in rows
        ]
    return {"NextMarker": nxt, "Items": items}


@router.get("/clusters/{cluster_id}")
async def get_cluster(cluster_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    with r.engine.connect() as conn:
        row = _cluster_or_error(conn, cluster_id)
        return render.cluster(row, repo.cluster_groups(conn, cluster_id), repo.cluster_vms(conn, cluster_id))


@router.put("/clusters/{cluster_id}")
async def put_cluster(cluster_id: str, request: Request) -> Response:
    r = rt(request)
    body = await read_json(request, allow_empty=True)
    parse_modify_cluster(body)
    assert isinstance(body, dict)
    # a group may be moved to another type: the same offer applies as at CreateCluster
    for refused in cluster_instance_type_errors(body, INSTANCE_TYPES):
        raise refused
    with r.engine.begin() as conn:
        modify_cluster(conn, cluster_id, body)
    r.scheduler.wake()  # grown clusters have new free slots
    return Response(status_code=200)


@router.delete("/clusters/{cluster_id}", status_code=204)
async def delete_cluster(cluster_id: str, request: Request) -> Response:
    r = rt(request)
    with r.engine.begin() as conn:
        row = _cluster_or_error(conn, cluster_id)
        if row.state != "Active":
            raise error("state_conflict", state=row.state)
        if users := jobs_using(conn, cluster_id):
            raise in_use_error(cluster_id, users)
        repo.delete_cluster(conn, cluster_id)
    return Response(status_code=204)


@router.get("/clusters/{cluster_id}/groups/{group}/instances")
async def list_cluster_instances(cluster_id: str, group: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    marker, size = page(request)
    with r.engine.connect() as conn:
        _cluster_or_error(conn, cluster_id)
        if group not in {g.name for g in repo.cluster_groups(conn, cluster_id)}:
            raise error("not_found")
        vms = [
            v
            for v in repo.cluster_vms(conn, cluster_id, group)
            if visible(v) and (not marker or v.id >= marker)
        ]
    nxt = vms[size].id if len(vms) > size else ""
    return {"NextMarker": nxt, "Items": [render.cluster_vm(v) for v in vms[:size]]}


@router.get("/clusters/{cluster_id}/groups/{group}/instances/{vm_id}")
async def get_cluster_instance(cluster_id: str, group: str, vm_id: str, request: Request) -> dict[str, Any]:
    r = rt(request)
    with r.engine.connect() as conn:
        _cluster_or_error(conn, cluster_id)
        for vm in repo.cluster_vms(conn, cluster_id, group):
            if vm.id == vm_id and visible(vm):
                return render.cluster_vm(vm)
    raise error("not_found")


@router.delete("/clusters/{cluster_id}/groups/{group}/instances/{vm_id}", status_code=202)
async def delete_cluster_instance(cluster_id: str, group: str, vm_id: str, request: Request) -> Response:
    """DeleteClusterInstance (§5.5 G3): 202; the group's DesiredVMCount drops by one."""
    r = rt(request)
    with r.engine.begin() as conn:
        delete_vm(conn, cluster_id, group, vm_id)
    return Response(status_code=202)


@router.post("/clusters/{cluster_id}/groups/{group}/instances/{vm_id}/recreate", status_code=201)
async def recreate_cluster_instance(cluster_id: str, group: str, vm_id: str, request: Request) -> Response:
    """RecreateClusterInstance (§5.5 G4): 201; a replacement VM is free at once."""
    r = rt(request)
    with r.engine.begin() as conn:
        recreate_vm(conn, cluster_id, group, vm_id, time.time())
    r.scheduler.wake()  # the replacement is a free slot
    return Response(status_code=201)
