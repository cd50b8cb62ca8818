"""routing/after_hours.py: the one rule for a caller queued while their group is closed (live and trial)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.configuration.rules.convert import rules_from_raw
from ivr.configuration.rules.validation import load_rules_file
from routing.after_hours import AFTER_HOURS_STEP, NO_OPENING_CALL_BACK, QUEUED, VOICEMAIL, Closed, closed_now
from routing.model import Calendar, Rules

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 4, 10, 0, tzinfo=ZONE).timestamp()  # a Wednesday morning: every group open
NIGHT = datetime(2026, 3, 4, 23, 0, tzinfo=ZONE).timestamp()  # only the safety desk is open
DEFAULT = rules_from_raw(load_rules_file(), 1)


def closed(rules: Rules, intent: str, now: float, emergency: bool = False) -> Closed | None:
    return closed_now(rules, intent=intent, language="zh-CN", priority=5, emergency=emergency, now=now)


def test_an_open_group_or_an_emergency_is_never_closed() -> None:
    assert closed(DEFAULT, "billing", DAY) is None
    assert closed(DEFAULT, "safety", NIGHT, emergency=True) is None


def test_at_night_billing_takes_a_message_and_calls_back_when_it_opens() -> None:
    night = closed(DEFAULT, "billing", NIGHT)
    assert night is not None and night.action == VOICEMAIL
    assert night.opens_at is not None and night.call_back_at == night.opens_at > NIGHT
    assert datetime.fromtimestamp(night.opens_at, ZONE).day == 5, "the next morning"


def test_at_night_repairs_go_to_the_after_hours_step() -> None:
    night = closed(DEFAULT, "repair", NIGHT)
    assert night is not None and night.action == AFTER_HOURS_STEP


def test_a_filter_without_an_after_hours_rule_queues_the_caller() -> None:
    filters = tuple(
        replace(f, after_hours=None) if f.name == "billing-mandarin" else f for f in DEFAULT.filters
    )
    night = closed(replace(DEFAULT, filters=filters), "billing", NIGHT)
    assert night is not None and night.action == QUEUED


def test_a_calendar_that_never_opens_calls_back_twelve_hours_later() -> None:
    calendars = dict(DEFAULT.calendars, billing=Calendar(weekly={}))
    night = closed(replace(DEFAULT, calendars=calendars), "billing", NIGHT)
    assert night is not None and night.opens_at is None
    assert night.call_back_at == NIGHT + NO_OPENING_CALL_BACK


def test_rules_that_admit_no_call_count_as_open() -> None:
    assert closed(replace(DEFAULT, filters=()), "billing", NIGHT) is None
