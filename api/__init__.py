"""The BatchCompute API contract shared by ``bcsd`` (service) and the Pulumi provider.

Pipeline: bytes -> ``parse_json_body`` -> rule walk (``api.rules``: the wire rules as data, in
the API's order of checks) -> frozen pydantic models in the normal form (``.wire`` is what is
stored and compared; a task carries ``effective_auto_cluster`` and ``reserves_on_fail``). Errors all
come from one catalogue (``ERRORS``, built with ``error(key, **ctx)``). Imports only pydantic.
"""

from api.errors import ERRORS, ApiError, ErrorSpec, error
from api.instance_types import cluster_instance_type_errors, job_instance_type_errors
from api.models.cluster import (
    ClusterDescription,
    ClusterInputMappingConfig,
    GroupDescription,
    ModifyClusterDescription,
)
from api.models.common import (
    NAS,
    VPC,
    Classic,
    Configs,
    Disk,
    Disks,
    MountEntry,
    Mounts,
    Networks,
    Notification,
    OSSCredentials,
    Topic,
)
from api.models.job import (
    DAG,
    AutoCluster,
    Command,
    Docker,
    InputMappingConfig,
    JobDescription,
    JobUpdate,
    Parameters,
    TaskDescription,
)
from api.parse import (
    check_cluster,
    check_idempotent_token,
    check_job,
    parse_cluster,
    parse_job,
    parse_job_update,
    parse_json_body,
    parse_modify_cluster,
    parse_priority,
)
from api.quotas import Quotas, quota_errors

__all__ = [
    "DAG",
    "ERRORS",
    "NAS",
    "VPC",
    "ApiError",
    "AutoCluster",
    "Classic",
    "ClusterDescription",
    "ClusterInputMappingConfig",
    "Command",
    "Configs",
    "Disk",
    "Disks",
    "Docker",
    "ErrorSpec",
    "GroupDescription",
    "InputMappingConfig",
    "JobDescription",
    "JobUpdate",
    "ModifyClusterDescription",
    "MountEntry",
    "Mounts",
    "Networks",
    "Notification",
    "OSSCredentials",
    "Parameters",
    "Quotas",
    "TaskDescription",
    "Topic",
    "check_cluster",
    "cluster_instance_type_errors",
    "check_idempotent_token",
    "check_job",
    "error",
    "job_instance_type_errors",
    "parse_cluster",
    "parse_job",
    "parse_job_update",
    "parse_json_body",
    "parse_modify_cluster",
    "parse_priority",
    "quota_errors",
]
