"""Work orders by the time they were opened (issue 16): the export reads a range of days in that order.

Without it, an export sorted every work order of the table before its first line (3-4 s at 1,000,000 orders,
bench/work_orders.py), and a month's export read the whole table.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:15:00
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_orders_created_at", "work_orders", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_work_orders_created_at", table_name="work_orders")
