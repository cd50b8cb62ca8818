"""customers.id_number_last4: the second factor a caller keys before hearing another number's balance

A caller whose number is not the account's phone must key the last 4 characters of the ID number on the
account before any figure is read (issue 13). Existing accounts start without it: until it is filled in,
only the account's own phone hears the balance, and everyone else is put through to an agent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("id_number_last4", sa.String(length=4), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("id_number_last4")
