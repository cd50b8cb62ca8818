"""Engines and sessions: the edge (a request, a job, a CLI command) opens one session and commits once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from ivr.private_files import private_dir, private_file


def make_engine(url: str, *, sqlite_busy_timeout: float = 5, **pool: Any) -> Engine:
    """An engine tuned for webhooks: fail fast when the database is away, so no caller is kept waiting.
    `pool`: create_engine's pool settings, over these."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_database_file(Path(path))
        connect_args = {"timeout": sqlite_busy_timeout, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the webhook writers
            cursor.execute("PRAGMA synchronous=NORMAL")
            # A backstop only: the event writers checkpoint every few thousand pages themselves, outside
            # their turn to write (ivr/events/write_lock.py); SQLite's default, 1,000 pages, would do it
            # inside a commit, holding up every other writer.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.close()

        return engine
    # A webhook waits for the database only within its budget (ivr/db/deadline.py); these bounds end the
    # work it gave up on: a connect (libpq's smallest timeout, 2 s), a statement the server sees (3 s), and
    # a link that went silent (unacknowledged data for 10 s, or 3 keepalives unanswered after 10 s idle).
    return create_engine(
        url,
        **{"pool_pre_ping": True, "pool_timeout": 1, **pool},
        connect_args={
            "connect_timeout": 2,
            "options": "-c statement_timeout=3000",
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 3,
            "tcp_user_timeout": 10_000,
        },
    )


def _private_database_file(path: Path) -> None:
    """The database holds callers' numbers: 0600 (and its directory 0700 when we create it), made before
    SQLite opens it. SQLite gives the -wal and -shm files the database file's own permissions."""
    if not path.parent.exists():
        private_dir(path.parent)
    private_file(path)
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists():  # left by an earlier run, perhaps under a looser mode
            private_file(companion)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit if the block succeeds, roll back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
