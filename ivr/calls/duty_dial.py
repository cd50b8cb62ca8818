"""Use case of the duty dial ending: answered, or the safety caller queued again (gas-leak order opened)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.call_orders import open_order_of_gas_leak_call
from ivr.calls.events import CallRequest
from ivr.events import kinds
from ivr.events.spool import Spool


@dataclass(frozen=True)
class DutyDialEnded:
    """Answered (the call is over), or back in the safety queue with a new duty-dial deadline."""

    answered: bool
    duty_deadline: int | None = None  # POSIX seconds: the duty engineer is dialled again by then


def duty_dial_ended(
    call: CallRequest,
    *,
    status: str,
    attempt: int,
    duration: str,
    language: str,
    sessions: sessionmaker[Session],
    spool: Spool,
    clock: Callable[[], float],
    safety_max_wait: int,
) -> DutyDialEnded:
    """A completed dial ends the call; anything else puts the caller back in the safety queue, where any free
    agent takes them at once, and the duty engineer is dialled again no later than safety_max_wait."""
    dialled = call.record(
        kinds.DialResult(**call.numbers(), status=status, attempt=attempt, duration=duration)
    )
    if status == "completed":
        call_events.write(sessions, spool, [dialled])
        return DutyDialEnded(answered=True)
    queued = call_events.safety_requeued(call, language)  # our queue must know, so agents can take them
    written = call_events.write(sessions, spool, [dialled, queued])
    deadline = int(clock()) + safety_max_wait
    # Queued again as a gas-leak caller: the order is opened if an earlier step could not (idempotent).
    reported_at = datetime.fromisoformat(queued.at)
    open_order_of_gas_leak_call(call, sessions=sessions, events_written=written, reported_at=reported_at)
    return DutyDialEnded(answered=False, duty_deadline=deadline)
