"""queue_entries: one owed call-back per number (a partial unique index), later requests joined to it

Three after-hours calls from one number left three owed call-backs, offered to three agents at opening
(issue 13). A number owed a call-back (an entry `callback`, or `offered` while it is being placed) is owed
one: a later request becomes a `joined` entry naming the owed one in `joined_entry_id`, and the owed entry
keeps the earliest place. Owed duplicates already stored are joined the same way before the index is made.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OWED = "callback_number IS NOT NULL AND status IN ('callback', 'offered')"


def upgrade() -> None:
    with op.batch_alter_table("queue_entries") as batch_op:
        batch_op.add_column(sa.Column("joined_entry_id", sa.Integer(), nullable=True))
    _join_duplicates()
    op.create_index(
        "uq_queue_entries_owed_callback",
        "queue_entries",
        ["callback_number"],
        unique=True,
        sqlite_where=sa.text(OWED),
        postgresql_where=sa.text(OWED),
    )


def _join_duplicates() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            f"SELECT id, callback_number, status, waiting_since FROM queue_entries WHERE {OWED} "
            "ORDER BY callback_number, CASE status WHEN 'offered' THEN 0 ELSE 1 END, waiting_since, id"
        )
    ).all()
    kept: dict[str, tuple[int, object]] = {}
    for entry_id, number, _status, waiting_since in rows:
        if number not in kept:
            kept[number] = (entry_id, waiting_since)
            continue
        owed_id, earliest = kept[number]
        connection.execute(
            sa.text("UPDATE queue_entries SET status = 'joined', joined_entry_id = :owed WHERE id = :id"),
            {"owed": owed_id, "id": entry_id},
        )
        if waiting_since < earliest:  # the owed entry keeps the earliest place
            kept[number] = (owed_id, waiting_since)
            connection.execute(
                sa.text("UPDATE queue_entries SET waiting_since = :at WHERE id = :id"),
                {"at": waiting_since, "id": owed_id},
            )


def downgrade() -> None:
    op.drop_index("uq_queue_entries_owed_callback", table_name="queue_entries")
    with op.batch_alter_table("queue_entries") as batch_op:
        batch_op.drop_column("joined_entry_id")
