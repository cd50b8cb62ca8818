"""Appending a webhook's events: to the database, else to the spool, else to the log.

To the database when it answers in time, to the spool when it does not, and to the log when the spool cannot
take them either (a full or read-only disk). What the caller hears never depends on which.

`append` is the one call a use case makes to store its events: the compiled statements, the process's
kept connection and the SQLite writers' turn stay behind it."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.deadline import DatabaseTimeout, bounded
from ivr.events.connection import webhook_connection
from ivr.events.spool import Spool
from ivr.events.store import EventRecord, apply_ready, ready_event
from ivr.events.write_lock import writing

log = logging.getLogger(__name__)


def append(factory: sessionmaker[Session], spool: Spool, events: list[EventRecord]) -> str:
    """Write events in one transaction; "written", "duplicate", "spooled" or "logged". Never raises."""
    if not events:
        return "written"
    try:
        if spool.has_pending():
            # Keep the order of a call's events: while older ones wait in the spool, newer ones queue behind.
            return keep(spool, events)
        engine = _engine(factory)
        applied = bounded(lambda: _write(engine, events))  # a webhook waits its budget at most
        return "written" if any(applied) else "duplicate"
    except IntegrityError:
        return _one_by_one(factory, spool, events)
    except (OperationalError, InterfaceError, DatabaseTimeout) as error:  # away, hung, locked or full
        log.warning("database unavailable (%s); spooling %d events", type(error).__name__, len(events))
        return keep(spool, events)
    except Exception:  # a defect: say so loudly, but keep the events all the same
        log.exception("writing %d events failed; spooled for a human to look at", len(events))
        return keep(spool, events)


record_events = append  # the older name, which a test of the floor still uses


def keep(spool: Spool, events: list[EventRecord]) -> str:
    """Spool the events; if even that fails, one log line holds them (enough to re-enter them).
    Returns "spooled" or "logged". Never raises."""
    try:
        spool.put(events)
        return "spooled"
    except Exception as error:  # ENOSPC, a read-only disk, permissions: the caller's answer goes on
        # One line, with everything needed to write the events by hand (`events` is their spool JSON).
        log.error(
            "events LOST to database and spool (%s: %s): call_sid=%s kinds=%s events=[%s]",
            type(error).__name__,
            error,
            events[0].call_sid,
            ",".join(event.kind for event in events),
            ",".join(event.to_json() for event in events),
        )
        return "logged"


def _one_by_one(factory: sessionmaker[Session], spool: Spool, events: list[EventRecord]) -> str:
    """A retry raced its twin: write whichever events are still missing."""
    engine = _engine(factory)
    for event in events:
        try:
            bounded(lambda: _write(engine, [event]))  # noqa: B023 (run before the loop moves on)
        except IntegrityError:
            continue
        except Exception:
            keep(spool, [event])
    return "duplicate"


def _write(engine: Engine, events: list[EventRecord]) -> list[bool]:
    """One transaction on a webhook connection (ivr/events/connection.py); whether each event was new."""
    try:
        return _write_on(webhook_connection(engine), engine, events)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        # The connection was one the database had dropped (a restart, say): once more on one from the
        # engine's own pool, which checks its connections; if the database is really away, this fails too.
        return _write_on(engine.connect(), engine, events)


def _write_on(
    opening: AbstractContextManager[Connection], engine: Engine, events: list[EventRecord]
) -> list[bool]:
    """The turn to write (ivr/events/write_lock.py) covers only the statements and the commit: BEGIN and
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
