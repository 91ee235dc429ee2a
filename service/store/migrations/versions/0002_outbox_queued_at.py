"""outbox.queued_at: when a notification was queued, so its age is exact after retries too
(``bcsd_notification_outbox_oldest_age_seconds``). Rows queued by 0.1.0 get their ``next_at``:
exact for a row never retried, the last retry time otherwise."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("queued_at", sa.Float(), nullable=True))
    op.execute("UPDATE outbox SET queued_at = next_at WHERE queued_at IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:  # SQLite rebuilds the table to drop a column
        batch.drop_column("queued_at")
