"""Schema rows shared by job and cluster bodies: Configs, Mounts, Notification, maps, AutoCluster parts."""

from __future__ import annotations

from api.rules.field import Field
from api.types import LOCALES, SPOT_STRATEGIES

MAX_INT = 2**31 - 1


def str_list(wire: str) -> Field:
    """An order-insensitive list of strings (allow lists, NAS groups)."""
    return Field(wire, "array", items=Field(wire, "string"))


def env_vars(wire: str = "EnvVars") -> Field:
    """EnvVars as the seed bounds them: <= 64 keys of 1-128 chars, string values of <= 1024 chars."""
    return Field(
        wire,
        "map",
        size=(0, 64),
        key=Field("key", "string", length=(1, 128)),
        value=Field("value", "string", length=(0, 1024)),
    )


def user_data(wire: str = "UserData") -> Field:
    """Free key/value pairs handed to VMs (no documented bounds beyond string values)."""
    return Field(wire, "map", value=Field("value", "string"))


def input_mapping() -> Field:
    """OSS path -> local path (absolute on Linux, a drive letter on Windows)."""
    return Field(
        "InputMapping",
        "map",
        size=(0, 16),
        key=Field("key", "string", length=(1, 1024), form="oss"),
        value=Field("value", "string", length=(0, 1024), form="local_win"),
    )


def notification(events: tuple[str, ...]) -> Field:
    """Notification.Topic{Name, Endpoint, Events}; Events must come from ``events``."""
    topic = Field(
        "Topic",
        "object",
        fields=(
            Field("Name", "string"),
            Field("Endpoint", "string"),
            Field(
                "Events",
                "array",
                items=Field("Events", "string", type_rule="generic", choices=events),
            ),
        ),
        prefix=True,
    )
    return Field("Notification", "object", fields=(topic,), prefix=True)


def mounts(wire: str) -> Field:
    """Mounts (task-level, or Configs.Mounts of a cluster/AutoCluster)."""
    entry = Field(
        "Entries",
        "object",
        fields=(
            Field("Source", "string"),
            Field("Destination", "string"),
            Field("WriteSupport", "boolean"),
        ),
        prefix=True,
    )
    return Field(
        wire,
        "object",
        prefix=True,
        fields=(
            Field("Entries", "array", items=entry),
            Field("Locale", "string", type_rule="generic", choices=LOCALES),
            Field("Lock", "boolean"),
            Field("CacheSupport", "boolean"),
            Field("CacheBlockSize", "integer", range=(0, MAX_INT)),
            Field("CacheTotalSize", "integer", range=(0, MAX_INT)),
            Field("NasMetaCache", "boolean"),
            Field("NAS", "object", prefix=True, fields=(str_list("AccessGroup"), str_list("FileSystem"))),
            Field(
                "OSS",
                "object",
                prefix=True,
                fields=(
                    Field("AccessKeyId", "string"),
                    Field("AccessKeySecret", "string"),
                    Field("AccessSecurityToken", "string"),
                    Field("SecurityToken", "string"),
                ),
            ),
        ),
    )


def _disk(wire: str) -> Field:
    """SystemDisk or DataDisk. Both share the ``Disk`` model, MountPoint included: a row for it
    on SystemDisk too, else a non-string there reached the model unchecked (a 500)."""
    fields = (
        Field("Type", "string"),
        Field("Size", "integer", range=(0, MAX_INT)),
        Field("MountPoint", "string"),
    )
    return Field(wire, "object", prefix=True, fields=fields)


def configs() -> Field:
    """Configs{Disks, Mounts, Networks} of a cluster or an AutoCluster."""
    classic = Field(
        "Classic",
        "object",
        prefix=True,
        fields=(
            str_list("AllowIpAddress"),
            str_list("AllowIpAddressEgress"),
            str_list("AllowSecurityGroup"),
            str_list("AllowSecurityGroupEgress"),
        ),
    )
    vpc_keys = (
        "CidrBlock", "VpcId", "ExpressConnectSpec", "OppositeRegionId", "OppositeAccessPointId",
        "OppositeRouterType", "OppositeRouterId", "OppositeInterfaceId",
    )  # fmt: skip
    vpc = Field("VPC", "object", prefix=True, fields=tuple(Field(k, "string") for k in vpc_keys))
    return Field(
        "Configs",
        "object",
        prefix=True,
        fields=(
            Field("Disks", "object", prefix=True, fields=(_disk("SystemDisk"), _disk("DataDisk"))),
            mounts("Mounts"),
            Field("Networks", "object", prefix=True, fields=(classic, vpc)),
        ),
    )


def spot_fields(resource_types: tuple[str, ...]) -> tuple[Field, ...]:
    """ResourceType / SpotStrategy / SpotPriceLimit (price: >= 0, at most three decimals)."""
    return (
        Field("ResourceType", "string", type_rule="generic", choices=resource_types),
        Field("SpotStrategy", "string", type_rule="generic", choices=SPOT_STRATEGIES),
        Field("SpotPriceLimit", "number", range=(0, MAX_INT), decimals=3),
    )
