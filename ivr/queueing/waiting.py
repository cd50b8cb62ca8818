"""Where a waiting caller stands: place in line, estimated wait, whether to offer a call-back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, false, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Agent, CallEvent, QueueEntry, utcnow
from ivr.events.hot_path import first_row
from ivr.queueing.dispatch import epoch, routing_agent, routing_call
from routing.estimate import estimated_wait, mean_handle_seconds
from routing.model import Rules
from routing.pools import meets
from routing.router import place, requirement_of, widens

WORKING = ("available", "ringing", "on_call", "wrap_up")  # agents who will take calls soon
_handle_cache: dict[str, tuple[float, float]] = {}


@dataclass(frozen=True)
class Standing:
    """A waiting caller's place: callers ahead, seconds waited (whole stay), estimated seconds to go."""

    entry: QueueEntry
    ahead: int
    waited: float
    estimate: float | None


# Most wait requests of a caller who is not (or no longer) waiting end here: a plain statement first.
_WAITING = select(QueueEntry.id).where(
    QueueEntry.call_sid == bindparam("sid"),
    or_(QueueEntry.status == "waiting", QueueEntry.status == "offered"),  # IN () expands per execution
)


def standing(
    call_sid: str,
    now: datetime | None = None,
    *,
    sessions: sessionmaker[Session],
    live_rules: Callable[[], Rules],
    default_handle_seconds: float,
) -> Standing | None:
    """The caller's standing, or None if they are not in our queue (yet). `live_rules` is asked only then."""
    now = now or utcnow()
    if first_row(sessions, _WAITING, {"sid": call_sid}) is None:
        return None
    with sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
        if entry is None or entry.status not in ("waiting", "offered"):
            return None
        ahead = _entries_ahead(session, entry, now)
        eligible, free = _eligible_agents(session, entry, now, live_rules())
        handle = recent_handle_seconds(session, now, default_handle_seconds)
    estimate = estimated_wait(ahead + 1, eligible, handle, free_agents=free) if eligible else None
    return Standing(entry, ahead, (now - entry.waiting_since).total_seconds(), estimate)


def _entries_ahead(session: Session, entry: QueueEntry, now: datetime) -> int:
    """Callers in the same queue served before this one: emergency, then priority, then waiting time.

    Only who waits now: callers on the line and call-backs that are due. A call-back booked for later (after
    hours, for the next opening) is not ahead of anyone yet."""
    same = QueueEntry.emergency.is_(entry.emergency)
    due = (QueueEntry.callback_after.is_(None)) | (QueueEntry.callback_after <= now)
    more_urgent = false() if entry.emergency else QueueEntry.emergency.is_(True)
    query = (
        select(func.count())
        .select_from(QueueEntry)
        .where(
            QueueEntry.queue == entry.queue,
            QueueEntry.status.in_(("waiting", "offered")) | ((QueueEntry.status == "callback") & due),
            QueueEntry.id != entry.id,
            more_urgent
            | (same & (QueueEntry.priority > entry.priority))
            | (
                same
                & (QueueEntry.priority == entry.priority)
                & (QueueEntry.waiting_since < entry.waiting_since)
            ),
        )
    )
    return int(session.scalar(query) or 0)


def _eligible_agents(session: Session, entry: QueueEntry, now: datetime, rules: Rules) -> tuple[int, int]:
    """Working agents who could take this caller at their current routing step, and how many are free
    (matched as the router matches them: routing.pools.meets)."""
    placement = place(rules, routing_call(entry), epoch(now))
    matching = [f for f in rules.filters if f.name == placement.filter]
    if not matching or not matching[0].steps:
        return 0, 0
    steps = matching[0].steps[: max(placement.step, 0) + 1]
    agents = session.scalars(select(Agent).where(Agent.state.in_(WORKING), Agent.active.is_(True))).all()
    if entry.emergency and widens(rules, (now - entry.waiting_since).total_seconds()):
        return len(agents), sum(agent.state == "available" for agent in agents)  # any agent takes a leak
    requirements = [requirement_of(step, entry.language) for step in steps]
    count = free = 0
    for agent in agents:
        if any(meets(routing_agent(agent), requirement) for requirement in requirements):
            count += 1
            free += agent.state == "available"
    return count, free


def recent_handle_seconds(session: Session, now: datetime, default_handle_seconds: float) -> float:
    """Mean talk time of the agent calls completed in the last hour (cached for 30 s per database)."""
    key = str(session.get_bind().engine.url)
    cached = _handle_cache.get(key)
    if cached and time.monotonic() - cached[0] < 30:
        return cached[1]
    events = session.scalars(
        select(CallEvent)
        .where(CallEvent.kind == "agent.result", CallEvent.at >= now - timedelta(hours=1))
        .order_by(CallEvent.at.desc())
        .limit(200)
    ).all()
    talks = [
        float(e.data["duration"])
        for e in events
        if e.data.get("status") == "completed" and str(e.data.get("duration", "")).isdigit()
    ]
    value = mean_handle_seconds(talks, float(default_handle_seconds))
    _handle_cache[key] = (time.monotonic(), value)
    return value
