"""The floor's history: answering figures and agents by state for a period, by day or by hour of the day.

A call counts in the local day or hour it started in; the agents' time in each state is replayed from
their state changes. Times in the database are naive UTC.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import AgentStateChange, Call
from ivr.quality.answering import SERVICE_LEVEL_SECONDS, QueueFigures, queue_figures
from ivr.queueing.agent_states import STATES
from ivr.queueing.floor_figures import answering, calls_between, long_read, split_open
from ivr.queueing.local_days import utc_of_local
from ivr.web.labels import DayError, parse_day

MAX_HISTORY_DAYS = 92


class PeriodError(ValueError):
    """A period that cannot be shown; the message says why, in both languages."""


@dataclass
class HistoryRow:
    """One day (or one hour of the day, over the whole period): calls, answering, agents by state."""

    key: str  # YYYY-MM-DD, or HH
    label: str
    calls: int = 0
    figures: QueueFigures = field(default_factory=QueueFigures)
    in_progress: int = 0  # offered, not decided yet (only possible today)
    agent_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    span_seconds: float = 0.0  # how much of the bucket lies in the period read (for the agent averages)

    @property
    def agents(self) -> dict[str, float | None]:
        """Mean number of agents in each state over the bucket."""
        span = self.span_seconds
        return {state: (seconds / span if span else None) for state, seconds in self.agent_seconds.items()}


@dataclass
class History:
    """A period's figures by day or by hour of the day, with totals and the figures of each queue."""

    start: date
    end: date  # inclusive
    by: str  # "day" or "hour"
    timezone: str
    rows: list[HistoryRow]
    total: HistoryRow
    queues: list[tuple[str, QueueFigures]]


def parse_period(start: str | None, end: str | None, by: str | None, today: date) -> tuple[date, date, str]:
    """The history page's ?start=&end=&by= (default: the last 7 days, by day); raises PeriodError."""
    by = (by or "day").strip()
    if by not in ("day", "hour"):
        raise PeriodError(f"by 只能是 day 或 hour / by must be day or hour, not {by!r}")
    try:
        last = parse_day(end, "结束日期 / the end") if end and end.strip() else today
        first = (
            parse_day(start, "开始日期 / the start") if start and start.strip() else last - timedelta(days=6)
        )
    except DayError as error:
        raise PeriodError(str(error)) from None
    if first > last:
        raise PeriodError(f"开始日期晚于结束日期 / the start {first} is after the end {last}")
    days = (last - first).days + 1
    if days > MAX_HISTORY_DAYS:
        raise PeriodError(
            f"最多 {MAX_HISTORY_DAYS} 天 / at most {MAX_HISTORY_DAYS} days at a time ({days} asked for)"
        )
    return first, last, by


def history(session: Session, *, start: date, end: date, by: str, timezone: str, now: datetime) -> History:
    """The figures of the local days start..end (inclusive), by day or by hour of the day."""
    long_read(session)
    zone = ZoneInfo(timezone)
    period_start = utc_of_local(datetime.combine(start, time.min), timezone)
    period_end = utc_of_local(datetime.combine(end + timedelta(days=1), time.min), timezone)
    calls, facts = calls_between(session, period_start, period_end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    if by == "day":
        rows = {d.isoformat(): HistoryRow(d.isoformat(), d.isoformat()) for d in days}
    else:
        rows = {f"{h:02d}": HistoryRow(f"{h:02d}", f"{h:02d}:00") for h in range(24)}

    def key_of(moment: datetime) -> str:
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        return local.date().isoformat() if by == "day" else f"{local.hour:02d}"

    grouped: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        grouped[key_of(call.started_at)].append(call)
    for key, row in rows.items():
        decided, row.in_progress = split_open(grouped[key], facts, now)
        row.calls = len(grouped[key])
        row.figures = queue_figures(decided, facts)
    decided, still_open = split_open(calls, facts, now)
    total = HistoryRow("total", "合计 / Total", len(calls), queue_figures(decided, facts), still_open)

    by_queue: dict[str, list[Call]] = defaultdict(list)
    for call in decided:
        if call.queue is not None:
            by_queue[call.queue].append(call)
    queues = [(name, queue_figures(by_queue[name], facts)) for name in sorted(by_queue)]

    _agent_time(session, rows, total, period_start, min(period_end, now), key_of, timezone)
    return History(start, end, by, timezone, list(rows.values()), total, queues)


def _agent_time(
    session: Session,
    rows: dict[str, HistoryRow],
    total: HistoryRow,
    start: datetime,
    end: datetime,
    key_of: Any,
    timezone: str,
) -> None:
    """Seconds each state was held by the agents within each bucket (state changes replayed)."""
    if end <= start:
        return
    before = (
        select(func.max(AgentStateChange.id))
        .where(AgentStateChange.at < start)
        .group_by(AgentStateChange.agent_id)
    )
    changes = session.execute(
        select(AgentStateChange.agent_id, AgentStateChange.state, AgentStateChange.at)
        .where(
            (AgentStateChange.id.in_(before)) | ((AgentStateChange.at >= start) & (AgentStateChange.at < end))
        )
        .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
    ).all()
    by_agent: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for agent_id, state, at in changes:
        by_agent[agent_id].append((state, max(at, start)))
    for timeline in by_agent.values():
        for (state, began), (_next, ended) in zip(timeline, [*timeline[1:], ("", end)], strict=True):
            for piece_start, piece_end in _hour_pieces(began, ended, timezone):
                seconds = (piece_end - piece_start).total_seconds()
                row = rows.get(key_of(piece_start))
                if row is not None and state in row.agent_seconds:
                    row.agent_seconds[state] += seconds
                if state in total.agent_seconds:
                    total.agent_seconds[state] += seconds
    for piece_start, piece_end in _hour_pieces(start, end, timezone):
        row = rows.get(key_of(piece_start))
        if row is not None:
            row.span_seconds += (piece_end - piece_start).total_seconds()
    total.span_seconds = (end - start).total_seconds()


def _hour_pieces(start: datetime, end: datetime, timezone: str) -> Iterable[tuple[datetime, datetime]]:
    """[start, end) (naive UTC) cut at every local full hour."""
    zone = ZoneInfo(timezone)
    moment = start
    while moment < end:
        local = moment.replace(tzinfo=UTC).astimezone(zone)
        to_hour = timedelta(minutes=60 - local.minute) - timedelta(
            seconds=local.second, microseconds=local.microsecond
        )
        cut = min(end, moment + to_hour)
        yield moment, cut
        moment = cut


def history_rows(report: History) -> list[list[str]]:
    """The history as CSV rows: one line per day (or hour), then the total, rates in percent."""

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}"

    def num(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    header = [
        "day" if report.by == "day" else "hour",
        "calls",
        "offered",
        "answered",
        f"answered_within_{SERVICE_LEVEL_SECONDS}s",
        "abandoned",
        "callback",
        "duty",
        "other",
        "service_level_pct",
        "abandonment_pct",
        "average_answer_seconds",
        "longest_answer_seconds",
        "in_progress",
        *(f"mean_agents_{state}" for state in STATES),
    ]
    lines = [header]
    for row in [*report.rows, report.total]:
        figures = answering(row.figures, row.in_progress)
        agents = row.agents
        lines.append(
            [
                row.key,
                str(row.calls),
                str(figures["offered"]),
                str(figures["answered"]),
                str(figures["answered_within"]),
                str(figures["abandoned"]),
                str(figures["callback"]),
                str(figures["duty"]),
                str(figures["other"]),
                pct(figures["service_level"]),
                pct(figures["abandonment"]),
                num(figures["average_answer_seconds"]),
                num(figures["longest_answer_seconds"]),
                str(row.in_progress),
                *(("" if agents[state] is None else f"{agents[state]:.2f}") for state in STATES),
            ]
        )
    return lines


def history_as_csv(report: History) -> str:
    """The history as a CSV file (with a byte-order mark, so spreadsheet programs read it as UTF-8)."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(history_rows(report))
    return out.getvalue()
