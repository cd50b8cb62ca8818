"""Writing a webhook's events: to the database when it answers, to the spool when it does not."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.kept_connection import kept_connection
from ivr.db.write_lock import writing
from ivr.services.events import EventRecord, apply_ready, ready_event
from ivr.services.spool import Spool

log = logging.getLogger(__name__)


def record_events(factory: sessionmaker[Session], spool: Spool, events: list[EventRecord]) -> str:
    """Write events in one transaction; returns "written", "duplicate" or "spooled". Never raises."""
    if not events:
        return "written"
    if spool.has_pending():
        # Keep the order of a call's events: while older ones wait in the spool, newer ones queue behind.
        spool.put(events)
        return "spooled"
    try:
        applied = _write(_engine(factory), events)
        return "written" if any(applied) else "duplicate"
    except IntegrityError:
        return _one_by_one(factory, spool, events)
    except (OperationalError, InterfaceError) as error:  # the database is away: the spool keeps the events
        log.warning("database unavailable (%s); spooling %d events", type(error).__name__, len(events))
        spool.put(events)
        return "spooled"
    except Exception:  # a defect: say so loudly, but keep the events all the same
        log.exception("writing %d events failed; spooled for a human to look at", len(events))
        spool.put(events)
        return "spooled"


def _one_by_one(factory: sessionmaker[Session], spool: Spool, events: list[EventRecord]) -> str:
    """A retry raced its twin: write whichever events are still missing."""
    for event in events:
        try:
            _write(_engine(factory), [event])
        except IntegrityError:
            continue
        except Exception:
            spool.put([event])
    return "duplicate"


def _write(engine: Engine, events: list[EventRecord]) -> list[bool]:
    """One transaction on the process's kept connection (ivr/db/kept_connection.py); whether each event
    was new."""
    try:
        return _write_on(kept_connection(engine), engine, events)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        # The kept connection was one the database had dropped (a restart, say): once more on one from
        # the pool, which checks its connections; if the database is really away, this fails too.
        return _write_on(engine.connect(), engine, events)


def _write_on(
    opening: AbstractContextManager[Connection], engine: Engine, events: list[EventRecord]
) -> list[bool]:
    """The turn to write (ivr/db/write_lock.py) covers only the statements and the commit: BEGIN and
    binding the rows happen before it, so the other writers wait as little as possible."""
    with opening as connection, connection.begin() as transaction:
        ready = [ready_event(engine.dialect, event) for event in events]
        with writing(engine):
            applied = [apply_ready(connection, event) for event in ready]
            transaction.commit()
    return applied


def _engine(factory: sessionmaker[Session]) -> Engine:
    # Event writes are plain statements: a Core transaction, without the ORM session's bookkeeping.
    return factory.kw["bind"]  # type: ignore[no-any-return]
