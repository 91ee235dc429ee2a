"""Which of a task's ClusterId and AutoCluster takes effect (reference §12 #10)."""

from __future__ import annotations

from dataclasses import dataclass

from api.models.job import AutoCluster, TaskDescription


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """Exactly one of the two is set for a valid task."""

    cluster_id: str | None
    auto_cluster: AutoCluster | None


def effective_cluster(task: TaskDescription) -> ClusterChoice:
    """A non-empty ClusterId wins (the AutoCluster beside it is ignored); otherwise the AutoCluster.

    For a task that passed validation one of the two is always set.
    """
    if task.cluster_id:
        return ClusterChoice(cluster_id=task.cluster_id, auto_cluster=None)
    return ClusterChoice(cluster_id=None, auto_cluster=task.auto_cluster)
