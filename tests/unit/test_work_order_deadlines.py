"""The deadline rules document (defaults, refusals) and the due-time calculator (working time, safety)."""

from __future__ import annotations

import copy
import typing
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr.work_orders import lifecycle
from ivr.work_orders.deadline_rules import (
    CLASSES,
    KINDS,
    STARTS,
    Deadline,
    InvalidDeadlines,
    WorkOrderClass,
    deadline_rule,
    desk_calendar,
    load_deadlines_file,
    validate_deadlines,
)
from ivr.work_orders.due_times import DeadlineRule, Span, due_time, due_times
from routing.model import Calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
Hours = dict[int, tuple[tuple[time, time], ...]]
WEEKDAYS_8_TO_18: Hours = {day: ((time(8), time(18)),) for day in range(5)}  # Monday to Friday
DESK = Calendar(timezone="Asia/Shanghai", weekly=WEEKDAYS_8_TO_18)
FOUR_WORKING_HOURS = DeadlineRule(within=Span(4, "h"), working_time=True, supervisor_after=Span(2, "h"))


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def in_shanghai(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


# ---------------------------------------------------------------- the document


def test_the_default_document_validates_with_every_class_on_a_desk() -> None:
    document = validate_deadlines(load_deadlines_file())

    assert set(document.classes) == set(CLASSES)
    assert {rules.desk for rules in document.classes.values()} == {
        "business",
        "complaints",
        "field_crew",
        "safety",
    }
    assert document.warning_share == 0.75
    assert document.desks["safety"].always_open


def test_the_deadline_names_are_the_lifecycles() -> None:
    assert CLASSES == lifecycle.WORK_CLASSES
    assert set(STARTS) <= set(lifecycle.STAGES)
    assert typing.get_args(Deadline.model_fields["starts"].annotation) == STARTS
    deadlines_key = typing.get_args(WorkOrderClass.model_fields["deadlines"].annotation)[0]
    assert typing.get_args(deadlines_key) == KINDS


def test_the_defaults_are_the_regulations() -> None:
    document = validate_deadlines(load_deadlines_file())

    def said(work_order_class: str, kind: str) -> tuple[str, str, str]:
        deadline = document.classes[work_order_class].deadlines[kind]  # type: ignore[index]
        return deadline.within, deadline.starts, deadline.clock

    assert said("enquiry", "handover") == ("1h", "opened", "working")
    assert said("service_complaint", "result") == ("24h", "opened", "round_the_clock")
    assert said("quality_complaint", "handover") == ("4h", "opened", "working")
    assert said("quality_complaint", "answer") == ("1d", "handled", "working")
    assert said("gas_leak", "on_site") == ("1h", "opened", "round_the_clock")
    assert said("safety_complaint", "follow_up") == ("2h", "handled", "round_the_clock")
    assert said("meter_fault", "on_site") == ("24h", "opened", "round_the_clock")
    assert said("installation", "follow_up") == ("1d", "handled", "working")
    assert document.classes["quality_complaint"].desk == "field_crew"


def test_a_broken_document_is_refused_naming_each_structural_problem() -> None:
    raw = load_deadlines_file()
    raw["warning_share"] = 1.5
    raw["classes"]["enquiry"]["deadlines"]["handover"]["within"] = "an hour"
    raw["classes"]["gas_leak"]["deadlines"]["on_site"]["clock"] = "sometimes"
    installation = raw["classes"]["installation"]["deadlines"]
    installation["visit"] = installation["follow_up"]

    with pytest.raises(InvalidDeadlines) as refused:
        validate_deadlines(raw)

    where = {problem.where for problem in refused.value.problems}
    assert where == {
        "warning_share",
        "classes.enquiry.deadlines.handover.within",
        "classes.gas_leak.deadlines.on_site.clock",
        "classes.installation.deadlines.visit.[key]",  # pydantic's name for a key that is not allowed
    }
    said = str(refused.value)
    assert "warning_share: Input should be less than 1" in said
    assert "'handover', 'on_site', 'result', 'answer' or 'follow_up'" in said


def test_a_document_that_means_nothing_usable_is_refused_naming_each_problem_in_words() -> None:
    raw = copy.deepcopy(load_deadlines_file())
    del raw["classes"]["installation"]
    raw["classes"]["billing_dispute"] = raw["classes"]["enquiry"]
    raw["classes"]["meter_fault"]["desk"] = "meters"
    raw["classes"]["safety_complaint"]["deadlines"]["on_site"]["clock"] = "working"
    raw["classes"]["account_business"]["deadlines"] = {}
    raw["desks"]["business"]["timezone"] = "Asia/Atlantis"
    raw["desks"]["complaints"]["hours"] = {"mon": ["08:00-12:00", "11:00-20:00"], "tue": ["20:00-08:00"]}
    raw["desks"]["field_crew"] = {"timezone": "Asia/Shanghai"}

    with pytest.raises(InvalidDeadlines) as refused:
        validate_deadlines(raw)

    said = {str(problem) for problem in refused.value.problems}
    assert said == {
        "classes: missing class(es) installation: every class needs its rules",
        "classes.billing_dispute: unknown class 'billing_dispute'; classes are " + ", ".join(CLASSES),
        "classes.meter_fault.desk: desk 'meters' does not exist"
        " (desks: business, complaints, field_crew, safety)",
        "classes.safety_complaint.deadlines.on_site: is a safety deadline: it must run round the clock",
        "classes.account_business.deadlines: has no deadline: nobody would watch this class",
        "desks.business.timezone: unknown time zone 'Asia/Atlantis'",
        "desks.complaints.hours.mon: ranges 08:00-12:00 and 11:00-20:00 overlap",
        "desks.complaints.hours.tue: '20:00-08:00' does not start before it ends"
        " (ranges cannot run past midnight)",
        "desks.field_crew: has no opening hours and is not always_open: it would never open",
    }


# ---------------------------------------------------------------- due times in working time


def test_the_quality_complaint_taken_at_22_32_is_due_four_working_hours_after_8_00() -> None:
    document = validate_deadlines(load_deadlines_file())
    rule = deadline_rule(document, "quality_complaint", "handover")
    taken = local(2026, 12, 7, 22, 32)  # a Monday night; the field crew opens at 08:00

    times = due_times(rule, taken, desk_calendar(document, "field_crew"))

    assert in_shanghai(times.due_at) == local(2026, 12, 8, 12, 0)  # not 02:32
    # 75 % of 4 working hours: 3 working hours after 08:00.
    assert in_shanghai(times.warn_at) == local(2026, 12, 8, 11, 0)
    assert in_shanghai(times.supervisor_at) == local(2026, 12, 8, 14, 0)  # 2 working hours past due


def test_a_naive_start_means_utc_and_the_answer_stays_naive_utc() -> None:
    taken = datetime(2026, 12, 7, 14, 32)  # 22:32 in Shanghai, as the database keeps it

    due = due_time(FOUR_WORKING_HOURS, taken, DESK)

    assert due == datetime(2026, 12, 8, 4, 0)  # 12:00 in Shanghai
    assert due.tzinfo is None


def test_working_time_continues_across_the_night() -> None:
    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 8, 16, 30), DESK)  # 1.5 h today, 2.5 h tomorrow

    assert in_shanghai(due) == local(2026, 12, 9, 10, 30)


def test_working_time_skips_the_weekend() -> None:
    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 11, 17, 0), DESK)  # a Friday: 1 h, then Monday

    assert in_shanghai(due) == local(2026, 12, 14, 11, 0)


def test_working_time_skips_a_holiday() -> None:
    desk = Calendar(
        timezone="Asia/Shanghai", weekly=WEEKDAYS_8_TO_18, holidays=frozenset({date(2026, 12, 9)})
    )

    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 8, 17, 0), desk)  # Tuesday 1 h; Wednesday is a holiday

    assert in_shanghai(due) == local(2026, 12, 10, 11, 0)


def test_a_span_longer_than_a_days_opening_runs_over_several_days() -> None:
    rule = DeadlineRule(within=Span(24, "h"), working_time=True)  # 24 working hours of 10-hour days

    due = due_time(rule, local(2026, 12, 10, 9, 0), DESK)  # Thu 9 h, Fri 10 h, Mon 5 h

    assert in_shanghai(due) == local(2026, 12, 14, 13, 0)


def test_a_start_inside_the_opening_hours_simply_adds_when_the_span_fits() -> None:
    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 8, 9, 15), DESK)

    assert in_shanghai(due) == local(2026, 12, 8, 13, 15)


def test_split_opening_hours_count_only_the_open_stretches() -> None:
    split: Hours = {1: ((time(8), time(12)), (time(14), time(18)))}
    lunch_break = Calendar(timezone="Asia/Shanghai", weekly=split)

    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 8, 10, 0), lunch_break)

    assert in_shanghai(due) == local(2026, 12, 8, 16, 0)


def test_a_working_day_is_the_same_time_on_the_next_working_day_capped_at_its_closing() -> None:
    rule = DeadlineRule(within=Span(1, "d"), working_time=True)

    assert in_shanghai(due_time(rule, local(2026, 12, 8, 10, 0), DESK)) == local(2026, 12, 9, 10, 0)
    assert in_shanghai(due_time(rule, local(2026, 12, 11, 10, 0), DESK)) == local(2026, 12, 14, 10, 0)  # Fri
    assert in_shanghai(due_time(rule, local(2026, 12, 8, 22, 32), DESK)) == local(2026, 12, 9, 18, 0)


def test_working_hours_in_a_zone_with_daylight_saving_count_wall_hours() -> None:
    every_day: Hours = {day: ((time(8), time(18)),) for day in range(7)}
    london = Calendar(timezone="Europe/London", weekly=every_day)
    rule = DeadlineRule(within=Span(4, "h"), working_time=True)
    # The clocks went forward on Sunday 29 March 2026 at 01:00; the desk still opens at 08:00 local.
    due = due_time(rule, datetime(2026, 3, 28, 17, 0, tzinfo=ZoneInfo("Europe/London")), london)

    assert due.astimezone(ZoneInfo("Europe/London")) == datetime(
        2026, 3, 29, 11, 0, tzinfo=ZoneInfo("Europe/London")
    )


# ---------------------------------------------------------------- round the clock and the warning share


def test_safety_runs_round_the_clock_whatever_the_desk() -> None:
    document = validate_deadlines(load_deadlines_file())
    rule = deadline_rule(document, "gas_leak", "on_site")
    reported = local(2026, 12, 12, 2, 50)  # a Saturday night

    times = due_times(rule, reported, DESK)  # even on a calendar that is closed now: the clock just runs

    assert in_shanghai(times.due_at) == local(2026, 12, 12, 3, 50)
    assert in_shanghai(times.warn_at) == local(2026, 12, 12, 3, 35)  # 75 % of 60 minutes
    assert in_shanghai(times.supervisor_at) == local(2026, 12, 12, 4, 20)


def test_the_warning_comes_at_the_rules_share_of_the_span() -> None:
    rule = DeadlineRule(within=Span(2, "h"), working_time=False, warning_share=0.5)

    times = due_times(rule, datetime(2026, 12, 8, 0, 0, tzinfo=UTC), DESK)

    assert times.warn_at == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert times.due_at == datetime(2026, 12, 8, 2, 0, tzinfo=UTC)


def test_an_always_open_desk_counts_working_time_as_elapsed_time() -> None:
    always = Calendar(timezone="Asia/Shanghai", always_open=True)

    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 7, 22, 32), always)

    assert in_shanghai(due) == local(2026, 12, 8, 2, 32)


def test_a_document_warning_share_reaches_the_rule() -> None:
    raw = load_deadlines_file()
    raw["warning_share"] = 0.5
    raw["classes"]["enquiry"]["deadlines"]["handover"]["warning_share"] = 0.9
    document = validate_deadlines(raw)

    assert deadline_rule(document, "enquiry", "handover").warning_share == 0.9
    assert deadline_rule(document, "fault_repair", "handover").warning_share == 0.5


@pytest.mark.parametrize("text", ["0h", "4", "h", "4w", "-1h", "1.5h"])
def test_a_span_that_is_not_digits_and_a_unit_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a span"):
        Span.parse(text)


def test_a_night_desk_open_until_24_00_counts_on_past_midnight() -> None:
    nights: Hours = {day: ((time(0), time(2)), (time(22), time(23, 59, 59, 999999))) for day in range(7)}
    night_desk = Calendar(timezone="Asia/Shanghai", weekly=nights)  # "22:00-24:00" and "00:00-02:00"
    rule = DeadlineRule(within=Span(60, "m"), working_time=True)

    due = due_time(rule, local(2026, 12, 8, 23, 30), night_desk)

    assert in_shanghai(due) == local(2026, 12, 9, 0, 30)


def test_a_start_at_closing_time_waits_for_the_next_opening() -> None:
    due = due_time(FOUR_WORKING_HOURS, local(2026, 12, 8, 18, 0), DESK)

    assert in_shanghai(due) == local(2026, 12, 9, 12, 0)


def test_a_calendar_whose_every_day_is_a_holiday_for_years_is_refused_in_words() -> None:
    monday_only: Hours = {0: ((time(8), time(18)),)}
    mondays = frozenset(
        date(2026, 12, 7) + (date(2026, 12, 14) - date(2026, 12, 7)) * week for week in range(300)
    )
    never = Calendar(timezone="Asia/Shanghai", weekly=monday_only, holidays=mondays)

    with pytest.raises(ValueError, match="does not open in the next"):
        due_time(FOUR_WORKING_HOURS, local(2026, 12, 7, 9, 0), never)
