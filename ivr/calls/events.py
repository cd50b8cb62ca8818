"""The calls' side of the event store: the call a webhook is about, its typed event records, their writing.

Use cases build their events as the dataclasses of ivr/events/kinds.py, with the call's numbers
(`call.record(kinds.QueueLeft(**call.numbers(), queue=...))` gives the record, keyed by the request) and
write them with `write`, the event store's `append`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.events import append, kinds
from ivr.events.kinds import EventRecord
from ivr.events.recorder import keep
from ivr.events.spool import Spool

SAFETY_QUEUE = "safety"
GENERAL_QUEUE = "general"


@dataclass(frozen=True)
class CallRequest:
    """Who a webhook is about, read from its (signed) form: the call, both numbers, the request's identity."""

    call_sid: str
    caller: str
    to: str = ""
    request_id: str = ""  # the same when Twilio retries the request, so a retry writes nothing twice

    @property
    def event_sid(self) -> str:
        """The CallSid its events are written under."""
        return self.call_sid[:64] or "unknown"

    def numbers(self) -> dict[str, Any]:
        """The caller's and the called number, which every event of the call keeps: `kinds.X(**call.numbers(),
        ...)`."""
        return {"from_": self.caller[:40], "to": self.to[:40]}

    def record(self, event: kinds.Event) -> EventRecord:
        """The event's record for this request: a retried request gives the same key, so it writes nothing."""
        return event.record(call_sid=self.event_sid, request_id=self.request_id)


def write(sessions: sessionmaker[Session], spool: Spool, events: list[EventRecord]) -> str:
    """Write a webhook's events (spooled or logged when the database is away); never raises.
    "written", "duplicate", "spooled" or "logged"."""
    return append(sessions, spool, events)


def keep_only(spool: Spool, events: list[EventRecord]) -> str:
    """Spool a webhook's events without trying the database (the fallback URL answers from memory)."""
    return keep(spool, events)


def safety_requeued(call: CallRequest, language: str) -> EventRecord:
    """A safety caller waiting again (the duty engineer did not answer): our queue must know."""
    queued = kinds.CallQueued(
        **call.numbers(), queue=SAFETY_QUEUE, intent="safety", priority=10, emergency=True, language=language
    )
    return call.record(queued)


def rescued_into_queue(call: CallRequest, language: str) -> EventRecord:
    """The rescued caller's place in our general queue (as key 0 at the root would give, one step ahead)."""
    queued = kinds.CallQueued(
        **call.numbers(),
        queue=GENERAL_QUEUE,
        intent="agent",
        priority=5,
        emergency=False,
        language=language,
        rescued=True,
    )
    return call.record(queued)
