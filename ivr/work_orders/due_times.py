"""When a work order's deadline falls due, warns and escalates: in the desk's working time or round the clock.

Pure: no clock is read, the start is passed in. Times are datetimes, aware or naive meaning UTC (as the
database keeps them); each answer comes back in the same style. The desk's calendar is the router's
(routing.model.Calendar: weekly opening hours and holidays in a named time zone).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from routing.hours import END_OF_DAY
from routing.model import Calendar

Unit = Literal["m", "h", "d"]
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# A calendar with hours but all of them holidays for this long will never open: stop looking.
_SEARCH_DAYS = 366 * 5


@dataclass(frozen=True)
class Span:
    """A length of time: minutes, hours, or days (a working day when the deadline runs in working time)."""

    amount: int
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Span:
        """ "4h" -> Span(4, "h"); raises ValueError for anything else than digits then m, h or d."""
        number, unit = text[:-1], text[-1:]
        if not (number.isdigit() and unit in _UNIT_SECONDS and int(number) > 0):
            raise ValueError(f"{text!r} is not a span like 30m, 4h or 1d")
        return cls(int(number), unit)  # type: ignore[arg-type]  # unit checked just above

    @property
    def seconds(self) -> int:
        """The span as elapsed seconds (a day counted as 24 hours)."""
        return self.amount * _UNIT_SECONDS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


@dataclass(frozen=True)
class DeadlineRule:
    """One deadline of a work-order class, as the calculator needs it."""

    within: Span
    working_time: bool  # True: only the desk's open hours count; False: round the clock
    warning_share: float = 0.75  # the owner is warned when this share of the span has gone
    supervisor_after: Span = Span(1, "h")  # past the due time (when the shift lead is told), the supervisor


@dataclass(frozen=True)
class DueTimes:
    """The moments a deadline's timers fire."""

    warn_at: datetime  # the owner is warned
    due_at: datetime  # the deadline: escalated to the shift lead
    supervisor_at: datetime  # the second bound: escalated to the supervisor


def due_times(rule: DeadlineRule, start: datetime, calendar: Calendar) -> DueTimes:
    """Warning, due and supervisor times of `rule` counted from `start` on the desk's `calendar`."""
    begin = _seconds(start)
    due = _add(rule.within, begin, calendar, rule.working_time)
    supervisor = _add(rule.supervisor_after, due, calendar, rule.working_time)
    if rule.working_time and not calendar.always_open:
        # The share of the working time between start and due, counted again in working time.
        share = _open_seconds(calendar, begin, due) * rule.warning_share
        warn = _add_open_seconds(calendar, begin, share)
    else:
        warn = begin + (due - begin) * rule.warning_share
    return DueTimes(_like(start, warn), _like(start, due), _like(start, supervisor))


def due_time(rule: DeadlineRule, start: datetime, calendar: Calendar) -> datetime:
    """When `rule` falls due for a work order whose deadline started at `start`."""
    return due_times(rule, start, calendar).due_at


def _add(span: Span, begin: float, calendar: Calendar, working_time: bool) -> float:
    if not working_time:
        return begin + span.seconds
    if span.unit == "d":
        return _add_working_days(calendar, begin, span.amount)
    if calendar.always_open:
        return begin + span.seconds
    return _add_open_seconds(calendar, begin, span.seconds)


def _add_open_seconds(calendar: Calendar, begin: float, seconds: float) -> float:
    """The instant when `seconds` of open time have passed since `begin` (closed time does not count)."""
    if calendar.always_open:
        return begin + seconds
    left = seconds
    for opens, closes in _open_intervals(calendar, begin):
        if opens + left <= closes:
            return opens + left
        left -= closes - opens
    raise ValueError(f"the calendar ({calendar.timezone}) does not open in the next {_SEARCH_DAYS} days")


def _open_seconds(calendar: Calendar, begin: float, end: float) -> float:
    """How much open time lies between `begin` and `end`."""
    total = 0.0
    for opens, closes in _open_intervals(calendar, begin):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def _add_working_days(calendar: Calendar, begin: float, days: int) -> float:
    """The same wall time `days` working days later, but no later than that day's last closing."""
    zone = ZoneInfo(calendar.timezone)
    local = datetime.fromtimestamp(begin, zone)
    day = local.date()
    for _ in range(days):
        day = _next_working_day(calendar, day)
    same_time = datetime.combine(day, local.time(), tzinfo=zone).timestamp()
    if calendar.always_open:
        return same_time
    last_close = max(closes for _, closes in _day_intervals(calendar, day, zone))
    return min(same_time, last_close)


def _next_working_day(calendar: Calendar, day: date) -> date:
    for offset in range(1, _SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if calendar.always_open or (
            candidate not in calendar.holidays and calendar.weekly.get(candidate.weekday())
        ):
            return candidate
    raise ValueError(f"the calendar ({calendar.timezone}) has no working day in the next {_SEARCH_DAYS} days")


def _open_intervals(calendar: Calendar, begin: float) -> Iterator[tuple[float, float]]:
    """The calendar's open stretches from `begin` on, as POSIX seconds, in order, the first clipped."""
    zone = ZoneInfo(calendar.timezone)
    first = datetime.fromtimestamp(begin, zone).date()
    for offset in range(-1, _SEARCH_DAYS):  # the day before too: a zone's midnight may sit either side
        for opens, closes in _day_intervals(calendar, first + timedelta(days=offset), zone):
            if closes > begin:
                yield max(opens, begin), closes


def _day_intervals(calendar: Calendar, day: date, zone: ZoneInfo) -> list[tuple[float, float]]:
    if day in calendar.holidays:
        return []
    intervals = []
    for start, end in sorted(calendar.weekly.get(day.weekday(), ())):
        opens = datetime.combine(day, start, tzinfo=zone).timestamp()
        if end == END_OF_DAY:  # "24:00": up to the next midnight, not one microsecond before it
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).timestamp()
        else:
            closes = datetime.combine(day, end, tzinfo=zone).timestamp()
        intervals.append((opens, closes))
    return intervals


def _seconds(moment: datetime) -> float:
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def _like(example: datetime, seconds: float) -> datetime:
    """POSIX seconds back to a datetime in UTC, naive when `example` was naive."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment if example.tzinfo is not None else moment.replace(tzinfo=None)
