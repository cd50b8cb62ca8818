"""When a satisfaction call-back may be placed: pure date arithmetic (docs/callbacks.md, "When").

A call-back is due on the 3rd to 5th local day after the completion, inside the daily calling window,
never on a holiday. Times in and out are naive UTC (what the database holds); the window and holidays are
local to `timezone`. The window's end is exclusive: at 20:00 sharp a 09:00-20:00 window is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

FIRST_DAY = 3  # local days after the completion's day
LAST_DAY = 5
RETRY_GAP = timedelta(hours=2)


class WindowError(ValueError):
    """A calling window or holiday list that cannot be used."""


@dataclass(frozen=True)
class CallingRules:
    """The local daily window [start, end) and the local dates never called on."""

    start: time
    end: time
    holidays: frozenset[date] = frozenset()
    timezone: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise WindowError(f"the calling window must start before it ends (got {self.start}-{self.end})")
        ZoneInfo(self.timezone)  # an unknown zone fails here, not at the first call-back


def parse_window(text: str) -> tuple[time, time]:
    """'09:00-20:00' -> (09:00, 20:00)."""
    try:
        first, last = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(first), time.fromisoformat(last)
    except ValueError as error:
        raise WindowError(f"calling window must look like 09:00-20:00 (got {text!r})") from error
    if start >= end:
        raise WindowError(f"the calling window must start before it ends (got {text!r})")
    return start, end


def parse_holidays(text: str) -> tuple[date, ...]:
    """'2026-10-01, 2026-10-02' -> the dates (empty text: none)."""
    found: list[date] = []
    for part in text.split(","):
        if part.strip():
            try:
                found.append(date.fromisoformat(part.strip()))
            except ValueError as error:
                message = f"holidays must be YYYY-MM-DD dates, comma-separated (got {part!r})"
                raise WindowError(message) from error
    return tuple(sorted(set(found)))


@dataclass(frozen=True)
class DuePlan:
    """The first moment a call-back may be placed and the last (naive UTC)."""

    due_at: datetime
    latest_at: datetime


def _utc(day: date, moment: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=UTC).astimezone(zone)


def is_callable(moment: datetime, rules: CallingRules) -> bool:
    """Whether a call may be placed at `moment` (naive UTC): inside the window, not on a holiday."""
    local = _local(moment, ZoneInfo(rules.timezone))
    return local.date() not in rules.holidays and rules.start <= local.time() < rules.end


def next_callable(moment: datetime, rules: CallingRules) -> datetime:
    """The first moment at or after `moment` (naive UTC) when a call may be placed."""
    zone = ZoneInfo(rules.timezone)
    day = _local(moment, zone).date()
    for _ in range(3660):  # ten years of holidays at most
        if day not in rules.holidays:
            opens, closes = _utc(day, rules.start, zone), _utc(day, rules.end, zone)
            if moment < closes:
                return max(moment, opens)
        day += timedelta(days=1)
    raise WindowError("no callable day in the next ten years: check the holidays")


def first_due(completed_at: datetime, rules: CallingRules) -> DuePlan | None:
    """The first and latest moment of a completion's call-back, or None when days 3 to 5 are all holidays.

    The latest is the end of the window of the last non-holiday day among days 3 to 5 (day 5 normally).
    """
    zone = ZoneInfo(rules.timezone)
    day0 = _local(completed_at, zone).date()
    days = [day0 + timedelta(days=n) for n in range(FIRST_DAY, LAST_DAY + 1)]
    open_days = [day for day in days if day not in rules.holidays]
    if not open_days:
        return None
    return DuePlan(_utc(open_days[0], rules.start, zone), _utc(open_days[-1], rules.end, zone))


def next_retry(
    finished_at: datetime, latest_at: datetime, rules: CallingRules, gap: timedelta = RETRY_GAP
) -> datetime | None:
    """When to try again after an attempt ended at `finished_at`: at least `gap` later, inside a window,
    not on a holiday, before `latest_at`; None when no such moment is left."""
    moment = next_callable(finished_at + gap, rules)
    return moment if moment < latest_at else None
