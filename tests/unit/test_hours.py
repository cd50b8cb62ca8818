"""Opening hours: ranges, time zones, holidays, the end of the day, and the next opening."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from routing.hours import END_OF_DAY, is_open, next_opening, parse_range
from routing.model import Calendar

SHANGHAI = "Asia/Shanghai"
DAY = (time(8), time(20))
WEEKDAYS = Calendar(timezone=SHANGHAI, weekly={d: (DAY,) for d in range(5)})  # Mon-Fri 08:00-20:00


def at(
    year: int, month: int, day: int, hour: int, minute: int = 0, second: float = 0, zone: str = SHANGHAI
) -> float:
    """POSIX seconds of a wall-clock time in a zone."""
    whole = int(second)
    moment = datetime(
        year, month, day, hour, minute, whole, round((second - whole) * 1e6), tzinfo=ZoneInfo(zone)
    )
    return moment.timestamp()


# 2026-03-04 is a Wednesday; 2026-03-07 a Saturday; 2026-10-01 a Thursday.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00-20:00", (time(8), time(20))),
        ("00:00-24:00", (time(0), END_OF_DAY)),
        ("13:30-17:45", (time(13, 30), time(17, 45))),
    ],
)
def test_ranges_parse(text: str, expected: tuple[time, time]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("08:00", "not a range"),
        ("8-20", "not a time"),
        ("8:00-20:00", "not a time"),
        ("25:00-26:00", "not a time of day"),
        ("08:60-09:00", "not a time of day"),
        ("24:00-24:00", "not a time of day"),  # 24:00 only ends a range
        ("20:00-08:00", "does not start before it ends"),
        ("09:00-09:00", "does not start before it ends"),
    ],
)
def test_bad_ranges_are_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_range(text)


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 3, 4, 7, 59, 59), False),
        (at(2026, 3, 4, 8, 0), True),  # the start is inside
        (at(2026, 3, 4, 19, 59, 59), True),
        (at(2026, 3, 4, 20, 0), False),  # the end is outside
        (at(2026, 3, 7, 10, 0), False),  # Saturday: no hours
    ],
)
def test_weekly_hours(moment: float, open_: bool) -> None:
    assert is_open(WEEKDAYS, moment) is open_


def test_hours_are_read_in_the_calendars_own_time_zone() -> None:
    moment = at(2026, 3, 4, 10, 0)  # 10:00 in Shanghai is 02:00 in London
    london = Calendar(timezone="Europe/London", weekly=WEEKDAYS.weekly)
    assert is_open(WEEKDAYS, moment)
    assert not is_open(london, moment)
    assert is_open(london, at(2026, 3, 4, 10, 0, zone="Europe/London"))


def test_daylight_saving_time_moves_the_opening_with_the_wall_clock() -> None:
    berlin = Calendar(timezone="Europe/Berlin", weekly={d: (DAY,) for d in range(7)})
    # Clocks go forward on 2026-03-29: 08:00 is 07:00 UTC the day before and 06:00 UTC that day.
    assert is_open(berlin, datetime(2026, 3, 28, 7, 0, tzinfo=ZoneInfo("UTC")).timestamp())
    assert not is_open(berlin, datetime(2026, 3, 29, 5, 59, tzinfo=ZoneInfo("UTC")).timestamp())
    assert is_open(berlin, datetime(2026, 3, 29, 6, 0, tzinfo=ZoneInfo("UTC")).timestamp())


def test_a_holiday_closes_the_whole_local_day() -> None:
    calendar = Calendar(
        timezone=SHANGHAI, weekly={d: (DAY,) for d in range(7)}, holidays=frozenset({date(2026, 10, 1)})
    )
    assert not is_open(calendar, at(2026, 10, 1, 10, 0))
    assert is_open(calendar, at(2026, 10, 2, 10, 0))
    assert is_open(calendar, at(2026, 9, 30, 19, 0))


def test_the_holiday_date_is_the_local_date_not_utcs() -> None:
    calendar = Calendar(
        timezone=SHANGHAI,
        weekly={d: ((time(0), END_OF_DAY),) for d in range(7)},
        holidays=frozenset({date(2026, 10, 1)}),
    )
    # 2026-09-30 17:30 UTC is already 2026-10-01 01:30 in Shanghai.
    assert not is_open(calendar, datetime(2026, 9, 30, 17, 30, tzinfo=ZoneInfo("UTC")).timestamp())
    assert is_open(calendar, datetime(2026, 9, 30, 15, 30, tzinfo=ZoneInfo("UTC")).timestamp())


def test_always_open_ignores_hours_and_holidays() -> None:
    calendar = Calendar(timezone=SHANGHAI, always_open=True, holidays=frozenset({date(2026, 10, 1)}))
    for moment in (at(2026, 10, 1, 3, 0), at(2026, 3, 7, 23, 59)):
        assert is_open(calendar, moment)
        assert next_opening(calendar, moment) == moment


def test_a_range_to_24_00_stays_open_to_the_last_instant() -> None:
    calendar = Calendar(timezone=SHANGHAI, weekly={2: ((time(22), END_OF_DAY),)})
    assert is_open(calendar, at(2026, 3, 4, 23, 59, 59.9999))
    assert not is_open(calendar, at(2026, 3, 5, 0, 0))


def test_a_night_shift_is_written_as_two_ranges_across_midnight() -> None:
    # Overnight ranges are not one range ("22:00-06:00" is refused): the night is split at midnight.
    night = Calendar(timezone=SHANGHAI, weekly={2: ((time(22), END_OF_DAY),), 3: ((time(0), time(6)),)})
    assert is_open(night, at(2026, 3, 4, 23, 0))
    assert is_open(night, at(2026, 3, 5, 5, 59))
    assert not is_open(night, at(2026, 3, 5, 6, 0))
    assert next_opening(night, at(2026, 3, 4, 12, 0)) == at(2026, 3, 4, 22, 0)


@pytest.mark.parametrize(
    ("calendar", "now", "expected"),
    [
        (WEEKDAYS, at(2026, 3, 4, 10, 0), at(2026, 3, 4, 10, 0)),  # open: now
        (WEEKDAYS, at(2026, 3, 4, 6, 0), at(2026, 3, 4, 8, 0)),  # early: this morning
        (WEEKDAYS, at(2026, 3, 4, 21, 0), at(2026, 3, 5, 8, 0)),  # evening: next morning
        (WEEKDAYS, at(2026, 3, 6, 20, 0), at(2026, 3, 9, 8, 0)),  # Friday night: Monday
        (
            Calendar(
                SHANGHAI, {d: (DAY,) for d in range(7)}, frozenset({date(2026, 10, d) for d in (1, 2, 3)})
            ),
            at(2026, 9, 30, 21, 0),
            at(2026, 10, 4, 8, 0),  # after the national-day holidays
        ),
        (
            Calendar(SHANGHAI, {2: ((time(8), time(12)), (time(13), time(17)))}),
            at(2026, 3, 4, 12, 30),
            at(2026, 3, 4, 13, 0),  # after the lunch break
        ),
    ],
)
def test_next_opening(calendar: Calendar, now: float, expected: float) -> None:
    opening = next_opening(calendar, now)
    assert opening == expected
    assert is_open(calendar, expected)
    if expected > now:
        assert not is_open(calendar, expected - 1)


def test_next_opening_is_none_when_the_group_never_opens() -> None:
    assert next_opening(Calendar(timezone=SHANGHAI), at(2026, 3, 4, 10, 0)) is None
    # Only Mondays, and every Monday of the next year and more is a holiday.
    mondays = frozenset(date.fromordinal(date(2026, 3, 9).toordinal() + 7 * week) for week in range(60))
    assert next_opening(Calendar(SHANGHAI, {0: (DAY,)}, mondays), at(2026, 3, 4, 10, 0)) is None
