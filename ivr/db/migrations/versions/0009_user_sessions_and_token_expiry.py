"""users: a session version (logout and deactivation end every session), API token expiry and revocation

Existing API tokens stay valid (they were already kept as sha256 only) until 90 days after this upgrade.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 16:00:00
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("api_token_expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("api_token_revoked_at", sa.DateTime(), nullable=True))
    expires = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=90)
    op.execute(
        sa.text("UPDATE users SET api_token_expires_at = :expires WHERE api_token_hash IS NOT NULL").bindparams(
            expires=expires
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("api_token_revoked_at")
        batch_op.drop_column("api_token_expires_at")
        batch_op.drop_column("session_version")
