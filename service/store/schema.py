"""Tables of the bcsd store (SQLAlchemy Core; no dialect-specific SQL).

Every change here needs its Alembic revision in ``migrations/versions`` (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Times are stored as float UNIX seconds (UTC); None = not reached. Rendering to the API's
# timestamp format happens in the routes.

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),  # submission order (FIFO among equal priorities)
    Column("name", String(128), nullable=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("message", Text, nullable=False, default=""),
    Column("description", JSON, nullable=False),  # stored wire description (defaults filled, extras kept)
    Column("spec_hash", String(64), nullable=False),
    Column("auto_release", Boolean, nullable=False),
    Column("fail_on_instance_fail", Boolean, nullable=False),
    Column("creation_time", Float, nullable=False),
    Column("start_time", Float),
    Column("end_time", Float),
    Index("ix_jobs_state_prio", "state", "priority", "seq"),
    # ListJobs pages newest first, with or without State: without these every page scanned and
    # sorted the whole table (6x slower at 100k stored jobs than at 1k; bench/bench_growth.py)
    Index("ix_jobs_seq", "seq"),
    Index("ix_jobs_state_seq", "state", "seq"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("ordinal", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("upstream", JSON, nullable=False),  # names of tasks that must finish first
    Column("instance_count", Integer, nullable=False),
    Column("max_retry", Integer, nullable=False),
    Column("timeout_s", Integer, nullable=False),
    Column("cluster_id", String(64), nullable=False, default=""),  # named cluster, "" for AutoCluster
    Column("auto_cluster_id", String(64), nullable=False, default=""),
    Column("reserve_on_fail", Boolean, nullable=False, default=False),
    Column("reserved_vm_count", Integer, nullable=False, default=0),
    Column("instance_type", String(64), nullable=False, default=""),
    Column("start_time", Float),
    Column("end_time", Float),
    Index("ix_tasks_cluster", "cluster_id"),  # ListJobs?ClusterId=, DeleteCluster's "in use" check
)

instances = Table(
    "instances",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("task_name", String(128), primary_key=True),
    Column("instance_id", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),  # attempts launched so far
    Column("retry_count", Integer, nullable=False, default=0),
    Column("vm_id", String(64), nullable=False, default=""),
    Column("node", String(128), nullable=False, default=""),
    Column("node_ip", String(64), nullable=False, default=""),
    Column("owner_node", String(64), nullable=False, default=""),  # bcsd node that launched it (lease)
    Column("pid", Integer),  # process group of the running attempt, when the executor reports it
    Column("sandbox_path", Text, nullable=False, default=""),
    Column("exit_code", Integer),
    Column("error_code", String(64), nullable=False, default=""),
    Column("error_message", Text, nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("stdout_object", Text, nullable=False, default=""),
    Column("stderr_object", Text, nullable=False, default=""),
    Column("start_time", Float),
    Column("end_time", Float),
    Index("ix_instances_state", "state"),
)

clusters = Table(
    "clusters",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("name", String(128), nullable=False),
    Column("kind", String(8), nullable=False),  # "named" | "auto"
    Column("owner_id", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", JSON, nullable=False),
    Column("job_id", String(64), nullable=False, default=""),  # AutoCluster: owning job/task
    Column("task_name", String(128), nullable=False, default=""),
    Column("creation_time", Float, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("cluster_id", String(64), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("desired", Integer, nullable=False),
    Column("instance_type", String(64), nullable=False, default=""),
    Column("spec", JSON, nullable=False),
)

vms = Table(
    "vms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("cluster_id", String(64), nullable=False),
    Column("group_name", String(128), nullable=False),
    Column("state", String(16), nullable=False),  # Running | Deleting
    Column("busy_job", String(64), nullable=False, default=""),  # "" = free slot
    Column("busy_task", String(128), nullable=False, default=""),
    Column("busy_instance", Integer, nullable=False, default=-1),
    Column("creation_time", Float, nullable=False),
    Index("ix_vms_cluster", "cluster_id", "busy_job"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("token", String(128), primary_key=True),
    Column("resource_id", String(64), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("created", Float, nullable=False),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("released_at", Float, nullable=False),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(64), nullable=False),
    Column("scope", String(16), nullable=False),  # Job | Task | Instance
    Column("task", String(128), nullable=False, default=""),
    Column("instance", Integer, nullable=False, default=-1),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("cause", Text, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_transitions_job", "job_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", Float, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending | delivered | failed
    Column("queued_at", Float),  # migration 0002; NULL never written since
    Index("ix_outbox_state", "state", "next_at"),
)

nonces = Table(
    "nonces",
    metadata,
    Column("nonce", String(128), primary_key=True),  # a duplicate insert is a replay, on any node
    Column("expires", Float, nullable=False),
)
#: the once-a-minute sweep of expired nonces reads this instead of the whole table; created on
#: existing databases too (``engine.open``), not only with a new table
nonces_by_expiry = Index("nonces_by_expiry", nonces.c.expires)

counters = Table(
    "counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
