"""Models shared by jobs and clusters: Notification, Configs (Disks, Mounts, Networks)."""

from __future__ import annotations

from pydantic import Field

from api.models.base import Omittable, OrderFree, WireModel


class Topic(WireModel):
    """An MNS topic and the events published to it (reference §6.2, §10)."""

    name: str = ""
    endpoint: str = ""
    events: OrderFree = []


class Notification(WireModel):
    """Notification settings of a job or a cluster."""

    topic: Omittable[Topic] = None


class Disk(WireModel):
    """System or data disk of the VMs: type, size in GB, and (data disk) mount point."""

    type: str | None = None
    size: int | None = None
    mount_point: str | None = None


class Disks(WireModel):
    """SystemDisk and DataDisk of the VMs."""

    system_disk: Omittable[Disk] = None
    data_disk: Omittable[Disk] = None


class MountEntry(WireModel):
    """One mount: an ``oss://`` or ``nas://`` source exposed at a local destination."""

    source: str | None = None
    destination: str | None = None
    write_support: bool | None = None


class NAS(WireModel):
    """NAS access groups and file systems."""

    access_group: OrderFree = []
    file_system: OrderFree = []


class OSSCredentials(WireModel):
    """Credentials for OSS mounts (both token spellings are accepted, reference §12 #23)."""

    access_key_id: str | None = None
    access_key_secret: str | None = None
    access_security_token: str | None = None
    security_token: str | None = None


class Mounts(WireModel):
    """Mounts of a task, a cluster or an AutoCluster (reference §6.9.3)."""

    entries: list[MountEntry] = []
    locale: str | None = None
    lock: bool | None = None
    cache_support: bool | None = None
    cache_block_size: int | None = None
    cache_total_size: int | None = None
    nas_meta_cache: bool | None = None
    nas: Omittable[NAS] = Field(default=None, alias="NAS")
    oss: Omittable[OSSCredentials] = Field(default=None, alias="OSS")


class Classic(WireModel):
    """Classic-network allow lists."""

    allow_ip_address: OrderFree = []
    allow_ip_address_egress: OrderFree = []
    allow_security_group: OrderFree = []
    allow_security_group_egress: OrderFree = []


class VPC(WireModel):
    """VPC settings (CidrBlock, own VpcId, express-connect peering)."""

    cidr_block: str | None = None
    vpc_id: str | None = None
    express_connect_spec: str | None = None
    opposite_region_id: str | None = None
    opposite_access_point_id: str | None = None
    opposite_router_type: str | None = None
    opposite_router_id: str | None = None
    opposite_interface_id: str | None = None


class Networks(WireModel):
    """Classic or VPC networking of the VMs."""

    classic: Omittable[Classic] = None
    vpc: Omittable[VPC] = Field(default=None, alias="VPC")


class Configs(WireModel):
    """Cluster configuration shared by ClusterDescription and AutoCluster (reference §6.9)."""

    disks: Omittable[Disks] = None
    mounts: Omittable[Mounts] = None
    networks: Omittable[Networks] = None
