"""The step that opens a gas-leak caller's work order: explicit, idempotent, bounded, never in the way.

A use case that queues a gas-leak caller takes it after writing the call's events, in its own short
transaction (not under the event store's write lock), within the webhook's database budget
(ivr/db/deadline.py). The caller's route is decided before and does not depend on it. When the order cannot
be opened now it is owed, and opened later:
- the events were spooled (the database is away): replaying the spooled `call.queued` opens it
  (ivr/events/store.py, the replay's owed step);
- the events were written but the order failed: the next step of the same gas-leak call (the duty dial's
  result) or Twilio's retry of the request opens it; a log line names the call meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls.events import CallRequest
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.work_orders.gas_leak import open_gas_leak_order

log = logging.getLogger(__name__)

WRITTEN = ("written", "duplicate")  # what the event writer says when the database took the events


def open_order_of_gas_leak_call(
    call: CallRequest, *, sessions: sessionmaker[Session], events_written: str, reported_at: datetime
) -> bool:
    """Open (or find) the call's gas-leak order; False when it is owed for later (see the module's text)."""
    if events_written not in WRITTEN:  # spooled or logged: the database is away; the replay opens it
        return False
    call_sid, caller = call.call_sid[:64] or "unknown", call.caller[:40]

    def open_order() -> None:
        with unit_of_work(sessions) as session:
            open_gas_leak_order(session, call_sid=call_sid, caller=caller, reported_at=reported_at)

    try:
        bounded(open_order)
    except Exception:
        log.error(
            "gas-leak work order NOT opened yet (owed): call_sid=%s caller=%s reported_at=%s",
            call_sid,
            caller,
            reported_at.isoformat(),
            exc_info=True,
        )
        return False
    return True
