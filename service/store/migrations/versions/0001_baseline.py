"""Baseline: the store schema of bcs-gitops 0.1.0, the last release before migrations.

Frozen here (never edit it; change the schema in a new revision). Its upgrade creates only the
tables and indexes that are missing, so it serves both a new database and one the 0.1.0 release
created (which has no ``alembic_version`` yet): such a store simply continues the chain from here.
``job_leases`` was created on PostgreSQL when the first node started; it is part of the baseline.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE = MetaData()

jobs = Table(
    "jobs",
    BASELINE,
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
)

tasks = Table(
    "tasks",
    BASELINE,
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
)

instances = Table(
    "instances",
    BASELINE,
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
    BASELINE,
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
    BASELINE,
    Column("cluster_id", String(64), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("desired", Integer, nullable=False),
    Column("instance_type", String(64), nullable=False, default=""),
    Column("spec", JSON, nullable=False),
)

vms = Table(
    "vms",
    BASELINE,
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
    BASELINE,
    Column("kind", String(16), primary_key=True),
    Column("token", String(128), primary_key=True),
    Column("resource_id", String(64), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("created", Float, nullable=False),
)

tombstones = Table(
    "tombstones",
    BASELINE,
    Column("job_id", String(64), primary_key=True),
    Column("released_at", Float, nullable=False),
)

transitions = Table(
    "transitions",
    BASELINE,
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
    BASELINE,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_at", Float, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending | delivered | failed
    Index("ix_outbox_state", "state", "next_at"),
)

nonces = Table(
    "nonces",
    BASELINE,
    Column("nonce", String(128), primary_key=True),  # a duplicate insert is a replay, on any node
    Column("expires", Float, nullable=False),
)
Index("nonces_by_expiry", nonces.c.expires)

counters = Table(
    "counters",
    BASELINE,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)


job_leases = Table(
    "job_leases",
    BASELINE,
    Column("job_id", String(64), primary_key=True),
    Column("node", String(64), nullable=False, default=""),
    Column("expires", Float, nullable=False, default=0.0),
    Column("version", BigInteger, nullable=False, default=0),
    Index("ix_job_leases_node", "node"),
)


def upgrade() -> None:
    bind = op.get_bind()
    BASELINE.create_all(bind, checkfirst=True)
    # 0.1.0 stores made before the nonce index existed got it at start; any still without it get it here
    for table in BASELINE.sorted_tables:
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    BASELINE.drop_all(op.get_bind())
