"""Index ``tasks(cluster_id)`` (issue 16): ListJobs with a ``ClusterId`` filter, and DeleteCluster's
check that no job still uses the cluster, read the tasks of that cluster from the index instead of
scanning every stored task (a filtered page took 1.4 ms at 1k jobs and 10 ms at 100k without it)."""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_cluster", "tasks", ["cluster_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_cluster", table_name="tasks")
