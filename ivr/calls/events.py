"""The calls' side of the event store: the call a webhook is about, its typed event records, their writing.

Use cases build their events as the dataclasses of ivr/events/kinds.py (`call.record(kinds.QueueLeft(...))`
adds the call's numbers and key) and write them with `write`, the event store's `append`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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

    def record(self, event: kinds.Event) -> EventRecord:
        """The event's record for this request, with the caller's and the called number every event keeps;
        a retried request gives the same key, so it writes nothing twice."""
        numbered = replace(event, from_=self.caller[:40], to=self.to[:40])
        return numbered.record(call_sid=self.event_sid, request_id=self.request_id)


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
        queue=SAFETY_QUEUE, intent="safety", priority=10, emergency=True, language=language
    )
    return call.record(queued)


def rescued_into_queue(call: CallRequest, language: str) -> EventRecord:
    """The rescued caller's place in our general queue (as key 0 at the root would give, one step ahead)."""
    queued = kinds.CallQueued(
        queue=GENERAL_QUEUE,
        intent="agent",
        priority=5,
        emergency=False,
        language=language,
        rescued=True,
    )
    return call.record(queued)
