"""The work-order outbox (issue 16): events owed to the utility's webhook receiver, kept until delivered.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 20:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_order_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("work_order_number", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        "ix_work_order_outbox_undelivered", "work_order_outbox", ["delivered_at", "next_attempt_at"]
    )
    op.create_index(
        op.f("ix_work_order_outbox_work_order_number"), "work_order_outbox", ["work_order_number"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_work_order_outbox_work_order_number"), table_name="work_order_outbox")
    op.drop_index("ix_work_order_outbox_undelivered", table_name="work_order_outbox")
    op.drop_table("work_order_outbox")
