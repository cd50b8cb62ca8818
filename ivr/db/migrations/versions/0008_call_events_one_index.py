"""call_events: one unique index on (call_sid, key) instead of a unique key and an index on call_sid

Every webhook appends an event, and each index on call_events is one more B-tree to descend and one
more page written per webhook. The event key already begins with the CallSid, so the pair is as unique
as the key alone, and the pair's index finds a call's events as the CallSid index did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 10:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The unique constraint on key was created without a name (0001): SQLite keeps it inside the table's
# definition, so the table is rebuilt (batch mode) with the constraint named by this convention first;
# PostgreSQL named it itself.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _unique_key_constraint() -> str:
    return "uq_call_events_key" if op.get_bind().dialect.name == "sqlite" else "call_events_key_key"


def upgrade() -> None:
    with op.batch_alter_table("call_events", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.create_index("uq_call_events_call_sid_key", ["call_sid", "key"], unique=True)
        batch_op.drop_constraint(_unique_key_constraint(), type_="unique")
        batch_op.drop_index("ix_call_events_call_sid")


def downgrade() -> None:
    with op.batch_alter_table("call_events", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.create_index("ix_call_events_call_sid", ["call_sid"], unique=False)
        batch_op.create_unique_constraint(_unique_key_constraint(), ["key"])
        batch_op.drop_index("uq_call_events_call_sid_key")
