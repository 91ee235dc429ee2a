"""The CreateJob body as a table, in the API's order of checks (seed error table, reference §9.4).

Order: the job's own keys top-down as the seed lists them (Name, Description, Priority, Type,
JobFailOnInstanceFail, then AutoRelease and Notification, which the seed has no rows for), then
DAG: Tasks (type, size, then each task: its name, then its keys in seed order), Dependencies,
then the cross-task rules (undeclared names, cycles). First failure wins in first-error mode.
"""

from __future__ import annotations

from api.rules.common import (
    MAX_INT,
    configs,
    env_vars,
    input_mapping,
    mounts,
    notification,
    spot_fields,
    user_data,
)
from api.rules.dag import check_dag, check_task_cluster
from api.rules.field import CheckAfter, Field
from api.types import JOB_EVENTS, LOCALES, RESOURCE_TYPES

COMMAND = Field(
    "Command",
    "object",
    required=True,
    fields=(
        Field("CommandLine", "string", required=True, length=(0, 1024)),
        # "" = no package (reference §12 #9); a package is a file, so no trailing '/'
        Field("PackagePath", "string", length=(0, 1024), form="oss_file", allow_empty=True),
        env_vars(),
        # SDK-only newer key (reference §6.6): {"Image": ""} means no container
        Field("Docker", "object", prefix=True, fields=(Field("Image", "string"),)),
    ),
)

PARAMETERS = Field(
    "Parameters",
    "object",
    required=True,
    fields=(
        COMMAND,
        Field(
            "InputMappingConfig",
            "object",
            fields=(
                Field("Locale", "string", type_rule="generic", choices=LOCALES),
                Field("Lock", "boolean"),
            ),
        ),
        # required in the seed but with no Missing code: "" = output discarded (reference §12 #8)
        Field("StdoutRedirectPath", "string", length=(0, 1024), form="oss_dir", allow_empty=True),
        Field("StderrRedirectPath", "string", length=(0, 1024), form="oss_dir", allow_empty=True),
    ),
)

AUTO_CLUSTER = Field(
    "AutoCluster",
    "object",
    prefix=True,
    fields=(
        Field("ImageId", "string"),
        Field("ECSImageId", "string"),
        Field("InstanceType", "string"),
        *spot_fields(RESOURCE_TYPES),
        user_data(),
        configs(),
        Field("ReserveOnFail", "boolean"),
        Field("DependencyIsvService", "string"),
        Field("ClusterId", "string"),
    ),
)

TASK = Field(
    "Tasks",
    "object",
    fields=(
        PARAMETERS,
        input_mapping(),
        Field(
            "OutputMapping",
            "map",
            size=(0, 16),
            key=Field("key", "string", length=(1, 1024), form="local"),
            value=Field("value", "string", length=(0, 1024), form="oss"),
        ),
        Field(
            "LogMapping",
            "map",
            size=(0, 16),
            key=Field("key", "string", length=(1, 1024), form="local"),
            value=Field("value", "string", length=(0, 1024), form="oss_dir"),
        ),
        # the seed has type rows only; ranges are ours (reference §9.4: reject negatives)
        Field("InstanceCount", "integer", required=True, range=(1, MAX_INT)),
        Field("MaxRetryCount", "integer", range=(0, MAX_INT)),
        Field("Timeout", "integer", range=(1, MAX_INT)),
        # "" beside an AutoCluster is what the CLI sends: it means "no cluster id" (§12 #10),
        # so the [1, 64] length row applies to non-empty ids only
        Field("ClusterId", "string", empty_is_absent=True, length=(1, 64), charset="charset"),
        AUTO_CLUSTER,
        mounts("Mounts"),
        Field("WriteSupport", "boolean"),
    ),
    # which of ClusterId / AutoCluster takes effect needs only those two keys to be well formed
    checks=(CheckAfter(check_task_cluster, needs=("ClusterId", "AutoCluster")),),
)

DAG = Field(
    "DAG",
    "object",
    required=True,
    fields=(
        Field(
            "Tasks",
            "map",
            required=True,
            size=(1, 16),  # the seed's meaning column says UserData: a copy slip, it is the task count
            key=Field("key", "string", length=(1, 64), charset="task_charset"),
            value=TASK,
        ),
        Field(
            "Dependencies",
            "map",
            value=Field(
                "value",
                "array",
                items=Field("value", "string", type_rule="generic"),
            ),
        ),
    ),
    # Dependencies naming undeclared tasks (then cycles) need only the task names, not valid tasks
    checks=(CheckAfter(check_dag, needs=("Dependencies",)),),
)

JOB = Field(
    "HttpBody",
    "object",
    fields=(
        Field("Name", "string", required=True, length=(1, 64), charset="charset"),
        Field("Description", "string", length=(0, 1024)),
        # the seed says [0, 1000]; the SDK docstring says 0-999: we follow the seed (§12 #13)
        Field("Priority", "integer", range=(0, 1000)),
        Field("Type", "string", required=True, type_rule="generic", choices=("DAG",)),
        Field("JobFailOnInstanceFail", "boolean"),
        Field("AutoRelease", "boolean"),
        notification(JOB_EVENTS),
        DAG,
    ),
)
