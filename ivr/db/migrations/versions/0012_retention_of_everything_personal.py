"""Retention of everything holding a phone number or a recording (issue 13).

The playback log outlives its recording, and Twilio's copies of recordings deleted once a local copy is
verified are recorded.

- playback_log.recording_id becomes nullable: retention removes an expired recording but keeps who
  listened to it (the access record) until that row is itself past retention; the row keeps its call_sid.
- provider_recording_deletions: one row per recording whose copy at Twilio was deleted (when, and the size
  of the verified local copy), so it is deleted once and the trail says so.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("playback_log") as batch_op:
        batch_op.alter_column("recording_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "provider_recording_deletions",
        sa.Column("recording_sid", sa.String(length=64), nullable=False),
        sa.Column("local_bytes", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recording_sid"),
    )


def downgrade() -> None:
    op.drop_table("provider_recording_deletions")
    op.execute("DELETE FROM playback_log WHERE recording_id IS NULL")
    with op.batch_alter_table("playback_log") as batch_op:
        batch_op.alter_column("recording_id", existing_type=sa.Integer(), nullable=False)
