"""Clusters and their VMs. A VM is an execution slot: a named cluster owns DesiredVMCount of
them per group; an AutoCluster is an anonymous cluster created for one task."""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from sqlalchemy import Connection

from api import AutoCluster, ClusterDescription
from api.errors import ApiError, error
from api.states import ACTIVE_STATES
from service.config import Settings
from service.store import repo

_ALNUM = string.ascii_lowercase + string.digits


def new_cluster_id() -> str:
    return "cls-" + "".join(secrets.choice(_ALNUM) for _ in range(22))


def new_vm_id() -> str:
    return "i-" + "".join(secrets.choice(_ALNUM) for _ in range(20))


def new_vm_rows(cluster_id: str, group: str, n: int, now: float) -> list[dict[str, Any]]:
    return [
        {
            "id": new_vm_id(),
            "cluster_id": cluster_id,
            "group_name": group,
            "state": "Running",
            "creation_time": now,
        }
        for _ in range(n)
    ]


def create_named_cluster(conn: Connection, settings: Settings, cluster: ClusterDescription, seq: int) -> str:
    now = time.time()
    cluster_id = new_cluster_id()
    group_rows, vm_rows = [], []
    for name, group in cluster.groups.items():
        desired = group.desired_vm_count or 0
        group_rows.append(
            {
                "cluster_id": cluster_id,
                "name": name,
                "desired": desired,
                "instance_type": group.instance_type or cluster.instance_type,
                "spec": group.wire,
            }
        )
        vm_rows.extend(new_vm_rows(cluster_id, name, desired, now))
    repo.insert_cluster(
        conn,
        {
            "id": cluster_id,
            "seq": seq,
            "name": cluster.name,
            "kind": "named",
            "owner_id": settings.owner_id,
            "state": "Active",
            "description": cluster.wire,
            "creation_time": now,
        },
        group_rows,
    )
    repo.add_vms(conn, vm_rows)
    return cluster_id


def create_auto_cluster(
    conn: Connection, job_id: str, task: str, auto: AutoCluster, instance_count: int, settings: Settings
) -> str:
    """The task's anonymous cluster: min(InstanceCount, auto_cluster_max_vms) VMs, one group."""
    now = time.time()
    cluster_id = new_cluster_id()
    n = settings.auto_cluster_vms(instance_count)
    itype = auto.instance_type
    repo.insert_cluster(
        conn,
        {
            "id": cluster_id,
            "seq": time.time_ns(),
            "name": f"auto-{job_id}-{task}",
            "kind": "auto",
            "owner_id": settings.owner_id,
            "state": "Active",
            "description": {"AutoCluster": auto.wire},
            "job_id": job_id,
            "task_name": task,
            "creation_time": now,
        },
        [{"cluster_id": cluster_id, "name": "default", "desired": n, "instance_type": itype, "spec": {}}],
    )
    repo.add_vms(conn, new_vm_rows(cluster_id, "default", n, now))
    return cluster_id


def resize_group(conn: Connection, cluster_id: str, group: str, desired: int) -> None:
    """Grow by adding free slots; shrink by removing free slots first (busy ones are removed
    when their instance ends: they are marked Deleting and never handed out again)."""
    current = repo.cluster_vms(conn, cluster_id, group)
    live = [v for v in current if v.state == "Running"]
    if desired > len(live):
        repo.add_vms(conn, new_vm_rows(cluster_id, group, desired - len(live), time.time()))
    elif desired < len(live):
        surplus = len(live) - desired
        free = [v.id for v in live if not v.busy_job][:surplus]
        repo.delete_vms(conn, free)
        busy = [v.id for v in live if v.busy_job][: surplus - len(free)]
        from sqlalchemy import update

        from service.store.schema import vms

        if busy:
            conn.execute(update(vms).where(vms.c.id.in_(busy)).values(state="Deleting"))
    repo.set_group(conn, cluster_id, group, desired=desired)


def modify_cluster(conn: Connection, cluster_id: str, changes: dict[str, Any]) -> None:
    cluster = repo.get_cluster(conn, cluster_id)
    if cluster is None or cluster.kind != "named":
        raise error("not_found")
    if cluster.state != "Active":
        raise error("state_conflict", state=cluster.state)
    groups = {g.name: g for g in repo.cluster_groups(conn, cluster_id)}
    for name, change in (changes.get("Groups") or {}).items():
        if name not in groups:
            raise error("not_found")
        spec = dict(groups[name].spec or {})
        spec.update({k: v for k, v in change.items() if v is not None})
        values: dict[str, Any] = {"spec": spec}
        if change.get("InstanceType"):
            values["instance_type"] = change["InstanceType"]
        repo.set_group(conn, cluster_id, name, **values)
        if change.get("DesiredVMCount") is not None:
            resize_group(conn, cluster_id, name, int(change["DesiredVMCount"]))
    desc = dict(cluster.description or {})
    for key, value in changes.items():
        if key == "Groups" or value is None:
            continue
        desc[key] = value
    groups_desc = dict(desc.get("Groups") or {})
    for g in repo.cluster_groups(conn, cluster_id):
        groups_desc[g.name] = {**(g.spec or {}), "DesiredVMCount": g.desired}
    desc["Groups"] = groups_desc
    repo.set_cluster(conn, cluster_id, description=desc)


def jobs_using(conn: Connection, cluster_id: str) -> list[str]:
    """Ids of the Waiting/Running jobs with a task on the named cluster, oldest first.

    DeleteCluster refuses while there are any: their waiting instances would otherwise wait
    for a VM that can never appear (the provider's Cluster delete refuses for the same reason).
    """
    from sqlalchemy import and_, select

    from service.store.schema import jobs, tasks

    on_cluster = select(tasks.c.job_id).where(tasks.c.cluster_id == cluster_id)
    query = select(jobs.c.id).where(and_(jobs.c.state.in_(sorted(ACTIVE_STATES)), jobs.c.id.in_(on_cluster)))
    return [row.id for row in conn.execute(query.order_by(jobs.c.seq))]


def in_use_error(cluster_id: str, job_ids: list[str]) -> ApiError:
    """409 StateConflict naming (up to ten of) the jobs that still use the cluster."""
    shown = ", ".join(job_ids[:10]) + (f" and {len(job_ids) - 10} more" if len(job_ids) > 10 else "")
    state = f"Active; cluster {cluster_id} is used by Waiting/Running jobs: {shown}"
    return error("state_conflict", state=state)


def drop_deleting_vms(conn: Connection) -> None:
    """Remove shrunk-away VMs once their instance has ended."""
    from sqlalchemy import and_, delete

    from service.store.schema import vms

    conn.execute(delete(vms).where(and_(vms.c.state == "Deleting", vms.c.busy_job == "")))
