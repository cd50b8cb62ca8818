"""How calls offered to an agent queue were answered: the service-level definitions every report shares.

The monthly quality report, the live board and the floor's history all classify calls with these
functions, over different spans of time, so their figures agree (docs/quality-report.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, QueueEntry

SERVICE_LEVEL_SECONDS = 20  # answered by an agent within 20 s of entering the queue ...
SERVICE_LEVEL_TARGET = 0.80  # ... for 80 % of the calls offered to a queue
# Upper bounds (seconds, inclusive) of the answer-time buckets; the last bucket is open.
WAIT_BUCKET_BOUNDS = (10, 20, 30, 60, 120)

# What became of a call offered to a queue, in the order the page lists them.
ANSWERED, ABANDONED, CALLBACK, DUTY, OTHER = "answered", "abandoned", "callback", "duty", "other"
QUEUE_RESULTS = (ANSWERED, ABANDONED, CALLBACK, DUTY, OTHER)

_EVENT_KINDS = ("call.queued", "agent.result", "callback.booked", "callback.noted")


@dataclass
class QueueFigures:
    """Calls offered to an agent queue and what became of them (the service-level definition's terms)."""

    offered: int = 0
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUE_RESULTS, 0))
    answered_within: int = 0  # answered by an agent within SERVICE_LEVEL_SECONDS
    waits: list[float] = field(default_factory=list)  # seconds to answer, of the answered calls known
    after_hours: int = 0  # after-hours call-back requests: never waited in a queue, not offered

    @property
    def answered(self) -> int:
        return self.results[ANSWERED]

    @property
    def abandoned(self) -> int:
        return self.results[ABANDONED]

    @property
    def service_level(self) -> float | None:
        return self.answered_within / self.offered if self.offered else None

    @property
    def abandonment_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def average_answer_seconds(self) -> float | None:
        return fmean(self.waits) if self.waits else None

    @property
    def wait_buckets(self) -> list[tuple[str, int]]:
        """How many answered calls waited how long: (label, count), bounds inclusive above."""
        counts = [0] * (len(WAIT_BUCKET_BOUNDS) + 1)
        for wait in self.waits:
            counts[next((i for i, b in enumerate(WAIT_BUCKET_BOUNDS) if wait <= b), -1)] += 1
        lows = (0, *WAIT_BUCKET_BOUNDS)
        labels = [f"{low}–{high} s" for low, high in zip(lows, WAIT_BUCKET_BOUNDS, strict=False)]
        return list(zip([*labels, f"> {WAIT_BUCKET_BOUNDS[-1]} s"], counts, strict=True))


@dataclass
class Answer:
    """An agent answering a caller: when, who, how long they talked."""

    at: datetime
    agent_id: int | None
    talk: float | None


@dataclass
class CallFacts:
    """What the events say of one call: when it was queued, whether and how an agent answered it."""

    queued_at: datetime | None = None
    after_hours: bool = False
    callback_requested: bool = False
    live_answer: Answer | None = None  # answered while the caller waited
    callback_answer: Answer | None = None  # answered by calling the customer back


def call_facts(session: Session, span_sids: Any) -> tuple[dict[str, CallFacts], list[Answer]]:
    """Per call of the span (a select of CallSids): its facts; and every agent talk of those calls."""
    links = select(QueueEntry.callback_call_sid, QueueEntry.call_sid).where(
        QueueEntry.call_sid.in_(span_sids), QueueEntry.callback_call_sid.is_not(None)
    )
    callback_of = {callback: call for callback, call in session.execute(links)}
    callback_sids = select(QueueEntry.callback_call_sid).where(
        QueueEntry.call_sid.in_(span_sids), QueueEntry.callback_call_sid.is_not(None)
    )
    # Plain rows, not ORM objects: a busy month has tens of thousands of these events.
    events = session.execute(
        select(CallEvent.call_sid, CallEvent.kind, CallEvent.at, CallEvent.data)
        .where(
            CallEvent.kind.in_(_EVENT_KINDS),
            or_(CallEvent.call_sid.in_(span_sids), CallEvent.call_sid.in_(callback_sids)),
        )
        .order_by(CallEvent.at, CallEvent.id)
    )
    facts: dict[str, CallFacts] = defaultdict(CallFacts)
    talks: list[Answer] = []
    for sid, kind, at, data in events:
        data = data or {}
        if kind == "call.queued":
            fact = facts[sid]
            if fact.queued_at is None:  # a requeue keeps the caller's first entry
                fact.queued_at = at
                fact.after_hours = bool(data.get("callback_after"))
        elif kind in ("callback.booked", "callback.noted"):
            facts[sid].callback_requested = True
        elif kind == "agent.result" and data.get("status") == "completed":
            talk = _seconds(data.get("duration"))
            agent_id = _seconds(data.get("agent_id"))
            # The agent picked up `talk` seconds before the Dial ended and this event arrived.
            answer = Answer(at - timedelta(seconds=talk or 0), int(agent_id) if agent_id else None, talk)
            talks.append(answer)
            if sid in callback_of:
                fact = facts[callback_of[sid]]
                fact.callback_answer = fact.callback_answer or answer
            else:
                fact = facts[sid]
                fact.live_answer = fact.live_answer or answer
    return facts, talks


def queue_result(call: Call, fact: CallFacts) -> tuple[str, float | None]:
    """What became of a call offered to a queue, and its seconds to answer when an agent answered it."""
    entered = fact.queued_at or call.started_at
    if fact.live_answer is not None:
        return ANSWERED, max(0.0, (fact.live_answer.at - entered).total_seconds())
    if fact.callback_requested:
        return CALLBACK, None
    outcome = call.outcome or ""
    if outcome == "answered":  # bridged from the queue, no agent events: Twilio's time in the queue
        return ANSWERED, float(call.queue_seconds) if call.queue_seconds is not None else None
    if outcome in ("abandoned", "redirected"):
        return ABANDONED, None  # the caller hung up before an agent answered
    if outcome.startswith(("duty-", "dial-")):
        return DUTY, None
    return OTHER, None


def queue_figures(calls: Iterable[Call], facts: dict[str, CallFacts]) -> QueueFigures:
    """The answering figures of a set of calls: those offered to a queue, and what became of them."""
    figures = QueueFigures()
    for call in calls:
        fact = facts.get(call.call_sid, CallFacts())
        if call.queue is None and fact.queued_at is None:
            continue  # never asked for an agent
        if fact.after_hours and fact.live_answer is None:
            figures.after_hours += 1
            continue
        figures.offered += 1
        result, wait = queue_result(call, fact)
        figures.results[result] += 1
        if wait is not None:
            figures.waits.append(wait)
            figures.answered_within += wait <= SERVICE_LEVEL_SECONDS
    return figures


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
