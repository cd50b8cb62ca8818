"""Use case of a waiting caller (the Enqueue's waitUrl): their place and wait, and an offer when it is long.

A safety caller is never left waiting long: out of the queue in time for the duty engineer's dial."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.events import CallRequest
from ivr.calls.flow import Said
from ivr.db.deadline import bounded
from ivr.db.models import QueueEntry
from ivr.events import kinds
from ivr.events.spool import Spool
from ivr.queueing import storm
from ivr.queueing.waiting import Standing

log = logging.getLogger(__name__)

STORM_OFFER, CALLBACK_OFFER = "storm_offer", "callback_offer"
NEARLY_FULL = 0.8  # share of a Twilio queue's MaxSize from which every waiting caller is offered a call-back

# The promise: a person (agent or duty engineer) is being dialled no later than safety_queue_max_wait seconds
# after the caller chose the gas-leak path. The deadline is set when the choice's request arrives and travels
# in the signed wait URL (`d`, POSIX seconds), so the wait document keeps it with no database.
FETCH_ALLOWANCE = 2.0  # seconds: one Twilio webhook round trip (ours answer within 1 s, Twilio's adds ~0.5 s)
# Outside what the wait document sees: the choice's request (the key was pressed before it arrived) and the
# queue exit's (the dial starts when its answer is back): two round trips, and 1 s for whole-second pauses.
SAFETY_MARGIN = 2 * FETCH_ALLOWANCE + 1.0


@dataclass(frozen=True)
class SafetyLeave:
    """A safety caller's last wait document: the place (maybe nothing), a pause, the farewell, <Leave>."""

    said: tuple[Said, ...]
    pause: int
    leaving: tuple[Said, ...]


@dataclass(frozen=True)
class WaitStatus:
    """What a waiting caller hears now: prompts then a pause; or an offer to answer; or a safety <Leave>."""

    said: tuple[Said, ...]
    pause: int
    offer: str | None = None  # STORM_OFFER or CALLBACK_OFFER: one key answers it, for `entry_id`
    entry_id: int | None = None
    leave: SafetyLeave | None = None


@dataclass(frozen=True)
class WaitDesk:
    """What the wait use case works with."""

    sessions: sessionmaker[Session]
    spool: Spool
    clock: Callable[[], float]
    find_standing: Callable[[str], Standing | None]  # the caller's place in our queue (bounded inside)
    storm_on: Callable[[], bool]
    spoken_seconds: Callable[[list[Said]], float]  # how long prompts take to say, erring long
    announce_seconds: int
    safety_max_wait: int
    storm_offer_seconds: int
    callback_offer_seconds: int
    # While the server sheds: an ordinary queue's pause (longer, so its callers ask less often); 0: the usual.
    # Never a safety caller's: their pauses are timed to the duty engineer's dial.
    busy_pause_seconds: int = 0
    # While the server sheds, a safety caller leaves the queue for the duty engineer at once: every further
    # request (the next wait, the exit) may take seconds then, more than the promise's margin allows for.
    shedding: bool = False


def wait_status(
    call: CallRequest,
    *,
    queue: str,
    language: str,
    emergency: bool,
    position: int,
    waited: int,
    duty_deadline: float | None,
    queue_size: int,
    queue_max: int,
    desk: WaitDesk,
) -> WaitStatus:
    """The caller's place in line (ours when known, else Twilio's) and what they hear with it."""
    waiting = kinds.QueueWait(**call.numbers(), queue=queue, position=position, queue_time=waited)
    call_events.write(desk.sessions, desk.spool, [call.record(waiting)])
    here = _standing(call, desk)
    if here is not None:
        # Our queue is the truth: a caller put back after a missed agent keeps their place and wait time.
        position, waited = here.ahead + 1, max(waited, int(here.waited))
    said = (
        [Said("queue_next", language)]
        if position <= 1
        else [Said("queue_position", language, (("ahead", str(position - 1)),))]
    )
    if emergency:
        return _safety_wait(language, said, waited, duty_deadline, desk)
    if here is not None and here.estimate is not None:
        said.append(Said("queue_estimate", language, (("minutes", str(max(1, round(here.estimate / 60)))),)))
    pause = desk.busy_pause_seconds or desk.announce_seconds
    if here is not None and _offer_storm_choice(here, desk):
        return WaitStatus((*said, Said("storm_offer", language)), pause, STORM_OFFER, here.entry.id)
    nearly_full = queue_max > 0 and queue_size >= NEARLY_FULL * queue_max
    if here is not None and _offer_callback(here, nearly_full, desk):
        return WaitStatus((*said, Said("callback_offer", language)), pause, CALLBACK_OFFER, here.entry.id)
    return WaitStatus(tuple(said), pause)


def _safety_wait(
    language: str, place: list[Said], waited: int, duty_deadline: float | None, desk: WaitDesk
) -> WaitStatus:
    """A safety caller: their place, and <Leave> in time for the duty engineer's dial."""
    leaving = [Said("emergency_connecting_duty", language)]
    if desk.shedding:
        return WaitStatus((), 0, leave=SafetyLeave((), 0, tuple(leaving)))
    now = desk.clock()
    deadline = None if duty_deadline is None else min(duty_deadline, now + desk.safety_max_wait)
    if deadline is None:  # a queue entered without one (put back after an agent missed): the queue's clock
        deadline = now - waited + desk.safety_max_wait
    left = deadline - SAFETY_MARGIN - now  # seconds before the caller must have left the queue
    said = [*place, Said("emergency_still_connecting", language)] if waited else place
    speech, farewell = desk.spoken_seconds(said), desk.spoken_seconds(leaving)
    if left <= speech + desk.announce_seconds + farewell:
        # The last document: out of the queue at the deadline, with no re-fetch to wait for. Too little time
        # left for the place: a short pause alone (shorter than the place would have taken), or nothing.
        if left < speech + farewell + 1:
            said = []
        pause = int(left - desk.spoken_seconds(said) - farewell)
        return WaitStatus((), 0, leave=SafetyLeave(tuple(said), pause, tuple(leaving)))
    return WaitStatus(tuple(said), desk.announce_seconds)


def _standing(call: CallRequest, desk: WaitDesk) -> Standing | None:
    """The caller's place in our queue; None when unknown or the database is away (then Twilio's)."""
    try:
        return bounded(lambda: desk.find_standing(call.call_sid))
    except Exception:
        log.warning("queue standing unavailable; using Twilio's queue position", exc_info=True)
        return None


def _offer_storm_choice(here: Standing, desk: WaitDesk) -> bool:
    """Storm mode: a non-safety caller facing a long wait is offered a call-back or a message, once."""
    try:
        if not storm.offer_due(here.entry, here.estimate, desk.storm_on(), desk.storm_offer_seconds):
            return False
        return bounded(lambda: _mark_storm_offered(desk.sessions, here.entry.id))
    except Exception:
        log.warning("storm offer unavailable; the caller keeps waiting", exc_info=True)
        return False


def _mark_storm_offered(sessions: sessionmaker[Session], entry_id: int) -> bool:
    with sessions() as session, session.begin():
        return storm.mark_offered(session, entry_id)


def _offer_callback(here: Standing, nearly_full: bool, desk: WaitDesk) -> bool:
    """Offer a call-back once, to a non-emergency caller whose estimated wait is over the threshold (or
    whose Twilio queue is nearly full)."""
    entry = here.entry
    if entry.emergency or entry.callback_offered:
        return False
    if not nearly_full and (here.estimate is None or here.estimate < desk.callback_offer_seconds):
        return False

    def mark() -> None:
        with desk.sessions() as session, session.begin():
            session.execute(update(QueueEntry).where(QueueEntry.id == entry.id).values(callback_offered=True))

    try:
        bounded(mark)
    except Exception:  # not marked: no offer now, the caller keeps waiting and may be offered later
        log.warning("call-back offer unavailable; the caller keeps waiting", exc_info=True)
        return False
    return True
