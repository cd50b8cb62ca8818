"""One connection per process kept aside for the webhooks' own statements: the event write, the waiting check.

Taking a connection from SQLAlchemy's pool and giving it back costs about 35 us each time (the pool's
bookkeeping and its reset ROLLBACK; on PostgreSQL also the pre-ping round trip), and a webhook did that
once or twice. So each process keeps one connection of its own, detached from the pool, for these short
statements (an A/B under gunicorn: 1.08x the webhook throughput, bench/README.md):

- one thread at a time uses it; a thread that finds it busy takes one from the pool, as before;
- it belongs to the process that opened it: a forked child opens its own;
- `engine.dispose()` closes it with the pool's connections; the next use opens a fresh one;
- a block that raises closes it (whatever state it was left in), and the next use opens a fresh one;
- it is never left inside a transaction, so it holds no SQLite snapshot between webhooks and never
  stands in the way of a checkpoint.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import PoolProxiedConnection

KEPT_BUSY_TIMEOUT_MS = 1000


class _Kept:
    """A DB-API connection detached from the engine's pool, and who may use it."""

    def __init__(self, engine: Engine) -> None:
        connection = engine.raw_connection()  # the pool's connect hooks (SQLite's pragmas) have run
        connection.detach()  # ours now: closing it closes the DB-API connection, the pool never sees it
        self.connection: PoolProxiedConnection = connection
        driver = connection.dbapi_connection
        assert driver is not None  # a connection just opened
        if engine.dialect.name == "sqlite":
            # Webhooks only: a write lock held elsewhere (a job, another process) fails the webhook's write
            # within a second, not SQLite's 5 s; its caller gave up sooner still (ivr/db/deadline.py).
            cursor = driver.cursor()
            cursor.execute(f"PRAGMA busy_timeout={KEPT_BUSY_TIMEOUT_MS}")
            cursor.close()
        self.driver = driver
        # One SQLAlchemy Connection around it for all its uses: building one per use cost ~5-25 us.
        self.wrapper = Connection(engine, connection=connection)
        self.pid = os.getpid()
        self.busy = threading.Lock()
        self.retired = False  # no new use; closed as soon as nobody is using it

    def retire(self) -> None:
        self.retired = True
        if self.busy.acquire(blocking=False):
            try:
                self.close()
            finally:
                self.busy.release()

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection to a database that went away may fail to close
            self.connection.close()


_kept: weakref.WeakKeyDictionary[Engine, _Kept] = weakref.WeakKeyDictionary()
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose dispose() we listen to
_inherited: list[_Kept] = []  # a parent's connections, never used nor closed here (see _kept_for)
_opening = threading.Lock()


@contextmanager
def kept_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a few statements; begin and commit as usual, but do not close it."""
    kept = _take(engine)
    if kept is None:
        with engine.connect() as connection:
            yield connection
        return
    try:
        connection = kept.wrapper
        yield connection
        # End a transaction the block left open, SQLAlchemy's or one the driver began for a raw statement
        # (both no-ops when there is none), so the next use starts clean.
        if connection.in_transaction():
            connection.rollback()
        kept.driver.rollback()
    except BaseException:
        _forget(engine, kept)
        kept.retired = True
        raise
    finally:
        if kept.retired:
            kept.close()
        kept.busy.release()


def _take(engine: Engine) -> _Kept | None:
    """This process's connection for the engine, now ours to use; None when busy or unavailable."""
    kept = _kept_for(engine)
    if kept is None or not kept.busy.acquire(blocking=False):
        return None
    if kept.retired:  # the engine was disposed between the two lines above
        kept.busy.release()
        return None
    return kept


def _kept_for(engine: Engine) -> _Kept | None:
    """The connection, opened on first use; None if it cannot be opened now."""
    kept = _kept.get(engine)
    if kept is not None and kept.pid == os.getpid():
        return kept
    with _opening:
        kept = _kept.get(engine)
        if kept is not None and kept.pid == os.getpid():
            return kept
        if kept is not None:
            _inherited.append(kept)  # a forked child must not close (or use) its parent's connection
        try:
            kept = _kept[engine] = _Kept(engine)
        except Exception:  # the database is away: the caller's pool connection meets the error instead
            _kept.pop(engine, None)
            return None
        if engine not in _watched:
            event.listen(engine, "engine_disposed", _disposed)
            _watched.add(engine)
        weakref.finalize(engine, kept.close)  # closed with its engine, not left to the garbage collector
        return kept


def _disposed(engine: Engine) -> None:
    """engine.dispose() closes the pool's connections (tests, a database moved): the kept one goes too."""
    with _opening:
        kept = _kept.pop(engine, None)
    if kept is not None and kept.pid == os.getpid():
        kept.retire()
    elif kept is not None:
        _inherited.append(kept)


def _forget(engine: Engine, kept: _Kept) -> None:
    with _opening:
        if _kept.get(engine) is kept:
            del _kept[engine]
