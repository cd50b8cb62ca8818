"""customer_numbers: every number a customer may call from (issue 17, customers), one row per number.

A number belongs to one customer (unique): the IVR, the call record and the agent's page find the caller's
account by any of their numbers through this index. `customers.phone` stays as the customer's main number
(the first of their numbers). Existing customers get their phone as their one number; where several
accounts shared a phone, the oldest account keeps it, which is the one the IVR matched until now.
callback_jobs.phone gets an index: the customer page lists the call-backs placed to the customer's numbers.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 00:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_numbers_customer_id", "customer_numbers", ["customer_id"])
    op.create_index("ux_customer_numbers_phone", "customer_numbers", ["phone"], unique=True)
    # The customer page lists the call-backs placed to any of the customer's numbers.
    op.create_index("ix_callback_jobs_phone", "callback_jobs", ["phone"])
    op.execute(
        "INSERT INTO customer_numbers (customer_id, phone, position)"
        " SELECT min(id), phone, 0 FROM customers WHERE phone <> '' GROUP BY phone"
    )


def downgrade() -> None:
    op.drop_index("ix_callback_jobs_phone", table_name="callback_jobs")
    op.drop_index("ux_customer_numbers_phone", table_name="customer_numbers")
    op.drop_index("ix_customer_numbers_customer_id", table_name="customer_numbers")
    op.drop_table("customer_numbers")
