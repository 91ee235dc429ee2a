"""Models of the CreateJob body (reference §6.1-§6.8). Documented defaults are filled in."""

from __future__ import annotations

from pydantic import Field

from api.models.base import WireModel
from api.models.common import Configs, Mounts, Notification
from api.rules.job import DEFAULT_PRIORITY, DEFAULT_TIMEOUT


class Docker(WireModel):
    """SDK-only container setting of a command; an empty Image means no container."""

    image: str | None = None


class Command(WireModel):
    """What an instance runs: a command line (no shell), an optional package, environment."""

    command_line: str
    package_path: str = ""
    env_vars: dict[str, str] | None = None
    docker: Docker | None = None


class InputMappingConfig(WireModel):
    """How InputMapping is mounted (character set, file locking)."""

    locale: str | None = None
    lock: bool | None = None


class Parameters(WireModel):
    """The program of a task and where its stdout/stderr go (``""`` = discarded)."""

    command: Command
    input_mapping_config: InputMappingConfig | None = None
    stdout_redirect_path: str = ""
    stderr_redirect_path: str = ""


class AutoCluster(WireModel):
    """An anonymous per-task cluster (reference §6.8)."""

    image_id: str | None = None
    ecs_image_id: str | None = Field(default=None, alias="ECSImageId")
    instance_type: str | None = None
    resource_type: str | None = None
    spot_strategy: str | None = None
    spot_price_limit: float | None = None
    user_data: dict[str, str] | None = None
    configs: Configs | None = None
    reserve_on_fail: bool | None = None
    dependency_isv_service: str | None = None
    cluster_id: str | None = None


class TaskDescription(WireModel):
    """One node of the DAG."""

    parameters: Parameters
    input_mapping: dict[str, str] | None = None
    output_mapping: dict[str, str] | None = None
    log_mapping: dict[str, str] | None = None
    instance_count: int
    max_retry_count: int = 0
    timeout: int = DEFAULT_TIMEOUT
    cluster_id: str | None = None
    auto_cluster: AutoCluster | None = None
    mounts: Mounts | None = None
    write_support: bool | None = None


class DAG(WireModel):
    """Tasks by name, and Dependencies ``upstream -> [downstream, …]``."""

    tasks: dict[str, TaskDescription]
    dependencies: dict[str, list[str]] | None = None


class JobDescription(WireModel):
    """The body of CreateJob (Type DAG), with the defaults of reference §12 #8 applied."""

    name: str
    description: str | None = None
    priority: int = DEFAULT_PRIORITY
    type: str
    job_fail_on_instance_fail: bool = True
    auto_release: bool = False
    notification: Notification | None = None
    dag: DAG = Field(alias="DAG")


class JobUpdate(WireModel):
    """Body of the ``PATCH /jobs/{id}`` extension: any of Priority, Description, Notification."""

    priority: int | None = None
    description: str | None = None
    notification: Notification | None = None
