"""Models of the response bodies bcsd renders (``service.render``, reference §7), for the OpenAPI
document only. ``extra="forbid"`` makes every key documented: the suite's schemathesis run fails
on a key the renderer adds without documenting it here."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.states import Phase
from api.states import Scope as TransitionScope

#: reference §4.2: the SDK parses ``...Time`` keys with ``%Y-%m-%dT%H:%M:%S.%fZ``; "" = not reached
Timestamp = Annotated[
    str,
    Field(pattern=r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)?$", description="UTC; '' = not reached"),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Body):
    """Every error (reference §9.1, §12 #26)."""

    Code: str
    Message: str
    RequestId: str
    HostId: str


class CreateResponse(Body):
    """CreateJob / CreateCluster: the new (or, for a replayed IdempotentToken, the earlier) id."""

    Id: str


class Counters(Body):
    """TaskMetrics / InstanceMetrics: how many are in each state."""

    WaitingCount: int
    RunningCount: int
    FinishedCount: int
    FailedCount: int
    StoppedCount: int


class Job(Body):
    Id: str
    Name: str
    OwnerId: int
    Priority: int
    State: Phase
    Message: str
    CreationTime: Timestamp
    StartTime: Timestamp
    EndTime: Timestamp
    Description: str
    AutoRelease: bool
    JobFailOnInstanceFail: bool
    TaskMetrics: Counters
    InstanceMetrics: Counters


class Task(Body):
    TaskName: str
    State: Phase
    StartTime: Timestamp
    EndTime: Timestamp
    InstanceMetrics: Counters
    ClusterId: str = Field(description="extension: the named cluster, or the AutoCluster's live id")
    AutoClusterId: str = Field(description="extension: the AutoCluster's live id, '' for a named cluster")
    VMCount: int = Field(description="extension: VMs of the task's AutoCluster")
    ReservedVMCount: int = Field(description="extension: VMs kept under ReserveOnFail")


class InstanceResult(Body):
    ExitCode: int
    ErrorCode: str
    ErrorMessage: str
    Detail: str


class InstanceError(Body):
    Code: str
    Message: str


class Instance(Body):
    InstanceId: int
    State: Phase
    StartTime: Timestamp
    EndTime: Timestamp
    RetryCount: int
    Progress: int
    NodeIp: str
    Node: str = Field(description="extension: the node (bcsd host or Dask worker) that ran it")
    SandboxPath: str = Field(description="extension: the kept sandbox of a failed instance")
    StdoutRedirectPath: str
    StderrRedirectPath: str
    Result: InstanceResult
    Error: InstanceError
    Outputs: dict[str, str]


class Group(Body):
    DesiredVMCount: int
    ActualVMCount: int
    InstanceType: str
    ResourceType: str
    SpotStrategy: str
    SpotPriceLimit: float
    Disks: dict[str, Any]


class ClusterMetrics(Body):
    RunningCount: int
    StartingCount: int
    StoppingCount: int
    StoppedCount: int


class Cluster(Body):
    Id: str
    Name: str
    Description: str
    OwnerId: int
    CreationTime: Timestamp
    State: Literal["Active", "Deleting"]
    ImageId: str
    InstanceType: str
    Bootstrap: str
    SecurityGroup: str
    UserData: dict[str, Any]
    EnvVars: dict[str, Any]
    InputMapping: dict[str, Any]
    InputMappingConfig: dict[str, Any]
    Notification: dict[str, Any]
    Configs: dict[str, Any]
    WriteSupport: bool
    Groups: dict[str, Group]
    OperationLogs: list[str]
    Metrics: ClusterMetrics


class ClusterInstance(Body):
    Id: str
    Hint: str
    State: Literal["Running", "Deleting"]
    IpAddress: str
    HostName: str
    CreationTime: Timestamp
    InstancePassword: str
    ErrorCode: int
    ErrorMessage: str


class JobList(Body):
    NextMarker: str
    Items: list[Job]


class TaskList(Body):
    NextMarker: str
    Items: list[Task]


class InstanceList(Body):
    NextMarker: str
    Items: list[Instance]


class ClusterList(Body):
    NextMarker: str
    Items: list[Cluster]


class ClusterInstanceList(Body):
    NextMarker: str
    Items: list[ClusterInstance]


class Transition(Body):
    Scope: TransitionScope
    Task: str
    Instance: int
    From: str
    To: str
    Cause: str
    Time: Timestamp


class History(Body):
    """Extension ``GET /jobs/{JobId}/history``: every state transition with its cause."""

    Items: list[Transition]


class Quotas(Body):
    AvailableClusterResourceType: list[str]
    AvailableClusterInstanceDataDiskType: list[str]
    AvailableClusterInstanceSystemDiskType: list[str]
    AvailableClusterInstanceType: list[str]
    AvailableSpotInstanceType: list[str]


class Network(Body):
    Classic: bool
    Vpc: bool


class InstanceTypeInfo(Body):
    InstanceType: str
    CpuCore: int
    MemorySize: float
    Network: Network


class Available(Body):
    AvailableClusterInstanceType: list[InstanceTypeInfo]
    AvailableSpotInstanceType: list[InstanceTypeInfo]
    AvailablePrepaidInstanceType: list[InstanceTypeInfo]
    AvailableResourceType: list[str]
    AvailableSystemDiskType: list[str]
    AvailableDataDiskType: list[str]


class Health(Body):
    Status: Literal["ok"]
    Version: str
    Isolation: Literal["bwrap", "none"]
    Limits: str
