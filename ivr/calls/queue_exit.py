"""Use case of a caller leaving the queue (the Enqueue's action): why they left, where the call goes next."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.events import CallRequest
from ivr.db.deadline import bounded
from ivr.events import kinds
from ivr.events.spool import Spool
from ivr.queueing import storm
from ivr.queueing.queue_entries import book_callback, owed_by_call
from ivr.queueing.queue_sizing import is_overflow, overflow_queue

log = logging.getLogger(__name__)

FULL_HOLD = 10  # seconds between two tries to book the call-back of a caller no queue could take

# Where the call goes next
GOODBYE = "goodbye"  # an agent took the call and it is over
NOTHING = "nothing"  # the caller hung up, or the call was redirected: an empty answer
DUTY_DIAL = "duty_dial"  # a safety caller: the duty engineer, straight away
STORM_MESSAGE = "storm_message"  # the caller booked a storm message: record it
ENQUEUE = "enqueue"  # back in a queue (`queue`), after `hold` seconds if any
CALLBACK_BOOKED = "callback_booked"  # no queue could take the caller: a call-back is owed, goodbye


@dataclass(frozen=True)
class QueueExit:
    """Where the caller goes after leaving `queue`."""

    next: str
    queue: str = ""
    hold: int = 0  # ENQUEUE: seconds on hold first (with a word), before trying the queue again
    announce: bool = True  # DUTY_DIAL: say "connecting" (not after a <Leave> whose document said so)


def leave_queue(
    call: CallRequest,
    *,
    queue: str,
    emergency: bool,
    result: str,
    queue_time: str,
    sessions: sessionmaker[Session],
    spool: Spool,
) -> QueueExit:
    """Twilio's QueueResult decides: bridged, hung up, left, refused by a full queue, or an error."""
    events = [
        call.record(
            kinds.QueueLeft(
                **call.numbers(), queue=queue, result=result, queue_time=queue_time, emergency=emergency
            )
        )
    ]
    if result == "bridged":
        answer = QueueExit(GOODBYE)
    elif result in ("hangup", "redirected"):
        answer = QueueExit(NOTHING)
    elif emergency:
        # left after the safety wait limit, queue full or an error: the duty engineer, straight away
        answer = QueueExit(DUTY_DIAL, announce=result != "leave")
    elif result == "leave" and _storm_message_owed(call, sessions):
        answer = QueueExit(STORM_MESSAGE)
    elif result == "leave":
        answer = QueueExit(ENQUEUE, queue)
    elif result == "queue-full" and not is_overflow(queue):
        # Twilio refused the caller (the queue holds its MaxSize): the overflow queue, sized at the maximum.
        answer = QueueExit(ENQUEUE, overflow_queue(queue))
    else:
        # Both queues full, or an error: never a hang-up without a call-back booked (the place is kept).
        booked = book_full_queue_callback(call, sessions=sessions)
        if booked:
            events.append(
                call.record(kinds.CallbackNoted(**call.numbers(), queue=queue, result=result, booked=booked))
            )
            answer = QueueExit(CALLBACK_BOOKED)
        else:  # nothing booked (the database is away, or the entry not written yet): hold, then try again
            events.append(call.record(kinds.QueueFullHold(**call.numbers(), queue=queue, result=result)))
            answer = QueueExit(ENQUEUE, queue, hold=FULL_HOLD)
    call_events.write(sessions, spool, events)
    return answer


def book_full_queue_callback(call: CallRequest, *, sessions: sessionmaker[Session]) -> str:
    """The caller's entry becomes an owed call-back (or joins the one owed to the number already):
    'booked', 'joined', or '' when nothing could be booked."""

    def book() -> str:
        with sessions() as session, session.begin():
            entry_id, owed = owed_by_call(session, call.call_sid)
            if owed:  # a retried webhook: booked already
                return owed
            return book_callback(session, entry_id, call.caller) if entry_id else ""

    try:
        return bounded(book)
    except Exception:
        log.warning("could not book the call-back of a caller no queue could take", exc_info=True)
        return ""


def _storm_message_owed(call: CallRequest, sessions: sessionmaker[Session]) -> bool:
    def owed() -> bool:
        with sessions() as session:
            return storm.message_owed(session, call.call_sid)

    try:
        return bounded(owed)
    except Exception:
        log.warning("queue entry unavailable; the caller waits again", exc_info=True)
        return False
