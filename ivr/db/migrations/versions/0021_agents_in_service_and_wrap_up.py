"""Agents taken out of service and a per-agent wrap-up (issue 17, the roster).

`active`: an inactive agent is never offered a call and cannot become available. `wrap_up_seconds`: overrides
the group's wrap-up.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 00:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("wrap_up_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("wrap_up_seconds")
        batch.drop_column("active")
