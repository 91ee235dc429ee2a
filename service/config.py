"""One Settings value for the whole service, built from the command line (``bcsd serve``).

Everything tunable lives here so the rest of the service receives plain values and never
reads the environment itself (credentials excepted: see ``service.credentials``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from api import Quotas
from service.executors.isolation import Isolation, IsolationChoice
from service.telemetry.log_format import LogFormat

ExecutorKind = Literal["local", "dask"]

#: InstanceType -> (CpuCore, MemorySize GB). Published at ``/available``; the scheduler passes
#: the figures to the executor in ``InstanceLaunch.cpu/memory_gb``.
INSTANCE_TYPES: dict[str, tuple[int, float]] = {
    "bcs.a2.large": (2, 4.0),
    "bcs.a2.xlarge": (4, 8.0),
    "bcs.a2.3xlarge": (16, 32.0),
    "bcs.b2.large": (4, 16.0),
    "ecs.sn1.medium": (2, 4.0),
    "ecs.sn1.large": (4, 8.0),
    "ecs.sn1.xlarge": (8, 16.0),
    "ecs.sn2.medium": (2, 8.0),
    "ecs.sn2.large": (4, 16.0),
    "ecs.s3.large": (4, 8.0),
    "ecs.t1.small": (1, 1.0),
}
#: Instance types that are also offered as spot.
SPOT_INSTANCE_TYPES: tuple[str, ...] = ("ecs.sn1.large", "ecs.sn1.xlarge")
DEFAULT_CPU_MEMORY: tuple[int, float] = (1, 1.0)


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one bcsd process."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: str = ""  # PEM files: HTTPS when both are set (``service.tls`` checks them first)
    tls_key: str = ""
    database_url: str = ""  # "" -> sqlite:///DATA_DIR/bcsd.db
    executor: ExecutorKind = "local"
    dask_scheduler: str = ""
    dask_unschedulable_timeout_s: float = 300.0  # fail an instance no Dask worker can ever host
    object_store: dict[str, str] = field(default_factory=dict)  # e.g. {"protocol": "s3", ...}
    quotas: Quotas = field(default_factory=Quotas)  # api's table: one definition of the defaults
    max_body_bytes: int = 256 * 1024  # reference §11: x-acs-body-rawsize 0-256 KB
    max_running: int = 0  # instances running at once on this node; 0 -> 8 x CPU count
    auto_cluster_max_vms: int = 64  # VM slots of one AutoCluster (capped by InstanceCount)
    clock_skew_s: int = 15 * 60
    owner_id: int = 1
    region: str = "local"
    lease_ttl_s: float = 10.0  # several nodes on one PostgreSQL: a silent node's jobs move after this
    notify_retries: int = 5
    notify_backoff_s: float = 0.5
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    isolation: IsolationChoice = "auto"  # resolved at start: "auto" becomes bwrap or none
    isolation_run_as: tuple[int, int] = (65534, 65534)  # uid, gid of instances when bcsd is root
    isolation_network: bool = True
    isolation_ro_paths: tuple[str, ...] = ()
    isolation_rw_paths: tuple[str, ...] = ()
    instance_pids_max: int = 512
    vm_sandbox_idle_s: float = 2.0  # a task's VM sandbox lives this long without an instance
    vm_sandbox_max: int = 64  # VM sandboxes alive at once on this node; 0 = none kept
    validate: bool = False  # check the scheduler's run-state invariants after every turn (tests)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'bcsd.db'}"

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def auto_cluster_vms(self, instance_count: int) -> int:
        """VMs of a task's AutoCluster: one per instance, at most ``auto_cluster_max_vms``."""
        return max(1, min(instance_count, self.auto_cluster_max_vms))

    @property
    def running_limit(self) -> int:
        return self.max_running or 8 * (os.cpu_count() or 1)

    @property
    def instance_isolation(self) -> Isolation:
        """What every launch carries (``isolation`` must be resolved first, see ``create_app``)."""
        return Isolation(
            mode="bwrap" if self.isolation == "bwrap" else "none",
            run_as=self.isolation_run_as,
            network=self.isolation_network,
            extra_ro=self.isolation_ro_paths,
            extra_rw=self.isolation_rw_paths,
            pids_max=self.instance_pids_max,
        )

    @property
    def sandbox_root(self) -> Path:
        return self.data_dir / "sandboxes"

    @property
    def object_store_options(self) -> dict[str, str]:
        """How executors open ``oss://``: local directory under DATA_DIR unless configured."""
        return self.object_store or {"protocol": "file", "root": str(self.data_dir / "oss")}
