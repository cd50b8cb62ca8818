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
    assert first == ["schema up to date"], "menu and demo data were already there"


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
