"""The connection each process keeps for its webhooks: reused, never shared, never left mid-transaction."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from ivr.db.models import CallEvent
from ivr.db.session import make_engine
from ivr.events.connection import webhook_connection as kept_connection
from ivr.events.recorder import append as record_events
from ivr.events.store import new_event
from tests.helpers import count


@pytest.fixture
def engine(database_url):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _driver(connection: Any) -> Any:
    return connection.connection.dbapi_connection


def test_one_connection_serves_one_use_after_another(engine):  # type: ignore[no-untyped-def]
    with kept_connection(engine) as first:
        used = _driver(first)
        assert first.execute(text("SELECT 1")).scalar() == 1
    with kept_connection(engine) as second:
        assert _driver(second) is used
    assert engine.pool.checkedout() == 0, "it is not a connection taken from the pool"


def test_a_second_thread_meanwhile_gets_one_from_the_pool(engine):  # type: ignore[no-untyped-def]
    seen: list[Any] = []
    with kept_connection(engine) as mine:

        def other() -> None:
            with kept_connection(engine) as theirs:
                seen.append(_driver(theirs))
                seen.append(theirs.execute(text("SELECT 2")).scalar())

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert seen[0] is not _driver(mine) and seen[1] == 2


def test_a_transaction_left_open_is_rolled_back(engine):  # type: ignore[no-untyped-def]
    with kept_connection(engine) as connection:
        connection.begin()
        connection.execute(
            CallEvent.__table__.insert(),
            {"key": "k-open", "call_sid": "CA1", "kind": "x", "at": datetime(2026, 1, 1), "data": {}},
        )
    with kept_connection(engine) as connection:
        assert not connection.in_transaction()
        assert connection.execute(select(func.count()).select_from(CallEvent)).scalar() == 0


def test_a_failed_block_gives_up_the_connection(engine):  # type: ignore[no-untyped-def]
    with pytest.raises(ZeroDivisionError), kept_connection(engine) as connection:
        broken = _driver(connection)
        _ = 1 / 0
    with kept_connection(engine) as connection:
        assert _driver(connection) is not broken
        assert connection.execute(text("SELECT 3")).scalar() == 3


def test_dispose_lets_go_of_it(engine):  # type: ignore[no-untyped-def]
    with kept_connection(engine) as connection:
        before = _driver(connection)
    engine.dispose()
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        before.cursor().execute("SELECT 1")  # closed at once, as the pool's connections are
    with kept_connection(engine) as connection:
        assert _driver(connection) is not before
        assert connection.execute(text("SELECT 6")).scalar() == 6


def test_events_still_written_after_the_database_dropped_the_kept_connection(hotline):  # type: ignore[no-untyped-def]
    engine = hotline.engine
    with kept_connection(engine) as connection:
        dropped = _driver(connection)
    if engine.dialect.name == "postgresql":  # as a restart of the server would
        with engine.connect() as admin:
            pid = dropped.info.backend_pid
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    else:
        dropped.close()
    event = new_event("CA-dropped", "queue.wait", "CA-dropped:queue.wait:1", {"queue": "general"})
    assert record_events(hotline.sessions, hotline.spool, [event]) == "written"
    assert hotline.spool.pending() == [], "written, not spooled"
    with hotline.sessions() as session:
        assert count(session, CallEvent, CallEvent.call_sid == "CA-dropped") == 1


def test_it_holds_no_snapshot_between_uses(tmp_path: Path):  # type: ignore[no-untyped-def]
    # A snapshot kept between webhooks would stop every checkpoint from emptying the WAL.
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with kept_connection(engine) as connection, connection.begin():
        connection.execute(text("INSERT INTO t VALUES (1), (2)"))
    with kept_connection(engine) as connection:
        connection.exec_driver_sql("SELECT x FROM t").fetchone()  # half read
    with engine.connect() as other:
        busy, _, _ = other.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    assert busy == 0
    assert Path(str(tmp_path / "h.db") + "-wal").stat().st_size == 0
    engine.dispose()


def _in_child(engine: Any, inherited_id: int, answer: Any) -> None:
    with kept_connection(engine) as connection:
        answer.put((id(_driver(connection)) != inherited_id, connection.execute(text("SELECT 4")).scalar()))


def test_a_forked_child_opens_its_own(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with kept_connection(engine) as connection:
        parent = _driver(connection)
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    child = context.Process(target=_in_child, args=(engine, id(parent), answer))
    child.start()
    assert answer.get(timeout=30) == (True, 4)
    child.join(30)
    with kept_connection(engine) as connection:
        assert _driver(connection) is parent, "the parent keeps its own"
        assert connection.execute(text("SELECT 5")).scalar() == 5
    engine.dispose()


def test_dispose_while_in_use_closes_it_once_the_block_is_done(engine):  # type: ignore[no-untyped-def]
    with kept_connection(engine) as connection:
        in_use = _driver(connection)
        engine.dispose()
        assert connection.execute(text("SELECT 7")).scalar() == 7, "the block finishes on it"
    with pytest.raises(engine.dialect.loaded_dbapi.Error):
        in_use.cursor().execute("SELECT 1")
