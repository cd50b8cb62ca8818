"""Work orders near or past their deadline are found by warn_at (issue 16): the live board's list.

warn_at is set only while a deadline runs, so the index holds the open orders' warning times and the
board reads the ones whose warning time has come without scanning every work order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 22:00:00
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_work_orders_warn_at", "work_orders", ["warn_at"])


def downgrade() -> None:
    op.drop_index("ix_work_orders_warn_at", table_name="work_orders")
