"""CreateCluster, ModifyCluster, ChangeJobPriority and the PATCH /jobs extension as tables.

Reference §5.4, §6.10, §9.5. Choices: DesiredVMCount is accepted in [0, 65536] (0 = scale to
zero; the SDK and Java examples use 0, reference §12 #35); a cluster needs at least one group;
ModifyCluster bodies are entirely optional (the SDK sends partial bodies, §12 #36).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.errors import ApiError, error
from api.rules.common import configs, env_vars, input_mapping, notification, spot_fields, user_data
from api.rules.field import Field
from api.rules.job import JOB
from api.types import CLUSTER_EVENTS, CLUSTER_RESOURCE_TYPES, LOCALES

MAX_VM_COUNT = 65536


def _group(desired_required: bool) -> Field:
    return Field(
        "Groups",
        "object",
        fields=(
            Field("DesiredVMCount", "integer", required=desired_required, range=(0, MAX_VM_COUNT)),
            Field("InstanceType", "string"),
            *spot_fields(CLUSTER_RESOURCE_TYPES),
            Field("HostnamePrefix", "string"),
            Field("ImageId", "string"),
            Field("Mode", "string"),
        ),
    )


def _groups(required: bool, min_size: int) -> Field:
    return Field(
        "Groups",
        "map",
        required=required,
        size=(min_size, 64),
        key=Field("key", "string", length=(1, 64), charset="charset"),
        value=_group(desired_required=required),
    )


def _input_mapping_config() -> Field:
    """How a cluster's InputMapping is mounted. No defaults filled in (unlike a task's): a
    cluster renders exactly what was sent, ``{}`` when nothing was."""
    return Field(
        "InputMappingConfig",
        "object",
        prefix=True,
        fields=(
            Field("Locale", "string", type_rule="generic", choices=LOCALES),
            Field("Lock", "boolean"),
        ),
    )


def check_group_instance_types(cluster: dict[str, Any], param: str, path: str) -> Iterator[ApiError]:
    """A group without InstanceType falls back to the cluster's; one of the two must be set."""
    if cluster.get("InstanceType"):
        return
    for name, group in cluster["Groups"].items():
        if not group.get("InstanceType"):
            yield error("missing", f"{path}.Groups.{name}.InstanceType", param="InstanceType")


CLUSTER = Field(
    "HttpBody",
    "object",
    fields=(
        Field("Name", "string", required=True, length=(1, 64), charset="charset"),
        Field("Description", "string", length=(0, 1024)),
        Field("ImageId", "string", required=True, empty_is_absent=True, length=(1, 128)),
        Field("InstanceType", "string"),
        _groups(required=True, min_size=1),
        user_data(),
        env_vars(),
        input_mapping(),
        _input_mapping_config(),
        Field("Bootstrap", "string"),
        configs(),
        notification(CLUSTER_EVENTS),
        Field("ScheduleType", "string"),
        Field("PasswordInherit", "boolean"),
        Field("DependencyIsvService", "string"),
    ),
    checks=(check_group_instance_types,),
)

MODIFY_CLUSTER = Field(
    "HttpBody",
    "object",
    fields=(
        Field("ImageId", "string", length=(1, 128)),
        _groups(required=False, min_size=0),
        user_data(),
        env_vars(),
        input_mapping(),
        _input_mapping_config(),
        configs(),
        notification(CLUSTER_EVENTS),
    ),
)

PRIORITY = Field(
    "HttpBody",
    "object",
    fields=(Field("Priority", "integer", required=True, range=(0, 1000)),),
)


def _job_field(wire: str) -> Field:
    return next(f for f in JOB.fields if f.wire == wire)


UPDATABLE_JOB_KEYS: tuple[str, ...] = ("Priority", "Description", "Notification")


def check_job_update_keys(body: dict[str, Any], param: str, path: str) -> Iterator[ApiError]:
    """PATCH /jobs/{id} changes only Priority, Description and Notification; anything else is
    rejected rather than silently ignored, so a user never believes a DAG change was applied."""
    for key in body:
        if key not in UPDATABLE_JOB_KEYS:
            yield error(
                "detail",
                key,
                param=key,
                detail="Only Priority, Description and Notification can be modified.",
            )


JOB_UPDATE = Field(
    "HttpBody",
    "object",
    fields=tuple(_job_field(k) for k in UPDATABLE_JOB_KEYS),
    checks=(check_job_update_keys,),
)
