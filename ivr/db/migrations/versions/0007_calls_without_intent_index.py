"""calls: drop the index on intent

Five values, and every query that filters on intent also picks a date range or an audit sample, so the
index was never the way in; it cost every greeting and menu turn one more B-tree write (bench/README.md).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 23:40:00
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_intent")


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_intent", ["intent"], unique=False)
