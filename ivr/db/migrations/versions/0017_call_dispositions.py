"""Call dispositions (issue 16), and an index on customers.name for the search by a name's beginning.

A disposition is what the agent recorded about a call: the class, the outcome, notes.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_dispositions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("work_class", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("work_order_number", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], name="fk_call_dispositions_agent_id"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_call_dispositions_user_id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_sid", "agent_id", name="uq_call_dispositions_call_sid_agent_id"),
    )
    op.create_index(
        "ix_customers_name", "customers", ["name"], postgresql_ops={"name": "varchar_pattern_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_customers_name", table_name="customers")
    op.drop_table("call_dispositions")
