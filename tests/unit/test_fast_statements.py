"""FastStatement stores exactly what SQLAlchemy would, and refuses statements it cannot run alone."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert, select, update

from ivr.db.models import CallEvent
from ivr.db.session import make_engine
from ivr.events.statements import FastStatement


@pytest.fixture
def engine(database_url):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_values_round_trip_like_the_orm_writes_them(engine):  # type: ignore[no-untyped-def]
    at = datetime(2026, 3, 4, 5, 6, 7, 891011)
    row = {
        "key": "k1",
        "call_sid": "CA1",
        "kind": "menu.turn",
        "at": at,
        "data": {"digits": "1", "语言": "zh-CN", "visited": ["main"]},
        "recorded_at": at,
        "replayed": True,
    }
    statement = FastStatement(insert(CallEvent.__table__).returning(CallEvent.__table__.c.id))
    with engine.begin() as connection:
        new_id = statement.execute(connection, row).fetchone()[0]
    with engine.begin() as connection:
        stored = connection.execute(
            select(CallEvent.__table__).where(CallEvent.__table__.c.id == new_id)
        ).one()
    assert (stored.at, stored.data, stored.replayed, stored.kind) == (at, row["data"], True, "menu.turn")
    touch = FastStatement(
        update(CallEvent.__table__).where(CallEvent.__table__.c.key == "k1").values(kind="x")
    )
    with engine.begin() as connection:
        assert touch.execute(connection, {}).rowcount == 1


def test_a_statement_that_needs_python_defaults_is_refused(engine):  # type: ignore[no-untyped-def]
    statement = FastStatement(insert(CallEvent.__table__))
    with engine.begin() as connection, pytest.raises(ValueError, match="recorded_at"):
        statement.execute(connection, {"key": "k", "call_sid": "CA", "kind": "x", "at": datetime(2026, 1, 1)})


def test_an_in_list_is_refused_with_the_way_out(engine):  # type: ignore[no-untyped-def]
    table = CallEvent.__table__
    statement = FastStatement(select(table.c.id).where(table.c.kind.in_(("a", "b"))))
    with engine.begin() as connection, pytest.raises(ValueError, match="or_"):
        statement.execute(connection, {})


def test_sqlite_datetimes_are_bound_as_the_very_text_sqlalchemy_writes() -> None:
    import random
    from datetime import UTC, date

    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from ivr.events.statements import _sqlite_datetime, _stored_as_iso

    dialect = sqlite.dialect()
    impl = DateTime().dialect_impl(dialect)
    assert _stored_as_iso(impl)
    sqlalchemys = impl.bind_processor(dialect)
    ours = _sqlite_datetime(sqlalchemys)
    rng = random.Random(7)
    values: list[object] = [
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        datetime(2026, 1, 1),
    ]
    values += [
        datetime(
            rng.randint(1, 9999),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice((0, rng.randint(0, 999999))),
        )
        for _ in range(5000)
    ]
    values += [None, date(2026, 3, 4), datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)]  # SQLAlchemy's own path
    for value in values:
        assert ours(value) == sqlalchemys(value), value
