"""Issue 17, point 8: ISO date fields that the server checks, the rules page's hours as they are, and the
staffing form pre-filled from the same weekday of the last four weeks, with shrinkage (real call rows)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file
from ivr.configuration.rules_view import rules_view
from ivr.queueing.staffing import weekday_history
from tests.integration.test_console_editor import login, supervisor, users
from tests.integration.test_console_floor import TIMEZONE, TODAY, floor, lead, local

__all__ = ["floor", "lead", "login", "supervisor", "users"]  # fixtures, used by name


# ---------------------------------------------------------------- date fields


@pytest.mark.parametrize(
    "path",
    [
        "/console/history",
        "/console/staffing",
        "/quality",
        "/quality/recordings",
        "/exports",
        "/reports/quality",
    ],
)
def test_no_page_asks_for_a_date_in_the_browsers_format(supervisor, path):
    page = supervisor.client.get(path)
    assert page.status_code == 200, path
    html = page.get_data(as_text=True)
    assert not re.search(r'type="(date|month|datetime-local)"', html), path
    assert 'placeholder="YYYY-MM' in html, path  # admin/fields.html: ISO text with its pattern


def test_a_us_date_is_refused_with_the_format_said(lead):
    page = lead.get("/console/history?start=12/01/2026&end=2026-12-07")
    assert page.status_code == 400
    assert "must be YYYY-MM-DD, e.g. 2026-03-10 (not &#39;12/01/2026&#39;)" in page.get_data(as_text=True)
    page = lead.get("/console/staffing?day=03/10/2026")
    assert page.status_code == 400 and "must be YYYY-MM-DD" in page.get_data(as_text=True)
    assert 'value="03/10/2026"' in page.get_data(as_text=True)  # shown again as typed, to correct


# ---------------------------------------------------------------- the rules page


def _rules_html(app, document):
    with app.test_request_context():
        return app.jinja_env.get_template("console/rules_tree.html").render(
            view=rules_view(document, []), editable=False
        )


def _group(html, name):
    return re.search(rf'<section [^>]*data-group="{name}">(.*?)</section>', html, re.S).group(1)


def test_a_24_hour_group_reads_open_24_hours_and_others_their_real_hours(app):
    html = _rules_html(app, load_rules_file(DEFAULT_RULES_FILE))
    safety = _group(html, "safety")  # always_open in the default rules
    assert "全天24小时 / open 24 hours" in safety and "closed" not in safety.replace("not closed", "")
    assert safety.count("<tr") == 1 and "Open on holidays too" in safety
    billing = _group(html, "billing")
    assert billing.count("<tr") == 7 and billing.count("08:00-20:00") == 7
    assert "Closed on holidays" in billing and "2026-10-01" in billing


def test_a_closed_weekday_says_closed(app):
    document = load_rules_file(DEFAULT_RULES_FILE)
    document["groups"]["billing"]["hours"] = {"mon": ["08:00-12:00", "13:00-17:00"]}
    billing = _group(_rules_html(app, document), "billing")
    assert re.search(r'data-day="mon"><th>[^<]*</th>\s*<td>08:00-12:00, 13:00-17:00', billing)
    assert billing.count("休息 / closed") == 6


# ---------------------------------------------------------------- staffing from real calls


def test_the_same_weekday_gives_calls_per_half_hour_and_the_mean_talk_time(hotline, floor):
    # Planning Tuesday 2026-03-17 on 2026-03-10: past Tuesdays 03-03 and 02-24 have calls.
    for minute, talk in ((0, 200), (10, 300)):
        sid = floor.call(local(3, 9, minute), "billing")
        floor.answered(sid, "陈静", local(3, 9, minute, 20), talk=talk)
    floor.call(local(3, 9, 40), "billing")  # offered, never answered: counts as a call, has no talk
    sid = floor.call(datetime(2026, 2, 24, 9, 5) - timedelta(hours=8), "repair")
    floor.answered(sid, "Emily Wu", datetime(2026, 2, 24, 9, 5, 30) - timedelta(hours=8), talk=100)
    sid = floor.call(local(2, 9), "billing")  # a Monday: not this weekday
    floor.answered(sid, "陈静", local(2, 9, 0, 10), talk=900)
    with hotline.sessions() as session:
        past = weekday_history(session, day=date(2026, 3, 17), today=TODAY, timezone=TIMEZONE)
    assert past.days == [date(2026, 2, 24), date(2026, 3, 3)]
    assert past.calls[18] == pytest.approx((2 + 1) / 2) and past.calls[19] == pytest.approx(1 / 2)
    assert past.handle_seconds == pytest.approx((200 + 300 + 100) / 3)
    with hotline.sessions() as session:
        nothing = weekday_history(session, day=date(2026, 3, 18), today=TODAY, timezone=TIMEZONE)
    assert nothing.days == [] and nothing.handle_seconds is None and sum(nothing.calls) == 0


def _today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(TIMEZONE)).astimezone(
        UTC
    ).replace(tzinfo=None)


def test_the_staffing_page_opens_filled_in_and_adds_shrinkage(floor, lead):
    today = _today()
    for weeks in (1, 2):  # 10 calls in the 10:00 half hour a week ago and two weeks ago, 5 min each
        day = today - timedelta(weeks=weeks)
        for n in range(10):
            sid = floor.call(_at(day, 10, n), "billing")
            floor.answered(sid, "陈静", _at(day, 10, n) + timedelta(seconds=10), talk=300)
    html = lead.get("/console/staffing").get_data(as_text=True)
    row = re.search(r'<tr data-slot="10:00"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert 'name="c20"' in row and 'value="10"' in row  # the mean of the two weeks
    assert re.search(r'name="handle"[^>]*value="300"', html)  # their mean talk time
    assert re.search(r'name="shrinkage"[^>]*value="30"', html)
    # 10 calls of 300 s in half an hour, 80 % in 20 s: Erlang C says 4 on the phones; 4 / 0.7 -> 6 to schedule
    assert re.search(r'class="n needed">4<', row) and re.search(r'class="n to-schedule">6<', row)
    assert "mean talk 300 s" in html

    html = lead.get(
        "/console/staffing?day=2026-03-10&apply=1&fill_from=10:00&fill_to=10:00&fill_calls=10"
        "&handle=300&shrinkage=50"
    ).get_data(as_text=True)
    row = re.search(r'<tr data-slot="10:00"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'class="n needed">4<', row) and re.search(r'class="n to-schedule">8<', row)
    assert re.search(r'id="peak-to-schedule">8<', html)


def test_a_shrinkage_out_of_range_is_a_form_error(lead):
    page = lead.get("/console/staffing?shrinkage=95")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "缩减率 / shrinkage" in html and "must be from 0 to 90" in html
    assert re.search(r'name="shrinkage"[^>]*value="95"', html)  # as typed, to correct
