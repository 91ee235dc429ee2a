"""InstanceTypes the service does not offer: ``InvalidAutoCluster.InstanceType`` / ``InvalidInstanceType``.

The API lists what it offers at ``GET /available`` and the reference makes CreateJob's AutoCluster
``InstanceType`` "must be in the quotas list" (§6.8), with the code family it suggests for
AutoCluster fields (``InvalidAutoCluster.InstanceType``, §9). Which types are offered is a fact of
a service, not of the contract, so the caller passes the list: bcsd its own table, the provider
the list the configured endpoint publishes. Only bodies the rule walk accepted are looked at, and
only the instance types that take effect (an AutoCluster beside a ClusterId is ignored, §12 #10;
a cluster group without a type uses the cluster's).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from api.errors import ApiError, error
from api.rules.dag import auto_cluster_taking_effect


def _refused(value: str, offered: Collection[str], path: str, param: str) -> ApiError:
    listed = ", ".join(sorted(offered))
    detail = f"InstanceType {value} is not offered by this service (GET /available lists: {listed})."
    return error("detail", path, param=param, detail=detail)


def job_instance_type_errors(body: dict[str, Any], offered: Collection[str]) -> Iterator[ApiError]:
    """One error per task whose AutoCluster (the one that takes effect) names a type not offered;
    parts of the wrong shape are skipped (the rule walk reports them), so it runs beside it."""
    dag = body.get("DAG")
    tasks = dag.get("Tasks") if isinstance(dag, dict) else None
    for name, task in tasks.items() if isinstance(tasks, dict) else ():
        auto = auto_cluster_taking_effect(task) if isinstance(task, dict) else None
        if auto is None:
            continue
        value = auto.get("InstanceType")
        if isinstance(value, str) and value and value not in offered:
            path = f"DAG.Tasks.{name}.AutoCluster.InstanceType"
            yield _refused(value, offered, path, "AutoCluster.InstanceType")


def cluster_instance_type_errors(body: dict[str, Any], offered: Collection[str]) -> Iterator[ApiError]:
    """Errors for the cluster's InstanceType and each group's own one, when not offered."""
    value = body.get("InstanceType")
    if isinstance(value, str) and value and value not in offered:
        yield _refused(value, offered, "InstanceType", "InstanceType")
    groups = body.get("Groups")
    for name, group in groups.items() if isinstance(groups, dict) else ():
        value = group.get("InstanceType") if isinstance(group, dict) else None
        if isinstance(value, str) and value and value not in offered:
            path = f"Groups.{name}.InstanceType"
            yield _refused(value, offered, path, path)
