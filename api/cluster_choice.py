"""Which of a task's ClusterId and AutoCluster takes effect (reference §12 #10), written once.

A non-empty ClusterId wins and the AutoCluster beside it is ignored (the seed's own example has
both); otherwise the AutoCluster takes effect if someone filled it in. The validator, the
instance-type check, job acceptance, the launcher and the provider's outputs all ask here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:  # the models import the rules, which import this module
    from api.models.job import AutoCluster, TaskDescription


@dataclass(frozen=True, slots=True)
class ClusterChoice:
    """Exactly one of the two is set for a valid task."""

    cluster_id: str | None
    auto_cluster: AutoCluster | None


def auto_cluster_in_use(auto: Any) -> TypeGuard[Mapping[str, Any]]:
    """An AutoCluster someone filled in: it names an instance type or an image.

    The SDK materialises ``{"InstanceType": "", "ECSImageId": "", …}`` on mere attribute access,
    and the CLI sends ``AutoCluster: {}`` beside a ClusterId; neither is a cluster request.
    """
    if not isinstance(auto, Mapping):
        return False
    return any(auto.get(k) for k in ("InstanceType", "ImageId", "ECSImageId"))


def effective_auto_cluster(task: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The wire-shaped AutoCluster that takes effect for a wire-shaped task, or ``None`` when a
    non-empty ClusterId is set or the AutoCluster names nothing."""
    if task.get("ClusterId"):
        return None
    auto = task.get("AutoCluster")
    return auto if auto_cluster_in_use(auto) else None


def reserves_on_fail(task: Mapping[str, Any]) -> bool:
    """Whether a failure keeps the task's VMs (and its sandboxes): only an AutoCluster that takes
    effect can reserve them; a named cluster's VMs are never the task's to keep."""
    auto = effective_auto_cluster(task)
    return bool(auto is not None and auto.get("ReserveOnFail"))


def effective_cluster(task: TaskDescription) -> ClusterChoice:
    """The model-level choice: a non-empty ClusterId wins; otherwise the AutoCluster.

    For a task that passed validation one of the two is always set.
    """
    if task.cluster_id:
        return ClusterChoice(cluster_id=task.cluster_id, auto_cluster=None)
    return ClusterChoice(cluster_id=None, auto_cluster=task.auto_cluster)
