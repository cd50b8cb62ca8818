"""The webhook writers of one SQLite file take turns through a file lock instead of SQLite's busy sleeps.

SQLite lets one writer in at a time; a writer that finds the database locked sleeps 1, 2, 5, 10 ... ms
and tries again, although a webhook's transaction holds the lock for a fraction of a millisecond. With
two gunicorn workers, about 6% of a worker's time went to those sleeps (py-spy, bench/README.md). A
blocking flock() queues the writers in the kernel, which wakes the next one the moment the lock is
released. Only the event writes take it: every other writer still relies on SQLite's own locking, so
nothing can wait for this lock while holding SQLite's.

Checkpoints (copying the WAL back into the database, with an fsync) must not happen inside the turn: a
commit that runs SQLite's automatic checkpoint takes milliseconds, and every other writer would wait for
it. So the engine moves the automatic checkpoint far out (`make_engine`), and every CHECKPOINT_EVERY
event transactions a process checkpoints in a thread of its own (`checkpoint`: the bulk outside the
turn, the last few pages inside it): the webhook that made it due answers at once, and the worker goes on
serving while SQLite copies and syncs (it releases the GIL).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 500  # event transactions of one process between its checkpoints (~3,500 WAL pages)


def lock_path(engine: Engine) -> str | None:
    """The lock file beside an SQLite database file; None for other databases and in-memory SQLite."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI: leave it to SQLite
        return None
    return database + "-writers"


class _Lock:
    """One process's open lock file for one engine, a lock for its threads, and its checkpoint count.

    flock() belongs to the open file, not the thread: threads sharing the descriptor would all get in at
    once, so they take turns on `threads` first. The descriptor is opened once per process and engine
    (opening and closing it per write made the turn ~10 us dearer) and closed with the engine; a forked
    child opens its own, since an inherited one is the parent's open file and its lock."""

    def __init__(self, descriptor: int | None) -> None:
        self.descriptor = descriptor  # None: a database without a lock file (PostgreSQL, in memory)
        self.pid = os.getpid()
        self.threads = threading.Lock()
        self.since_checkpoint = 0
        self.checkpointing: threading.Thread | None = None


_locks: weakref.WeakKeyDictionary[Engine, _Lock] = weakref.WeakKeyDictionary()
_opening = threading.Lock()


@contextmanager
def writing(engine: Engine) -> Iterator[None]:
    """Hold the turn to write for the block (a no-op where the database handles its own writers)."""
    lock = _lock_for(engine)
    if lock is None:
        yield
        return
    with _turn(lock):
        yield
    lock.since_checkpoint += 1
    if lock.since_checkpoint >= CHECKPOINT_EVERY:
        lock.since_checkpoint = 0
        _checkpoint_in_background(engine, lock)


@contextmanager
def _turn(lock: _Lock) -> Iterator[None]:
    assert lock.descriptor is not None
    with lock.threads:
        fcntl.flock(lock.descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.descriptor, fcntl.LOCK_UN)


def _lock_for(engine: Engine) -> _Lock | None:
    """This process's lock for the engine, opened on first use; None where there is no lock file, or
    it cannot be opened (a directory we cannot write to: SQLite's own locking still keeps writes safe)."""
    lock = _locks.get(engine)
    if lock is None or lock.pid != os.getpid():
        lock = _open_lock(engine)
    return lock if lock is not None and lock.descriptor is not None else None


def _open_lock(engine: Engine) -> _Lock | None:
    with _opening:
        lock = _locks.get(engine)
        if lock is not None and lock.pid == os.getpid():
            return lock
        path = lock_path(engine)
        if path is None:
            lock = _locks[engine] = _Lock(None)
            return lock
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return None  # tried again next time
        lock = _locks[engine] = _Lock(descriptor)
        # Closed when the engine goes; not at exit, where a checkpoint thread may still be using it (the
        # process's end closes it anyway).
        weakref.finalize(engine, os.close, descriptor).atexit = False
        return lock


def _checkpoint_in_background(engine: Engine, lock: _Lock) -> None:
    """Start a checkpoint thread, unless this process already has one running for the engine."""
    if lock.checkpointing is not None and lock.checkpointing.is_alive():
        return
    # A daemon: a process that exits mid-checkpoint leaves nothing broken (SQLite resumes it later).
    thread = threading.Thread(target=checkpoint, args=(engine,), name="wal-checkpoint", daemon=True)
    lock.checkpointing = thread
    thread.start()


def checkpoint(engine: Engine) -> None:
    """Copy the WAL into the database, in two passive passes; never raises.

    The first pass copies nearly all of it while the writers go on. It rarely ends with the whole WAL
    copied, because they add to it meanwhile, and SQLite starts the WAL over from its beginning only
    after a checkpoint that copied all of it: otherwise the WAL grows until SQLite's own backstop
    checkpoints inside some writer's commit, holding up every other writer for milliseconds. The
    second pass takes the writers' turn and copies the little that came in during the first."""
    try:
        lock = _lock_for(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
            if lock is not None:
                with _turn(lock):
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
    except Exception:  # the events are written; a checkpoint that fails now is done by the next one
        log.warning("WAL checkpoint failed", exc_info=True)
