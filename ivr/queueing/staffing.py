"""The staffing calculator's inputs: calls expected per local half hour, and agents scheduled then."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Call
from ivr.quality.answering import call_facts
from ivr.queueing.local_days import utc_of_local
from routing.hours import is_open
from routing.model import Rules

HALF_HOUR = 1800
HALF_HOURS = 48
HISTORY_WEEKS = 4  # the staffing form's expected calls: the same weekday of the last 4 weeks
SHRINKAGE_PERCENT = 30  # paid time away from the phones (breaks, training, meetings, absence) by default


@dataclass
class WeekdayHistory:
    """What the same weekday of the last four weeks says: calls per half hour and handling time."""

    calls: list[float]  # mean calls offered to a queue per local half hour
    handle_seconds: float | None  # mean talk time of the agent-answered calls; None: none answered
    days: list[date]  # the days averaged (those with calls), oldest first


def agents_to_schedule(needed: int, shrinkage_percent: float) -> int:
    """Agents to put on the rota so that `needed` are on the phones when `shrinkage_percent` of paid time
    goes elsewhere: needed / (1 - shrinkage), rounded up."""
    if needed <= 0:
        return 0
    return math.ceil(round(needed / (1 - shrinkage_percent / 100), 9))


def half_hour_labels() -> list[str]:
    """00:00, 00:30, ... 23:30."""
    return [f"{n // 2:02d}:{30 * (n % 2):02d}" for n in range(HALF_HOURS)]


def past_same_weekdays(day: date, today: date, weeks: int = HISTORY_WEEKS) -> list[date]:
    """The last `weeks` days of `day`'s weekday that are over (before today), newest first."""
    latest = today - timedelta(days=1)
    latest -= timedelta(days=(latest.weekday() - day.weekday()) % 7)
    return [latest - timedelta(weeks=n) for n in range(weeks)]


def expected_calls(
    session: Session, *, day: date, today: date, timezone: str
) -> tuple[list[float], list[date]]:
    """Calls offered to a queue per local half hour, averaged over the same weekday of the last 4 weeks.

    Only the weeks with at least one such call are averaged (a hotline started two weeks ago is not
    divided by four); returns the 48 averages and the days used (none: no history to go by).
    """
    zone = ZoneInfo(timezone)
    counts: dict[date, list[int]] = {}
    for past in past_same_weekdays(day, today):
        start = utc_of_local(datetime.combine(past, time.min), timezone)
        end = utc_of_local(datetime.combine(past + timedelta(days=1), time.min), timezone)
        slots = [0] * HALF_HOURS
        started = session.scalars(
            select(Call.started_at).where(
                Call.started_at >= start, Call.started_at < end, Call.queue.is_not(None)
            )
        )
        for moment in started:
            local = moment.replace(tzinfo=UTC).astimezone(zone)
            slots[local.hour * 2 + local.minute // 30] += 1
        if any(slots):
            counts[past] = slots
    if not counts:
        return [0.0] * HALF_HOURS, []
    used = sorted(counts)
    return [sum(counts[d][slot] for d in used) / len(used) for slot in range(HALF_HOURS)], used


def scheduled_agents(session: Session, *, rules: Rules, day: date, timezone: str) -> list[int]:
    """Agents per half hour whose groups are open then by the live rules' calendars (what the system
    knows of a schedule: there is no roster), whatever their state."""
    in_service = select(Agent).where(Agent.active.is_(True))  # one out of service is scheduled nowhere
    groups = [set(agent.groups or []) for agent in session.scalars(in_service)]
    counts = []
    for slot in range(HALF_HOURS):
        local = datetime.combine(day, time(slot // 2, 30 * (slot % 2)))
        moment = utc_of_local(local, timezone).replace(tzinfo=UTC).timestamp()
        open_now = {name for name, calendar in rules.calendars.items() if is_open(calendar, moment)}
        counts.append(sum(bool(mine & open_now) for mine in groups))
    return counts


def weekday_history(session: Session, *, day: date, today: date, timezone: str) -> WeekdayHistory:
    """The staffing form's pre-fill for `day`: `expected_calls`, and the mean talk time of the calls
    agents answered on the days averaged (the agents' own Dial results; call-backs included)."""
    calls, used = expected_calls(session, day=day, today=today, timezone=timezone)
    if not used:
        return WeekdayHistory(calls, None, used)
    spans = [
        and_(
            Call.started_at >= utc_of_local(datetime.combine(past, time.min), timezone),
            Call.started_at < utc_of_local(datetime.combine(past + timedelta(days=1), time.min), timezone),
        )
        for past in used
    ]
    _facts, talks = call_facts(session, select(Call.call_sid).where(or_(*spans)))
    seconds = [answer.talk for answer in talks if answer.talk]
    return WeekdayHistory(calls, fmean(seconds) if seconds else None, used)
