"""One VM of a named cluster: DeleteClusterInstance and RecreateClusterInstance (reference §5.5).

A VM is an execution slot. Both calls first mark it ``Deleting`` with a conditional UPDATE, so a
VM already on its way out is a 409 and, on a shared PostgreSQL, a node claiming slots
(``FOR UPDATE SKIP LOCKED``, only ``Running`` VMs) never hands it out again. A free VM is then
removed at once; a VM running an instance is drained: it stays ``Deleting`` until that instance
ends and is then gone (hidden from reads, swept by the next write). Delete lowers the group's
``DesiredVMCount`` by one (the Java SDK's documented effect); Recreate keeps it and adds the
replacement VM (a new id) at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, delete, update

from api.errors import error
from service.clusters import drop_deleting_vms, new_vm_rows
from service.store import repo
from service.store.schema import vms


def visible(vm: Any) -> bool:
    """False for a drained VM whose instance has ended: it is deleted as far as clients know."""
    return not (vm.state == "Deleting" and not vm.busy_job)


def _retire(conn: Connection, cluster_id: str, group: str, vm_id: str) -> None:
    """Check the path, mark the VM Deleting, and remove it now when no instance runs on it."""
    drop_deleting_vms(conn)
    cluster = repo.get_cluster(conn, cluster_id)
    if cluster is None or cluster.kind != "named":
        raise error("not_found")
    if cluster.state != "Active":
        raise error("state_conflict", state=cluster.state)
    in_group = and_(vms.c.id == vm_id, vms.c.cluster_id == cluster_id, vms.c.group_name == group)
    still_running = and_(in_group, vms.c.state == "Running")
    marked = conn.execute(update(vms).where(still_running).values(state="Deleting"))
    if marked.rowcount == 0:
        if any(v.id == vm_id and visible(v) for v in repo.cluster_vms(conn, cluster_id, group)):
            raise error("state_conflict", state="Deleting")
        raise error("not_found")
    conn.execute(delete(vms).where(and_(in_group, vms.c.busy_job == "")))


def delete_vm(conn: Connection, cluster_id: str, group: str, vm_id: str) -> None:
    """DeleteClusterInstance: the VM goes, and the group wants one VM fewer."""
    _retire(conn, cluster_id, group, vm_id)
    (row,) = [g for g in repo.cluster_groups(conn, cluster_id) if g.name == group]
    desired = max(0, int(row.desired) - 1)
    repo.set_group(conn, cluster_id, group, desired=desired)
    cluster = repo.get_cluster(conn, cluster_id)
    assert cluster is not None  # _retire found it in this transaction
    desc = dict(cluster.description or {})
    groups_desc = dict(desc.get("Groups") or {})
    groups_desc[group] = {**dict(groups_desc.get(group) or {}), "DesiredVMCount": desired}
    repo.set_cluster(conn, cluster_id, description={**desc, "Groups": groups_desc})


def recreate_vm(conn: Connection, cluster_id: str, group: str, vm_id: str, now: float) -> str:
    """RecreateClusterInstance: the VM is released and a replacement (returned id) takes its place."""
    _retire(conn, cluster_id, group, vm_id)
    (replacement,) = new_vm_rows(cluster_id, group, 1, now)
    repo.add_vms(conn, [replacement])
    return str(replacement["id"])
