"""The step that opens a queued caller's work order: explicit, idempotent, bounded, never in the way.

A use case that queues a caller whose request needs work after the call (a gas leak, a complaint) or takes
an after-hours message takes it after writing the call's events, in its own short transaction (not under
the event store's write lock), within the webhook's database budget (ivr/db/deadline.py). The caller's
route is decided before and does not depend on it. When the order cannot be opened now it is owed, and
opened later:
- the events were spooled (the database is away): replaying the spooled event opens it
  (ivr/events/store.py, the replay's owed steps);
- the events were written but the order failed: Twilio's retry of the request opens it (one order per call:
  its source key), and for a gas leak the next step of the same call (the duty dial's result); a log line
  names the call meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls.events import CallRequest
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.work_orders.gas_leak import open_gas_leak_order
from ivr.work_orders.menu_orders import open_complaint_order, open_message_order

log = logging.getLogger(__name__)

WRITTEN = ("written", "duplicate")  # what the event writer says when the database took the events
# What opens an order, given the session, the call's sid and the caller's number.
Opening = Callable[[Session, str, str], object]


def open_order_of_call(
    call: CallRequest, opening: Opening, *, what: str, sessions: sessionmaker[Session], events_written: str
) -> bool:
    """Open (or find) the call's `what` order with `opening`; False when it is owed (module text)."""
    if events_written not in WRITTEN:  # spooled or logged: the database is away; the replay opens it
        return False
    call_sid, caller = call.call_sid[:64] or "unknown", call.caller[:40]

    def open_order() -> None:
        with unit_of_work(sessions) as session:
            opening(session, call_sid, caller)

    try:
        bounded(open_order)
    except Exception:
        log.error(
            "%s work order NOT opened yet (owed): call_sid=%s caller=%s",
            what,
            call_sid,
            caller,
            exc_info=True,
        )
        return False
    return True


def open_order_of_gas_leak_call(
    call: CallRequest, *, sessions: sessionmaker[Session], events_written: str, reported_at: datetime
) -> bool:
    """Open (or find) the call's gas-leak order."""

    def opening(session: Session, call_sid: str, caller: str) -> object:
        return open_gas_leak_order(session, call_sid=call_sid, caller=caller, reported_at=reported_at)

    return open_order_of_call(
        call, opening, what="gas-leak", sessions=sessions, events_written=events_written
    )


def open_order_of_complaint_call(
    call: CallRequest,
    *,
    complaint_class: str,
    sessions: sessionmaker[Session],
    events_written: str,
    reported_at: datetime,
    promised_by: datetime | None,
) -> bool:
    """Open (or find) the call's complaint order, due when the caller was told (if they were)."""

    def opening(session: Session, call_sid: str, caller: str) -> object:
        return open_complaint_order(
            session,
            call_sid=call_sid,
            caller=caller,
            complaint_class=complaint_class,
            reported_at=reported_at,
            promised_by=promised_by,
        )

    return open_order_of_call(
        call, opening, what="complaint", sessions=sessions, events_written=events_written
    )


def open_order_of_message(
    call: CallRequest,
    *,
    recording_url: str,
    recording_sid: str,
    sessions: sessionmaker[Session],
    events_written: str,
    left_at: datetime,
) -> bool:
    """Open (or find) the enquiry order of the message the caller left after hours."""

    def opening(session: Session, call_sid: str, caller: str) -> object:
        return open_message_order(
            session,
            call_sid=call_sid,
            caller=caller,
            recording_url=recording_url,
            recording_sid=recording_sid,
            left_at=left_at,
        )

    return open_order_of_call(call, opening, what="message", sessions=sessions, events_written=events_written)
