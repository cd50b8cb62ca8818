"""Use case of the queue call-back offer accepted: the caller's call-back is booked, their place kept."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.events import CallRequest
from ivr.db.deadline import bounded
from ivr.events import kinds
from ivr.events.spool import Spool
from ivr.queueing.queue_entries import book_callback


def confirm_callback(
    call: CallRequest, *, entry_id: int, sessions: sessionmaker[Session], spool: Spool
) -> str:
    """Book the call-back of the waiting entry: 'booked', or 'joined' when the number was owed one already."""

    def book() -> str:
        # A number already owed a call-back is owed one: this request joins it (the earlier place is kept).
        with sessions() as session, session.begin():
            return book_callback(session, entry_id, call.caller)

    booked = bounded(book)
    call_events.write(
        sessions, spool, [call.record(kinds.CallbackBooked(**call.numbers(), entry=entry_id, as_=booked))]
    )
    return booked
