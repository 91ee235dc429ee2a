"""Indexes for ListJobs pages (issue 16): ``jobs(seq)`` and ``jobs(state, seq)`` let a page newest
first (optionally of one State, optionally from a Marker) read its rows from the index instead of
scanning and sorting every stored job, so a page costs the same at 100k jobs as at 1k."""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_seq", "jobs", ["seq"])
    op.create_index("ix_jobs_state_seq", "jobs", ["state", "seq"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state_seq", table_name="jobs")
    op.drop_index("ix_jobs_seq", table_name="jobs")
