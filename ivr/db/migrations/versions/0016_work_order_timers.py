"""Durable deadline timers of work orders (issue 16): warned, escalated, supervisor; never fired twice.

- work_order_timers: one row per running (or finished) deadline of a work order: its kind, when it started,
  its warning, due and supervisor times, its state (running / met / stopped), the steps already fired, and
  `next_fire_at`, the moment the sweep looks at it next (NULL when nothing is left to fire).
- work_orders: due_at and warn_at (the earliest running deadline's), escalation ("" / warned / escalated /
  supervisor), with an index (desk, due_at) for the desks' queues.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_order_timers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("warn_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("supervisor_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("next_fire_at", sa.DateTime(), nullable=True),
        sa.Column("warned_at", sa.DateTime(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.Column("supervisor_told_at", sa.DateTime(), nullable=True),
        sa.Column("duty_call_owed", sa.Boolean(), nullable=False),
        sa.Column("duty_call_sid", sa.String(length=64), nullable=True),
        sa.Column("duty_call_attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_order_timers_next_fire_at", "work_order_timers", ["next_fire_at"])
    op.create_index("ix_work_order_timers_work_order_id", "work_order_timers", ["work_order_id", "state"])
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.add_column(sa.Column("due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("warn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.String(length=20), nullable=False, server_default=""))
        batch_op.create_index("ix_work_orders_desk_due_at", ["desk", "due_at"])


def downgrade() -> None:
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.drop_index("ix_work_orders_desk_due_at")
        batch_op.drop_column("escalation")
        batch_op.drop_column("warn_at")
        batch_op.drop_column("due_at")
    op.drop_index("ix_work_order_timers_work_order_id", table_name="work_order_timers")
    op.drop_index("ix_work_order_timers_next_fire_at", table_name="work_order_timers")
    op.drop_table("work_order_timers")
