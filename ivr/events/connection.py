"""The connection the event store's statements run on: one per process, in a pool of its own.

Each process gets a second engine on the same database for the webhooks' short statements (the event
write, the waiting check), made by `make_engine` with SQLAlchemy's documented pool settings:

- one connection (`pool_size=1, max_overflow=0`), and a thread that finds it in use takes one from the
  engine's own pool at once (`pool_timeout=0`), so a process holds at most one connection more than
  before and a burst of webhooks never waits for this one;
- `pool_reset_on_return=None`: every use is a `Connection` block, which ends its own transaction, so the
  pool's extra ROLLBACK on every return is skipped;
- no pre-ping round trip: a connection the database dropped fails the write, and the event write goes
  once more on the engine's own pool, which pings (ivr/events/recorder.py);
- on SQLite a 1 s busy timeout: a write lock held elsewhere (a job, another process) fails the webhook's
  write within a second, not SQLite's 5 s; its caller gave up sooner still (ivr/db/deadline.py).

It belongs to the process that made it (a forked child makes its own and leaves the parent's connection
alone), `engine.dispose()` disposes it too, and a block that raises gives up its connection.

It replaced a DB-API connection kept aside by hand (until 2026-12-07), which did not win 5 % of app/bare
in the webhook benchmark (bench/README.md, "Hot path: hand-made parts against the libraries' hooks").
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ivr.db.session import make_engine

WEBHOOK_BUSY_TIMEOUT_MS = 1000


class _WebhookEngine:
    """This process's webhook engine for one app engine, and whether it was let go."""

    def __init__(self, engine: Engine) -> None:
        self.pid = os.getpid()
        self.engine = make_engine(
            engine.url.render_as_string(hide_password=False),
            sqlite_busy_timeout=WEBHOOK_BUSY_TIMEOUT_MS / 1000,
            pool_size=1,
            max_overflow=0,
            pool_timeout=0,
            pool_reset_on_return=None,
            pool_pre_ping=False,
        )
        self.retired = False
        # A connection still in use when the app's engine was disposed is closed when its block ends.
        event.listen(self.engine, "checkin", self._checked_in)

    def _checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        if self.retired:
            record.invalidate()

    def retire(self) -> None:
        self.retired = True
        self.engine.dispose()


_webhook: weakref.WeakKeyDictionary[Engine, _WebhookEngine] = weakref.WeakKeyDictionary()
_inherited: list[_WebhookEngine] = []  # a parent's, never used nor closed here
_opening = threading.Lock()


@contextmanager
def webhook_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for a few statements; begin and commit as usual. A block that raises gives up the
    process's webhook connection (whatever state it was left in: the next use opens a fresh one)."""
    try:
        connection = _webhook_engine(engine).engine.connect()
        webhooks = True
    except PoolTimeout:  # another thread of this process is using it
        connection = engine.connect()
        webhooks = False
    try:
        yield connection
    except BaseException:
        if webhooks:
            connection.invalidate()
        raise
    finally:
        connection.close()


def _webhook_engine(engine: Engine) -> _WebhookEngine:
    webhook = _webhook.get(engine)
    if webhook is not None and webhook.pid == os.getpid():
        return webhook
    with _opening:
        webhook = _webhook.get(engine)
        if webhook is not None and webhook.pid == os.getpid():
            return webhook
        if webhook is not None:  # inherited through fork: dropped without closing (SQLAlchemy's advice)
            webhook.engine.dispose(close=False)
            _inherited.append(webhook)
        else:
            event.listen(engine, "engine_disposed", _disposed)
        webhook = _webhook[engine] = _WebhookEngine(engine)
        weakref.finalize(engine, webhook.engine.dispose)  # closed with its engine
        return webhook


def _disposed(engine: Engine) -> None:
    """engine.dispose() closes the pool's connections (tests, a database moved): the webhooks' go too."""
    with _opening:
        webhook = _webhook.pop(engine, None)
    if webhook is not None and webhook.pid == os.getpid():
        webhook.retire()
    elif webhook is not None:
        _inherited.append(webhook)
