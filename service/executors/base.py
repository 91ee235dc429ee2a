"""The seam between the scheduler and whatever runs instance processes.

The scheduler decides *what* runs (a pure core); an executor carries out ``InstanceLaunch``
instructions and reports back through the ``EventSink`` it was built with. Two executors
implement this contract: the local one (processes on this machine) and the Dask one (a task on
a Dask worker). Both run instances through the same runner (``service.executors.runner``), so
sandbox, package, mappings, timeout and kill semantics are identical.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from service.executors.isolation import Isolation

InstanceErrorCode = Literal[
    "",  # the program ran and its exit code decides
    "InstanceTimeout",  # ran longer than the task's Timeout; killed
    "InstanceStopped",  # killed because the job was stopped or deleted
    "PackageDownloadFailed",
    "PackageUnpackFailed",  # bad archive or a member escaping the sandbox
    "InputMappingFailed",
    "OutputUploadFailed",
    "CommandNotFound",  # CommandLine's program could not be started
    "NodeLost",  # the process or worker vanished (executor crash, worker killed, bcsd restart)
    "Unschedulable",  # no worker offers the resources the instance type needs
    "InstanceOutOfMemory",  # used more memory than its InstanceType has; killed by the kernel
    "SandboxUnavailable",  # the isolation asked for cannot be provided on the node that got it
]


@dataclass(frozen=True, slots=True)
class InstanceKey:
    """One attempt of one instance: (job, task, instance index, attempt number starting at 0)."""

    job_id: str
    task_name: str
    instance_id: int
    attempt: int

    def label(self) -> str:
        return f"{self.job_id}.{self.task_name}.{self.instance_id}#{self.attempt}"


@dataclass(frozen=True, slots=True)
class InstanceLaunch:
    """Everything needed to run one attempt, as plain values (picklable: it travels to Dask)."""

    key: InstanceKey
    command_line: str  # split into argv with shlex; never run through a shell
    package_path: str  # "oss://…tar.gz" or "" for no package
    env: dict[str, str]  # BATCH_COMPUTE_* variables, cluster EnvVars and Command.EnvVars, merged
    input_mapping: dict[str, str]  # oss path -> local absolute path
    output_mapping: dict[str, str]  # local absolute path -> oss path
    log_mapping: dict[str, str]  # local file -> oss dir
    stdout_dir: str  # StdoutRedirectPath ("" = discard)
    stderr_dir: str  # StderrRedirectPath ("" = discard)
    timeout_s: float  # Timeout of one attempt
    sandbox_root: str  # executor-local directory under which the sandbox is created
    cluster_id: str  # effective cluster (named or anonymous)
    vm_id: str  # the execution slot ("VM") the scheduler assigned
    instance_type: str = ""
    cpu: float = 1.0  # from the instance-type table
    memory_gb: float = 1.0
    keep_sandbox_on_failure: bool = False  # AutoCluster.ReserveOnFail
    object_store: dict[str, str] = field(default_factory=dict)  # how to open oss:// (protocol, root, options)
    isolation: Isolation = field(default_factory=Isolation)  # how the node confines it (bwrap, limits)
    instances_per_vm: int = 1  # the task's instances each VM is expected to run in turn (VM sandbox or not)


@dataclass(frozen=True, slots=True)
class InstanceStarted:
    key: InstanceKey
    at: datetime
    node: str  # host/worker that really runs it
    node_ip: str
    sandbox_path: str
    pid: int = 0  # process-group id of the command (0 = unknown); lets a restarted bcsd kill orphans


@dataclass(frozen=True, slots=True)
class InstanceExited:
    key: InstanceKey
    at: datetime
    exit_code: int | None  # None when the program never ran or was killed
    error_code: InstanceErrorCode
    error_message: str
    detail: str
    node: str
    stdout_object: str  # full oss:// object path of this attempt's stdout ("" when discarded)
    stderr_object: str
    sandbox_path: str  # "" once removed; kept when keep_sandbox_on_failure and the attempt failed

    @property
    def succeeded(self) -> bool:
        return self.error_code == "" and self.exit_code == 0


@dataclass(frozen=True, slots=True)
class InstanceWaiting:
    """The executor cannot place the attempt yet and says why (e.g. no worker has the resources)."""

    key: InstanceKey
    at: datetime
    reason: str


ExecutorEvent = InstanceStarted | InstanceExited | InstanceWaiting
EventSink = Callable[[ExecutorEvent], Awaitable[None]]


class Executor(Protocol):
    """Runs instance attempts; every launch ends in exactly one ``InstanceExited``."""

    async def start(self) -> None:
        """Connect / prepare. Called once before the first launch."""

    async def launch(self, launch: InstanceLaunch) -> None:
        """Begin running; return quickly. Progress is reported through the sink."""

    async def cancel(self, key: InstanceKey) -> None:
        """Kill the attempt's process group wherever it runs; it then exits with InstanceStopped."""

    async def close(self) -> None:
        """Stop everything still running (each reported as exited) and release resources."""
