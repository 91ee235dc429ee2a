"""Every endpoint of bcsd as data: what the OpenAPI document says about it.

One row per (method, path). ``tests/service/test_openapi.py`` checks that the rows and the app's
routes are the same set, so an endpoint cannot be added without being documented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from api import ClusterDescription, JobDescription, JobUpdate, ModifyClusterDescription
from api.states import RUN_STATES
from service.openapi import responses as r


@dataclass(frozen=True)
class Query:
    """A query parameter. ``flag``: a bare key whose presence is the value (``?description``)."""

    name: str
    schema: dict[str, Any]
    description: str
    flag: bool = False


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    status: int = 200
    response: type[BaseModel] | dict[str, Any] | None = None  # a model, a JSON schema, or None: no body
    body: type[BaseModel] | None = None
    query: tuple[Query, ...] = ()
    errors: tuple[int, ...] = (400, 403, 404)
    public: bool = False
    media_type: str = "application/json"
    extension: bool = False
    example: dict[str, Any] | None = None  # a request body the service accepts


#: request-body examples: each is accepted as it stands (the suite sends them)
JOB_EXAMPLE: dict[str, Any] = {
    "Name": "example",
    "Type": "DAG",
    "Priority": 1,
    "JobFailOnInstanceFail": True,
    "DAG": {
        "Tasks": {
            "hello": {
                "InstanceCount": 1,
                "Timeout": 5,
                "Parameters": {"Command": {"CommandLine": "echo hello", "PackagePath": ""}},
                "AutoCluster": {"InstanceType": "ecs.t1.small", "ImageId": "img-ubuntu"},
            }
        },
        "Dependencies": {},
    },
}
CLUSTER_EXAMPLE: dict[str, Any] = {
    "Name": "example",
    "ImageId": "img-ubuntu",
    "Groups": {"group1": {"DesiredVMCount": 1, "InstanceType": "ecs.t1.small"}},
}


class Priority(BaseModel):
    """The body of ChangeJobPriority (J8)."""

    Priority: int = Field(ge=0, le=1000, description="larger = more urgent among the owner's Waiting jobs")


#: GetJob with ``?description``: the stored JobDescription (defaults filled, unknown keys kept) + Id
JOB_OR_DESCRIPTION = {
    "anyOf": [
        {"$ref": "#/components/schemas/Job"},
        {"allOf": [{"$ref": "#/components/schemas/JobDescription"},
                   {"type": "object", "properties": {"Id": {"type": "string"}}, "required": ["Id"]}]},
    ]
}  # fmt: skip


PAGE = (
    Query("Marker", {"type": "string"}, "id of the first item of the page (from NextMarker); '' = start"),
    Query(
        "MaxItemCount",
        {"type": "integer", "minimum": 0, "maximum": 100, "default": 50},
        "page size; 0 = the default 50",
    ),
)
RUN_STATE = {"type": "string", "enum": list(RUN_STATES)}
TOKEN = Query(
    "IdempotentToken",
    {"type": "string", "maxLength": 64, "pattern": "^[A-Za-z0-9_]*$"},
    "replaying the same token with the same body returns the first call's Id (reference §5.1)",
)
JOB = "/jobs/{JobId}"
TASK = "/jobs/{JobId}/tasks/{TaskName}"
CLUSTER = "/clusters/{ClusterId}"
VM = "/clusters/{ClusterId}/groups/{GroupName}/instances/{InstanceId}"
JOB_ERRORS = (400, 403, 404, 410)
STATE_ERRORS = (400, 403, 404, 409, 410)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST", "/jobs", "CreateJob", "Submit a DAG job (reference §5.2 J1)", "jobs",
        status=201, response=r.CreateResponse, body=JobDescription, query=(TOKEN,),
        errors=(400, 403, 404, 409, 413), example=JOB_EXAMPLE,
    ),
    Operation(
        "GET", "/jobs", "ListJobs", "Jobs, newest first (J4)", "jobs", response=r.JobList,
        query=(
            *PAGE,
            Query("State", RUN_STATE, "only jobs in this state"),
            Query("ClusterId", {"type": "string"}, "only jobs with a task on this cluster"),
            Query("ProjectId", {"type": "string"}, "accepted, ignored (no projects here)"),
            Query("OrderBy", {"type": "string"}, "accepted; the order is always CreationTime"),
            Query("IsReverse", {"type": "string"}, "True: oldest first"),
        ),
        errors=(400, 403),
    ),
    Operation(
        "GET", JOB, "GetJob", "A job, or with ?description its JobDescription (J2, J3)", "jobs",
        response=JOB_OR_DESCRIPTION,
        query=(Query("description", {"type": "string"}, "present: the JobDescription + Id", flag=True),),
        errors=JOB_ERRORS,
    ),
    Operation("POST", f"{JOB}/stop", "StopJob", "Stop a Waiting/Running job (J5)", "jobs", status=201,
              errors=STATE_ERRORS),
    Operation("POST", f"{JOB}/start", "StartJob", "Restart a Stopped/Failed job (J6)", "jobs", status=201,
              errors=STATE_ERRORS),
    Operation("DELETE", JOB, "DeleteJob", "Delete a Finished/Failed/Stopped job (J7)", "jobs", status=204,
              errors=STATE_ERRORS),
    Operation("PUT", JOB, "ChangeJobPriority", "Priority of a Stopped job (J8)", "jobs", body=Priority,
              errors=(*STATE_ERRORS, 413), example={"Priority": 7}),
    Operation(
        "PATCH", JOB, "ModifyJob", "Extension: Priority, Description, Notification in any state", "jobs",
        body=JobUpdate, errors=(*JOB_ERRORS, 413), extension=True,
        example={"Priority": 7, "Description": "more urgent now"},
    ),
    Operation("GET", f"{JOB}/history", "GetJobHistory", "Extension: every state transition", "jobs",
              response=r.History, errors=JOB_ERRORS, extension=True),
    Operation(
        "GET", "/jobs/{JobId}/tasks", "ListTasks", "Tasks of a job (T1)", "tasks", response=r.TaskList,
        query=(*PAGE, Query("State", RUN_STATE, "only tasks in this state"),
               Query("ClusterId", {"type": "string"}, "only tasks on this cluster")),
        errors=JOB_ERRORS,
    ),
    Operation("GET", TASK, "GetTask", "A task (T2)", "tasks", response=r.Task, errors=JOB_ERRORS),
    Operation(
        "GET", f"{TASK}/instances", "ListInstances", "Instances of a task (I1)", "tasks",
        response=r.InstanceList,
        query=(
            Query("Marker", {"type": "string"}, "index of the first instance of the page; '' or 0 = start"),
            PAGE[1],
            Query("State", RUN_STATE, "only instances in this state"),
        ),
        errors=JOB_ERRORS,
    ),
    Operation("GET", f"{TASK}/instances/{{InstanceId}}", "GetInstance", "An instance by index (I2)", "tasks",
              response=r.Instance, errors=JOB_ERRORS),
    Operation(
        "POST", "/clusters", "CreateCluster", "Create a named cluster (C1)", "clusters", status=201,
        response=r.CreateResponse, body=ClusterDescription, query=(TOKEN,), errors=(400, 403, 413),
        example=CLUSTER_EXAMPLE,
    ),
    Operation("GET", "/clusters", "ListClusters", "Named clusters (C3)", "clusters", response=r.ClusterList,
              query=PAGE, errors=(400, 403)),
    Operation("GET", CLUSTER, "GetCluster", "A named cluster (C2)", "clusters", response=r.Cluster),
    Operation("PUT", CLUSTER, "ModifyCluster", "Change groups, UserData, EnvVars, … (C4)", "clusters",
              body=ModifyClusterDescription, errors=(400, 403, 404, 409, 413),
              example={"Groups": {"group1": {"DesiredVMCount": 2}}}),
    Operation("DELETE", CLUSTER, "DeleteCluster", "Delete a cluster no active job uses (C5)", "clusters",
              status=204, errors=(400, 403, 404, 409)),
    Operation(
        "GET", "/clusters/{ClusterId}/groups/{GroupName}/instances", "ListClusterInstances",
        "VMs of a group (G1)", "clusters", response=r.ClusterInstanceList, query=PAGE,
    ),
    Operation("GET", VM, "GetClusterInstance", "A VM (G2)", "clusters", response=r.ClusterInstance),
    Operation("DELETE", VM, "DeleteClusterInstance", "Release a VM; DesiredVMCount - 1 (G3)", "clusters",
              status=202, errors=(400, 403, 404, 409)),
    Operation("POST", f"{VM}/recreate", "RecreateClusterInstance", "Replace a VM (G4)", "clusters",
              status=201, errors=(400, 403, 404, 409)),
    Operation("GET", "/quotas", "GetQuotas", "Offered types (Q1)", "resources", response=r.Quotas,
              errors=(400, 403)),
    Operation("GET", "/available", "GetAvailableResource", "Instance types with CPU, memory (Q2)",
              "resources", response=r.Available, errors=(400, 403)),
    Operation("GET", "/healthz", "Health", "Extension: liveness and isolation in force", "operations",
              response=r.Health, errors=(), public=True, extension=True),
    Operation("GET", "/metrics", "Metrics", "Extension: Prometheus metrics", "operations",
              response={"type": "string"}, errors=(), public=True, media_type="text/plain", extension=True),
    Operation("GET", "/openapi.json", "OpenApi", "This document", "operations", response={"type": "object"},
              errors=(), public=True, extension=True),
)  # fmt: skip
