"""Work orders get a lifecycle (issue 16): a class, a stage, an owner, a desk, and an append-only history.

- work_orders: work_class (enquiry, fault_repair, meter_fault, gas_leak, service_complaint,
  quality_complaint, safety_complaint, account_business, installation), stage (opened ... closed;
  existing orders start at 'opened'), owner_user_id, desk, updated_at; indexes for a customer's open ones.
- work_order_events: one row per change (who, when, from what stage to what, why, data); never updated.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 20:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.add_column(
            sa.Column("work_class", sa.String(length=30), nullable=False, server_default="enquiry")
        )
        batch_op.add_column(sa.Column("stage", sa.String(length=20), nullable=False, server_default="opened"))
        batch_op.add_column(sa.Column("owner_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("desk", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key("fk_work_orders_owner_user_id", "users", ["owner_user_id"], ["id"])
        batch_op.create_index("ix_work_orders_caller_number", ["caller_number"])
        batch_op.create_index("ix_work_orders_customer_id", ["customer_id"])
    # The menu's kinds name the same work as the classes, with older spellings.
    op.execute("UPDATE work_orders SET work_class = 'fault_repair' WHERE kind = 'fault'")
    op.execute(
        "UPDATE work_orders SET work_class = kind WHERE kind IN ('gas_leak', 'meter_fault', 'installation')"
    )
    op.execute("UPDATE work_orders SET updated_at = created_at")
    op.create_table(
        "work_order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["work_order_id"], ["work_orders.id"]),
        sa.ForeignKeyConstraint(["by_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_work_order_events_work_order_id", "work_order_events", ["work_order_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_work_order_events_work_order_id", table_name="work_order_events")
    op.drop_table("work_order_events")
    with op.batch_alter_table("work_orders") as batch_op:
        batch_op.drop_index("ix_work_orders_customer_id")
        batch_op.drop_index("ix_work_orders_caller_number")
        batch_op.drop_constraint("fk_work_orders_owner_user_id", type_="foreignkey")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("desk")
        batch_op.drop_column("owner_user_id")
        batch_op.drop_column("stage")
        batch_op.drop_column("work_class")
