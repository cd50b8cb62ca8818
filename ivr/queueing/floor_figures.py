"""The floor's answering figures of any span of calls, classified as the monthly quality report does.

Service level, abandonment and time to answer are the report's (ivr/quality/answering.py) over other spans
of time: a call counts in the local day or hour it started in. A call still undecided (waiting, or talking)
is set aside as "in progress" until it is decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.db.models import Call
from ivr.quality.answering import CALLBACK, DUTY, OTHER, CallFacts, QueueFigures, call_facts, queue_result

STILL_OPEN_AT_MOST = timedelta(hours=6)  # no call waits or talks this long: its end was lost


def long_read(session: Session) -> None:
    """Allow the statements of this transaction the time a period's large scans take."""
    # More than the 3 s a webhook's statement may take on PostgreSQL.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SET LOCAL statement_timeout = '120s'"))


def answering(figures: QueueFigures, in_progress: int = 0) -> dict[str, Any]:
    """The report's queue figures as plain values (for the JSON, the pages and the CSV)."""
    waits = figures.waits
    return {
        "offered": figures.offered,
        "answered": figures.answered,
        "abandoned": figures.abandoned,
        "callback": figures.results[CALLBACK],
        "duty": figures.results[DUTY],
        "other": figures.results[OTHER],
        "answered_within": figures.answered_within,
        "service_level": figures.service_level,
        "abandonment": figures.abandonment_rate,
        "average_answer_seconds": figures.average_answer_seconds,
        "longest_answer_seconds": max(waits) if waits else None,
        "in_progress": in_progress,
    }


def still_open(call: Call, fact: CallFacts, now: datetime) -> bool:
    """Offered but not decided yet: no answer known and the call not over (waiting, or talking still).

    The report classifies finished calls; counting these now as "other" would lower today's service
    level for calls that may yet be answered in time. They join the figures once they are decided. A call
    with no end after STILL_OPEN_AT_MOST lost its last webhook: it counts as the report counts it.
    """
    if call.ended_at is not None or (call.queue is None and fact.queued_at is None):
        return False
    if call.started_at < now - STILL_OPEN_AT_MOST:
        return False
    if fact.after_hours and fact.live_answer is None:
        return False
    return queue_result(call, fact)[0] == OTHER


def split_open(calls: Iterable[Call], facts: dict[str, CallFacts], now: datetime) -> tuple[list[Call], int]:
    """The calls decided, and how many are still open (see still_open)."""
    decided, open_calls = [], 0
    for call in calls:
        if still_open(call, facts.get(call.call_sid, CallFacts()), now):
            open_calls += 1
        else:
            decided.append(call)
    return decided, open_calls


def calls_between(
    session: Session, start: datetime, end: datetime
) -> tuple[list[Call], dict[str, CallFacts]]:
    """The calls started in [start, end) (naive UTC), with what their events say of them."""
    between = (Call.started_at >= start) & (Call.started_at < end)
    calls = list(session.scalars(select(Call).where(between).order_by(Call.started_at, Call.id)))
    facts, _talks = call_facts(session, select(Call.call_sid).where(between))
    return calls, facts
