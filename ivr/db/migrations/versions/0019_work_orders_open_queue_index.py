"""The desks' queues read only open work orders (issue 16): a partial index of them by (desk, due_at, id).

Most work orders are closed (and have no due time): with the index (desk, due_at) alone, the queue's orders
without a deadline were found by reading every closed order of the desk. This index holds the open ones
only, in the queue's order, for both of desk_queue()'s reads (ivr/work_orders/desk_queue.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 22:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OPEN = "stage != 'closed'"


def upgrade() -> None:
    op.create_index(
        "ix_work_orders_open_queue",
        "work_orders",
        ["desk", "due_at", "id"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_work_orders_open_queue", table_name="work_orders")
