"""Models of the CreateJob body (reference §6.1-§6.8). Documented defaults are filled in.

A task also carries the facts derived from it that the service and the provider act on
(``effective_auto_cluster``, ``reserves_on_fail``), each written once here.
"""

from __future__ import annotations

from pydantic import Field

from api.models.base import Omittable, OrderFree, WireModel
from api.models.common import Configs, Mounts, Notification

#: documented defaults (reference §12 #8); Priority: absent means 0, the lowest priority (our choice)
DEFAULT_PRIORITY = 0
DEFAULT_TIMEOUT = 86400


class Docker(WireModel):
    """SDK-only container setting of a command; an empty Image means no container."""

    image: str = ""


class Command(WireModel):
    """What an instance runs: a command line (no shell), an optional package, environment."""

    command_line: str
    package_path: str = ""  # "" = no package (reference §12 #9)
    env_vars: dict[str, str] = {}
    docker: Omittable[Docker] = None


class InputMappingConfig(WireModel):
    """How a task's InputMapping is mounted (character set, file locking)."""

    locale: str = "GBK"
    lock: bool = False


class Parameters(WireModel):
    """The program of a task and where its stdout/stderr go (``""`` = discarded, §12 #8)."""

    command: Command
    input_mapping_config: InputMappingConfig = InputMappingConfig()
    stdout_redirect_path: str = ""
    stderr_redirect_path: str = ""


class AutoCluster(WireModel):
    """An anonymous per-task cluster (reference §6.8)."""

    image_id: str = ""
    ecs_image_id: str = Field(default="", alias="ECSImageId")
    instance_type: str = ""
    resource_type: str | None = None
    spot_strategy: str | None = None
    spot_price_limit: float | None = None
    user_data: dict[str, str] = {}
    configs: Omittable[Configs] = None
    reserve_on_fail: bool = False
    dependency_isv_service: str = ""
    cluster_id: str | None = None


class TaskDescription(WireModel):
    """One node of the DAG."""

    parameters: Parameters
    input_mapping: dict[str, str] = {}
    output_mapping: dict[str, str] = {}
    log_mapping: dict[str, str] = {}
    instance_count: int
    max_retry_count: int = 0
    timeout: int = DEFAULT_TIMEOUT
    cluster_id: str = ""  # "" beside an AutoCluster is what the CLI sends: no cluster id (§12 #10)
    auto_cluster: Omittable[AutoCluster] = None
    mounts: Omittable[Mounts] = None
    write_support: bool | None = None

    @property
    def effective_auto_cluster(self) -> AutoCluster | None:
        """The AutoCluster that takes effect (reference §12 #10): a non-empty ClusterId wins and
        an AutoCluster beside it is ignored (the seed's own example has both); otherwise the
        validator made sure the AutoCluster names an instance type and an image."""
        return None if self.cluster_id else self.auto_cluster

    @property
    def reserves_on_fail(self) -> bool:
        """Whether a failure keeps the task's VMs (and its sandboxes): only an AutoCluster that
        takes effect can reserve them; a named cluster's VMs are never the task's to keep."""
        auto = self.effective_auto_cluster
        return auto is not None and auto.reserve_on_fail


class DAG(WireModel):
    """Tasks by name, and Dependencies ``upstream -> [downstream, …]``."""

    tasks: dict[str, TaskDescription]
    dependencies: dict[str, OrderFree] = {}

    def upstream(self, task: str) -> list[str]:
        """The tasks ``task`` waits for, sorted (an edge listed twice counts twice, as sent)."""
        return sorted(up for up, downs in self.dependencies.items() for down in downs if down == task)


class JobDescription(WireModel):
    """The body of CreateJob (Type DAG), with the defaults of reference §12 #8 applied; the
    normal form the service stores and the provider diffs (``wire``)."""

    name: str
    description: str = ""
    priority: int = DEFAULT_PRIORITY
    type: str
    job_fail_on_instance_fail: bool = True
    auto_release: bool = False
    notification: Omittable[Notification] = None
    dag: DAG = Field(alias="DAG")


class JobUpdate(WireModel):
    """Body of the ``PATCH /jobs/{id}`` extension: any of Priority, Description, Notification
    (a partial body: ``None`` = not sent, so no defaults)."""

    priority: int | None = None
    description: str | None = None
    notification: Notification | None = None
