"""wallboard_thresholds: the limits that colour the wallboard's figures (issue 17, the wallboard).

One row per scope: "*" holds the limits of every queue, a queue's row overrides some of them (an empty
column takes the "*" row's value). Set by supervisors on /wallboard/thresholds, each change in the change log.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 00:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallboard_thresholds",
        sa.Column("scope", sa.String(length=50), nullable=False),
        sa.Column("waiting_amber", sa.Integer(), nullable=True),
        sa.Column("waiting_red", sa.Integer(), nullable=True),
        sa.Column("longest_wait_amber", sa.Integer(), nullable=True),
        sa.Column("longest_wait_red", sa.Integer(), nullable=True),
        sa.Column("service_level_amber", sa.Integer(), nullable=True),
        sa.Column("service_level_red", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("wallboard_thresholds")
