"""When call-backs are due: days 3 to 5, inside the window, never on holidays, retries 2 hours apart."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from ivr.surveys.due import (
    CallingRules,
    DuePlan,
    WindowError,
    first_due,
    is_callable,
    next_callable,
    next_retry,
    parse_holidays,
    parse_window,
)
from ivr.surveys.jobs import Pacer

SHANGHAI = CallingRules(time(9), time(20))
GOLDEN_WEEK = CallingRules(time(9), time(20), frozenset(date(2026, 10, d) for d in range(1, 8)))
NEW_YORK = CallingRules(time(9), time(20), timezone="America/New_York")
SHORT = CallingRules(time(10, 30), time(12), timezone="Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("rules", "completed", "due", "latest"),
    [
        # Completed 2026-03-04 15:30 Shanghai (07:30 UTC): day 3 is 03-07, 09:00 local = 01:00 UTC.
        (SHANGHAI, "2026-03-04 07:30", "2026-03-07 01:00", "2026-03-09 12:00"),
        # 23:30 local on 03-04 is 15:30 UTC the same day; 00:30 local on 03-05 is 16:30 UTC on 03-04.
        (SHANGHAI, "2026-03-04 15:30", "2026-03-07 01:00", "2026-03-09 12:00"),
        (SHANGHAI, "2026-03-04 16:30", "2026-03-08 01:00", "2026-03-10 12:00"),
        # Golden week: completed 09-27 -> days 09-30 (open), 10-01, 10-02 (holidays): latest is 09-30's end.
        (GOLDEN_WEEK, "2026-09-27 02:00", "2026-09-30 01:00", "2026-09-30 12:00"),
        # Completed 09-26 -> days 09-29, 09-30, 10-01: day 5 is a holiday, day 4 is the last.
        (GOLDEN_WEEK, "2026-09-26 02:00", "2026-09-29 01:00", "2026-09-30 12:00"),
        # Completed 10-05 -> days 10-08, 10-09, 10-10.
        (GOLDEN_WEEK, "2026-10-05 02:00", "2026-10-08 01:00", "2026-10-10 12:00"),
        # Completed 10-02 -> days 10-05, 10-06 (holidays), 10-07 (holiday): nothing left.
        (GOLDEN_WEEK, "2026-10-02 02:00", None, None),
        # Completed 10-01 -> 10-04..10-06: all holidays.
        (GOLDEN_WEEK, "2026-10-01 02:00", None, None),
        # New York, across the DST start (2026-03-08): 09:00 EST = 14:00 UTC, 09:00 EDT = 13:00 UTC.
        (NEW_YORK, "2026-03-05 18:00", "2026-03-08 13:00", "2026-03-11 00:00"),
        (NEW_YORK, "2026-03-03 18:00", "2026-03-06 14:00", "2026-03-09 00:00"),
        # London summer time: 10:30 BST = 09:30 UTC.
        (SHORT, "2026-06-10 12:00", "2026-06-13 09:30", "2026-06-15 11:00"),
    ],
)
def test_first_due(rules: CallingRules, completed: str, due: str | None, latest: str | None) -> None:
    expected = DuePlan(utc(due), utc(latest)) if due and latest else None
    assert first_due(utc(completed), rules) == expected


@pytest.mark.parametrize(
    ("rules", "finished", "latest", "retry"),
    [
        # 10:00 local + 2 h = 12:00 local, inside the window.
        (SHANGHAI, "2026-03-07 02:00", "2026-03-09 12:00", "2026-03-07 04:00"),
        # 18:30 local + 2 h = 20:30, closed: next morning 09:00.
        (SHANGHAI, "2026-03-07 10:30", "2026-03-09 12:00", "2026-03-08 01:00"),
        # 17:59 local + 2 h = 19:59: still open, before the end.
        (SHANGHAI, "2026-03-07 09:59", "2026-03-09 12:00", "2026-03-07 11:59"),
        # 18:00 local + 2 h = 20:00 sharp: the end is exclusive.
        (SHANGHAI, "2026-03-07 10:00", "2026-03-09 12:00", "2026-03-08 01:00"),
        # Last day, 18:30 local: no moment left before the latest.
        (SHANGHAI, "2026-03-09 10:30", "2026-03-09 12:00", None),
        # 07:00 local + 2 h = 09:00: exactly the opening.
        (SHANGHAI, "2026-03-07 23:00", "2026-03-09 12:00", "2026-03-08 01:00"),
        # 09-30 18:30 local + 2 h -> closed; 10-01..10-07 holidays; 10-08 09:00 is after the latest.
        (GOLDEN_WEEK, "2026-09-30 10:30", "2026-09-30 12:00", None),
        (GOLDEN_WEEK, "2026-09-30 10:30", "2026-10-10 12:00", "2026-10-08 01:00"),
        # New York: 19:00 EDT + 2h -> next day 09:00 EDT (13:00 UTC).
        (NEW_YORK, "2026-03-09 23:00", "2026-03-12 00:00", "2026-03-10 13:00"),
        # A window shorter than the gap: the next day's opening.
        (SHORT, "2026-06-13 09:30", "2026-06-15 11:00", "2026-06-14 09:30"),
    ],
)
def test_next_retry(rules: CallingRules, finished: str, latest: str, retry: str | None) -> None:
    assert next_retry(utc(finished), utc(latest), rules) == (utc(retry) if retry else None)


def test_a_retry_is_always_two_hours_on_inside_a_window_and_before_the_latest() -> None:
    latest = utc("2026-10-10 12:00")
    for hour in range(0, 24 * 12):
        finished = utc("2026-09-29 00:00") + timedelta(minutes=37 * hour)
        retry = next_retry(finished, latest, GOLDEN_WEEK)
        if retry is not None:
            assert retry - finished >= timedelta(hours=2)
            assert is_callable(retry, GOLDEN_WEEK) and retry < latest


def test_is_callable_and_next_callable() -> None:
    assert is_callable(utc("2026-03-07 01:00"), SHANGHAI)  # 09:00 local
    assert not is_callable(utc("2026-03-07 12:00"), SHANGHAI)  # 20:00 local
    assert not is_callable(utc("2026-10-02 03:00"), GOLDEN_WEEK)  # a holiday, 11:00 local
    assert next_callable(utc("2026-10-02 03:00"), GOLDEN_WEEK) == utc("2026-10-08 01:00")
    assert next_callable(utc("2026-03-07 05:00"), SHANGHAI) == utc("2026-03-07 05:00")


def test_parsing_the_settings() -> None:
    assert parse_window("09:00-20:00") == (time(9), time(20))
    assert parse_window(" 08:30 - 21:15 ") == (time(8, 30), time(21, 15))
    for bad in ("20:00-09:00", "9-", "nine to five", "09:00-09:00"):
        with pytest.raises(WindowError):
            parse_window(bad)
    assert parse_holidays("2026-10-02, 2026-10-01,,2026-10-01") == (date(2026, 10, 1), date(2026, 10, 2))
    assert parse_holidays("") == ()
    with pytest.raises(WindowError, match="YYYY-MM-DD"):
        parse_holidays("2026-13-01")
    with pytest.raises(WindowError):
        CallingRules(time(20), time(9))


def test_the_pacer_spaces_placements_and_keeps_the_spacing_between_runs() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(2, clock=lambda: clock[0], sleep=sleep)
    moments = [pacer.wait() for _ in range(5)]
    assert moments == [100.0, 100.5, 101.0, 101.5, 102.0]
    clock[0] += 0.2  # the next job run starts soon after: it still waits for its slot
    assert pacer.wait() == 102.5
    clock[0] += 10  # an idle pause does not store up a burst
    start = clock[0]
    assert pacer.wait() == start and pacer.wait() == start + 0.5
    with pytest.raises(ValueError):
        Pacer(0)
