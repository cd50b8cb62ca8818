"""The event writers of one SQLite file take turns; other databases are left to their own locking."""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from ivr.events.write_lock import lock_path, writing


def test_lock_file_only_for_an_sqlite_file(tmp_path: Path) -> None:
    assert lock_path(create_engine(f"sqlite:///{tmp_path / 'h.db'}")) == str(tmp_path / "h.db") + "-writers"
    assert lock_path(create_engine("sqlite://")) is None
    assert lock_path(create_engine("postgresql+psycopg://u:p@127.0.0.1/db")) is None


def test_a_second_thread_waits_for_the_first(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        inside.wait()
        with writing(engine):
            order.append("second in")

    other = threading.Thread(target=second)
    other.start()
    with writing(engine):
        inside.set()
        time.sleep(0.2)  # long enough for the other thread to have tried
        order.append("first out")
    other.join(5)
    assert order == ["first out", "second in"]


def _hold(path: str, held: Any, release: Any) -> None:
    """In another process: hold the turn until told to let go."""
    with writing(create_engine(f"sqlite:///{path}")):
        held.set()
        release.wait(10)


def test_another_process_waits_too(tmp_path: Path) -> None:
    database = str(tmp_path / "h.db")
    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(database, held, release))
    holder.start()
    try:
        assert held.wait(30)
        got_in = threading.Event()

        def enter() -> None:
            with writing(create_engine(f"sqlite:///{database}")):
                got_in.set()

        waiter = threading.Thread(target=enter)
        waiter.start()
        assert not got_in.wait(0.3)  # the other process holds the turn
        release.set()
        assert got_in.wait(10)  # and hands it on as soon as it is done
        waiter.join(5)
    finally:
        release.set()
        holder.join(10)


def test_the_writers_checkpoint_outside_their_turn(tmp_path: Path, monkeypatch: Any) -> None:
    from sqlalchemy import text

    from ivr.db.session import make_engine
    from ivr.events import write_lock

    monkeypatch.setattr(write_lock, "CHECKPOINT_EVERY", 3)
    database = tmp_path / "h.db"
    engine = make_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        # SQLite's own checkpoint is a far-off backstop, so it never runs inside a writer's commit.
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10000
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE blobs (b BLOB)")
    write_lock.checkpoint(engine)
    empty = database.stat().st_size

    def write_one() -> None:
        with engine.connect() as connection, writing(engine), connection.begin():
            connection.execute(text("INSERT INTO blobs VALUES (randomblob(50000))"))

    write_one()
    write_one()
    assert database.stat().st_size == empty  # two commits: all still in the WAL
    write_one()  # the third starts a checkpoint in the background, which copies the WAL back
    deadline = time.monotonic() + 10
    while database.stat().st_size <= empty + 100_000 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert database.stat().st_size > empty + 100_000
    engine.dispose()


def test_a_checkpoint_ends_in_the_writers_turn_so_the_wal_starts_over(tmp_path: Path) -> None:
    from sqlalchemy import text

    from ivr.db.session import make_engine
    from ivr.events import write_lock

    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")

    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (b BLOB)")
    finished = threading.Event()
    checkpointing = threading.Thread(target=lambda: (write_lock.checkpoint(engine), finished.set()))
    with engine.connect() as connection:
        with writing(engine):
            checkpointing.start()
            time.sleep(0.3)  # the first pass has run by now; the second waits for this turn
            assert not finished.is_set()
            with connection.begin():  # pages the first pass could not have copied
                for _ in range(20):
                    connection.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
        checkpointing.join(10)
        assert finished.is_set()
        with writing(engine), connection.begin():
            connection.execute(text("INSERT INTO t VALUES (1)"))
        _, frames, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert frames <= 3, "the WAL started over: it holds only the last transaction"
    engine.dispose()


def test_two_engines_of_one_process_take_turns_too(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'h.db'}"
    first, second = create_engine(database), create_engine(database)
    got_in = threading.Event()

    def enter() -> None:
        with writing(second):
            got_in.set()

    with writing(first):
        waiter = threading.Thread(target=enter)
        waiter.start()
        assert not got_in.wait(0.3)  # each engine has its own open lock file, and flock() tells them apart
    assert got_in.wait(10)
    waiter.join(5)


def _enter_in_child(engine: Any, got_in: Any) -> None:
    with writing(engine):
        got_in.set()


def test_a_forked_child_takes_its_own_turn(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with writing(engine):  # the parent's lock file is open before the fork
        pass
    context = multiprocessing.get_context("fork")
    got_in = context.Event()
    with writing(engine):
        # The child inherits the parent's open lock file, whose lock the parent holds right now: had it
        # used that one, flock() would have let it straight in (or its thread lock, copied while held,
        # would never open). It opens its own, and waits like any other process.
        child = context.Process(target=_enter_in_child, args=(engine, got_in))
        child.start()
        assert not got_in.wait(0.5)
    assert got_in.wait(10)
    child.join(10)
    assert child.exitcode == 0
