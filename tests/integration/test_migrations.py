"""The Alembic migrations build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ivr.db.models import Base


def test_migrated_schema_matches_the_models(hotline):
    with hotline.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_init_database_is_idempotent(hotline):
    from ivr.setup import init_database

    first = init_database(hotline, demo=True)
    # The test database holds the menu, rules and demo data, not yet a deadline rules version.
    assert first[:2] == ["schema up to date", "default work-order deadline rules stored as version 1"]
    assert any(line.startswith("demo calls: ") for line in first)  # the demo days' calls, written once
    assert init_database(hotline, demo=True) == ["schema up to date"], "everything was already there"


def test_0008_keeps_every_event_under_one_unique_index(tmp_path):  # type: ignore[no-untyped-def]
    from alembic import command
    from sqlalchemy import inspect, text

    from ivr.db import migrate
    from ivr.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrate.alembic_config(str(engine.url))
    command.upgrade(config, "0007")
    insert = text(
        "INSERT INTO call_events (key, call_sid, kind, at, data, recorded_at, replayed)"
        " VALUES (:key, :sid, 'call.started', '2026-11-01 10:00:00.000000', '{}',"
        " '2026-11-01 10:00:00.000000', 0) ON CONFLICT DO NOTHING"
    )
    with engine.begin() as connection:
        for n in range(3):
            connection.execute(insert, {"key": f"CA{n}:call.started:x", "sid": f"CA{n}"})
    command.upgrade(config, "head")
    with engine.begin() as connection:
        assert connection.execute(insert, {"key": "CA1:call.started:x", "sid": "CA1"}).rowcount == 0
        assert connection.execute(insert, {"key": "CA1:menu.turn:y", "sid": "CA1"}).rowcount == 1
        keys = connection.execute(text("SELECT key FROM call_events ORDER BY id")).scalars().all()
    assert keys == ["CA0:call.started:x", "CA1:call.started:x", "CA2:call.started:x", "CA1:menu.turn:y"]
    indexes = inspect(engine).get_indexes("call_events")
    assert [(i["name"], i["column_names"], i["unique"]) for i in indexes] == [
        ("uq_call_events_call_sid_key", ["call_sid", "key"], 1)
    ]
    assert inspect(engine).get_unique_constraints("call_events") == []
    command.downgrade(config, "0007")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM call_events")).scalar() == 4
    assert [c["column_names"] for c in inspect(engine).get_unique_constraints("call_events")] == [["key"]]
    engine.dispose()


def test_0011_joins_owed_call_backs_of_one_number_already_stored(tmp_path):  # type: ignore[no-untyped-def]
    from alembic import command
    from sqlalchemy import text

    from ivr.db import migrate
    from ivr.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrate.alembic_config(str(engine.url))
    command.upgrade(config, "0010")
    insert = text(
        "INSERT INTO queue_entries (call_sid, queue, intent, language, priority, emergency, caller, status,"
        " waiting_since, attempts, callback_number, callback_offered, filter, step)"
        " VALUES (:sid, 'billing', 'billing', 'zh-CN', 5, 0, '', :status, :since, 0, :number, 0, '', 0)"
    )
    rows = [
        # three after-hours requests of one number, the 2nd the earliest
        ("CA1", "callback", "2026-11-01 20:00:00.000000", "+8613800000001"),
        ("CA2", "callback", "2026-11-01 19:00:00.000000", "+8613800000001"),
        ("CA3", "callback", "2026-11-01 21:00:00.000000", "+8613800000001"),
        ("CA4", "callback", "2026-11-01 21:30:00.000000", "+8613800000002"),  # another number's
        # one being placed (it stays the owed one) and an earlier request of the same number
        ("CA5", "offered", "2026-11-01 22:00:00.000000", "+8613800000003"),
        ("CA6", "callback", "2026-11-01 18:00:00.000000", "+8613800000003"),
    ]
    with engine.begin() as connection:
        for sid, status, since, number in rows:
            connection.execute(insert, {"sid": sid, "status": status, "since": since, "number": number})
    command.upgrade(config, "0011")
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT call_sid, status, joined_entry_id, waiting_since FROM queue_entries ORDER BY id")
        ).all()
    assert [(sid, status, joined, str(since)[:16]) for sid, status, joined, since in found] == [
        ("CA1", "joined", 2, "2026-11-01 20:00"),
        ("CA2", "callback", None, "2026-11-01 19:00"),
        ("CA3", "joined", 2, "2026-11-01 21:00"),
        ("CA4", "callback", None, "2026-11-01 21:30"),
        ("CA5", "offered", None, "2026-11-01 18:00"),  # the earliest place of the two
        ("CA6", "joined", 5, "2026-11-01 18:00"),
    ]
    engine.dispose()
