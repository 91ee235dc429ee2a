"""Models of CreateCluster and ModifyCluster bodies (reference §6.10, §5.4 C4)."""

from __future__ import annotations

from pydantic import Field

from api.models.base import Omittable, WireModel
from api.models.common import Configs, Notification


class GroupDescription(WireModel):
    """An instance group: how many VMs of which type (InstanceType falls back to the cluster's)."""

    desired_vm_count: int | None = Field(default=None, alias="DesiredVMCount")
    instance_type: str = ""
    resource_type: str | None = None
    spot_strategy: str | None = None
    spot_price_limit: float | None = None
    hostname_prefix: str | None = None
    image_id: str | None = None
    mode: str | None = None


class ClusterInputMappingConfig(WireModel):
    """How a cluster's InputMapping is mounted. No defaults (unlike a task's): a cluster renders
    exactly what was sent."""

    locale: str | None = None
    lock: bool | None = None


class ClusterDescription(WireModel):
    """The body of CreateCluster, in the normal form the service stores (``wire``)."""

    name: str
    description: str = ""
    image_id: str
    instance_type: str = ""
    groups: dict[str, GroupDescription]
    user_data: dict[str, str] = {}
    env_vars: dict[str, str] = {}
    input_mapping: dict[str, str] = {}
    input_mapping_config: Omittable[ClusterInputMappingConfig] = None
    bootstrap: str = ""
    configs: Omittable[Configs] = None
    notification: Omittable[Notification] = None
    schedule_type: str | None = None
    password_inherit: bool | None = None
    dependency_isv_service: str | None = None


class ModifyClusterDescription(WireModel):
    """The partial body of ``PUT /clusters/{id}``: every key optional; absent = no change."""

    image_id: str | None = None
    groups: dict[str, GroupDescription] | None = None
    user_data: dict[str, str] | None = None
    env_vars: dict[str, str] | None = None
    input_mapping: dict[str, str] | None = None
    input_mapping_config: ClusterInputMappingConfig | None = None
    configs: Configs | None = None
    notification: Notification | None = None
