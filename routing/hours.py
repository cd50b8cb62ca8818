"""Opening hours of agent groups: is a group open at an instant, and when does it open next."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.model import Calendar

END_OF_DAY = time.max  # how "24:00" is kept: a datetime.time cannot say 24:00
# Holidays may close a group for a long stretch; beyond a year and a week nothing will ever open.
_SEARCH_DAYS = 373


def parse_range(text: str) -> tuple[time, time]:
    """ "08:00-20:00" -> (08:00, 20:00); "24:00" as an end means the end of the day. Raises ValueError."""
    start_text, separator, end_text = text.partition("-")
    if not separator:
        raise ValueError(f"{text!r} is not a range like 08:00-20:00")
    start, end = _parse_clock(start_text, allow_24=False), _parse_clock(end_text, allow_24=True)
    if start >= end:
        raise ValueError(f"{text!r} does not start before it ends (ranges cannot run past midnight)")
    return start, end


def _parse_clock(text: str, *, allow_24: bool) -> time:
    hours, separator, minutes = text.strip().partition(":")
    if not (separator and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError(f"{text!r} is not a time like 08:30")
    h, m = int(hours), int(minutes)
    if allow_24 and (h, m) == (24, 0):
        return END_OF_DAY
    if h > 23 or m > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(h, m)


def _in_range(moment: time, start: time, end: time) -> bool:
    # END_OF_DAY is inclusive so that "22:00-24:00" leaves no closed microsecond before midnight.
    return start <= moment and (moment < end or end == END_OF_DAY)


def is_open_local(calendar: Calendar, local: datetime) -> bool:
    """Whether the calendar is open at a wall-clock time already in its time zone."""
    if calendar.always_open:
        return True
    if local.date() in calendar.holidays:
        return False
    moment = local.time().replace(tzinfo=None)
    return any(_in_range(moment, start, end) for start, end in calendar.weekly.get(local.weekday(), ()))


def is_open(calendar: Calendar, now: float) -> bool:
    """Whether the group is open at `now` (POSIX seconds), in the calendar's own time zone."""
    if calendar.always_open:
        return True
    return is_open_local(calendar, datetime.fromtimestamp(now, ZoneInfo(calendar.timezone)))


def next_opening(calendar: Calendar, now: float) -> float | None:
    """The first instant at or after `now` when the group is open (`now` if open); None if never."""
    if is_open(calendar, now):
        return now
    if not any(calendar.weekly.values()):
        return None
    zone = ZoneInfo(calendar.timezone)
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(_SEARCH_DAYS):
        day: date = today + timedelta(days=offset)
        if day in calendar.holidays:
            continue
        for start, _end in sorted(calendar.weekly.get(day.weekday(), ())):
            moment = datetime.combine(day, start, tzinfo=zone).timestamp()
            # A start already past is a range that has closed; a start inside a daylight-saving gap
            # maps to a wall time that may fall outside the range: check rather than trust it.
            if moment > now and is_open(calendar, moment):
                return moment
    return None
