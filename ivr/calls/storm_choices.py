"""Use cases of storm mode's offer to a waiting caller: their choice (call-back or message), their message."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.events import CallRequest
from ivr.db.deadline import bounded
from ivr.events import kinds
from ivr.events.spool import Spool
from ivr.queueing import storm

log = logging.getLogger(__name__)

CALL_BACK = "call_back"  # 1: the call-back offer, confirmed as usual
MESSAGE = "message"  # 2, booked: the caller leaves the queue to record a message
KEEP_WAITING = "keep_waiting"  # anything else, or nothing could be booked


def answer_storm_offer(
    call: CallRequest, *, digits: str, entry_id: int, sessions: sessionmaker[Session], spool: Spool
) -> str:
    """The caller's key at the storm offer: CALL_BACK, MESSAGE (a call-back owed once the message is left,
    their place kept) or KEEP_WAITING."""
    call_events.write(sessions, spool, [call.record(kinds.StormChoice(**call.numbers(), digits=digits))])
    if digits == "1":
        return CALL_BACK
    if digits != "2":
        return KEEP_WAITING

    def book() -> bool:
        with sessions() as session, session.begin():
            return storm.book_message(session, entry_id, call.call_sid, call.caller)

    try:
        booked = bounded(book)
    except Exception:  # nothing booked: the caller keeps their place and waits
        log.warning("could not book a storm message; the caller keeps waiting", exc_info=True)
        return KEEP_WAITING
    return MESSAGE if booked else KEEP_WAITING


def storm_message_left(
    call: CallRequest, *, message: kinds.Voicemail, sessions: sessionmaker[Session], spool: Spool
) -> None:
    """The message is recorded (or not): keep it, and free the booked call-back for the dispatcher now."""
    queue = None

    def release() -> str | None:
        with sessions() as session, session.begin():
            return storm.message_left(session, call.call_sid)

    try:
        queue = bounded(release)
    except Exception:  # the call-back is booked already; it waits out its grace period instead
        log.warning("could not release the call-back after a storm message", exc_info=True)
    noted = kinds.CallbackNoted(**call.numbers(), queue=queue or "", result="storm-message")
    call_events.write(sessions, spool, [call.record(message), call.record(noted)])
