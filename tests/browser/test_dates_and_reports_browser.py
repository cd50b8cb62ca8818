"""Dates, reports and the floor's history and staffing at 1366x900 in a real browser (issue 17, point 8).

Each page: no horizontal scroll, dates as ISO text (never the browser's mm/dd/yyyy), and every empty chart
one line of "no data" inside its box. Screenshots: tests/browser/screenshots/dates-*.png.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from ivr.configuration.rules.store import publish_rules
from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file
from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.browser.conftest import Site, screenshot
from tests.integration.test_console_floor import Floor

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
TIMEZONE = "Asia/Shanghai"  # the settings' default: the centre's clock
NO_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _local_today() -> Any:
    return datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()


def _utc(day: Any, hour: int, minute: int = 0) -> datetime:
    """A local time on `day` as the naive UTC the database holds."""
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(TIMEZONE))
    return local.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def centre(site: Site) -> Site:
    """A supervisor "boss" and a shift lead "lead"; answered calls on the same weekday of the last four
    weeks (09:00-10:00, three a half hour, 4 min talk) and on the last seven days."""
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="boss", role="supervisor", password=PASSWORD)
        create_user(session, username="lead", role="shift_lead", password=PASSWORD)
    floor = Floor(site.hotline)
    today = _local_today()
    days = {today - timedelta(weeks=n) for n in range(1, 5)}
    days |= {today - timedelta(days=n) for n in range(1, 7)}
    for day in sorted(days):
        for minute in (0, 10, 20, 30, 40, 50):
            sid = floor.call(_utc(day, 9, minute), "billing")
            floor.answered(sid, "陈静", _utc(day, 9, minute) + timedelta(seconds=15), talk=240)
    assert utcnow() > _utc(today - timedelta(days=1), 10)
    return site


def _log_in(page: Any, site: Site, username: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _fits(page: Any, name: str) -> None:
    """No horizontal scroll at 1366 wide; every empty chart one line inside its box; a screenshot."""
    assert page.evaluate(NO_SCROLL), f"{name}: the page scrolls sideways at 1366 wide"
    for box in page.locator(".chart-empty").all():
        note = box.locator(".chart-empty-note")
        outer, inner = box.bounding_box(), note.bounding_box()
        assert outer and inner
        assert inner["height"] < 2 * 16 * 1.1, f"{name}: the no-data note wraps ({inner})"
        assert outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"]
        assert outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"]
        assert note.inner_text() == "无数据 / No data"
    screenshot(page, f"dates-{name}")


def test_history_fits_1366_with_iso_date_fields(page: Any, centre: Site) -> None:
    _log_in(page, centre, "lead")
    page.goto(centre.url + "/console/history")
    start = page.locator("input[name=start]")
    assert start.get_attribute("type") == "text"
    assert ISO_DAY.match(start.input_value())
    expect(page.locator("#history tbody tr")).to_have_count(8)  # 7 days and the total
    table = page.locator("#history").bounding_box()
    card = page.locator("section.card", has=page.locator("#history")).bounding_box()
    assert table and card
    assert table["x"] + table["width"] <= card["x"] + card["width"], "the day table is cut off"
    _fits(page, "history")
    page.goto(centre.url + "/console/history?by=hour")
    expect(page.locator("#history tbody tr")).to_have_count(25)  # 24 hours and the total
    _fits(page, "history-by-hour")


def test_history_refuses_a_us_date_with_a_message(page: Any, centre: Site) -> None:
    _log_in(page, centre, "lead")
    response = page.goto(centre.url + "/console/history?start=12/01/2026&end=2026-12-07")
    assert response.status == 400
    expect(page.locator("body")).to_contain_text("must be YYYY-MM-DD")


def test_the_quality_report_opens_on_this_month_and_empty_charts_say_so_in_one_line(
    page: Any, centre: Site
) -> None:
    _log_in(page, centre, "boss")
    page.goto(centre.url + "/reports/quality")
    this_month = _local_today().strftime("%Y-%m")
    expect(page.locator("h1")).to_contain_text(this_month)
    expect(page.locator("#to-date")).to_be_visible()
    month = page.locator("input[name=month]")
    assert month.get_attribute("type") == "text" and month.input_value() == this_month
    assert page.locator(".chart svg").count() >= 1  # this month's calls are drawn
    _fits(page, "quality-report")

    page.goto(centre.url + "/reports/quality?month=2020-01")  # a month without a call: every chart empty
    expect(page.locator("#to-date")).to_have_count(0)
    assert page.locator(".chart svg").count() == 0
    assert page.locator(".chart-empty").count() >= 8
    assert page.locator("text=无数据 / No data").count() == page.locator(".chart-empty").count()
    _fits(page, "quality-report-empty-month")


def test_the_satisfaction_report_opens_on_this_month(page: Any, centre: Site) -> None:
    _log_in(page, centre, "boss")
    page.goto(centre.url + "/reports/satisfaction")
    expect(page.locator("h1")).to_contain_text(_local_today().strftime("%Y-%m"))
    expect(page.locator("#to-date")).to_be_visible()
    assert page.locator(".chart-empty").count() + page.locator(".chart svg").count() == 3
    _fits(page, "satisfaction-report")


def test_the_rules_page_shows_each_groups_hours_as_they_are(page: Any, centre: Site) -> None:
    with unit_of_work(centre.hotline.sessions) as session:
        publish_rules(session, load_rules_file(DEFAULT_RULES_FILE), note="tests: office hours, safety 24/7")
    _log_in(page, centre, "boss")
    page.goto(centre.url + "/console/rules")
    safety = page.locator("section[data-group=safety]")
    expect(safety.locator("table.hours tr")).to_have_count(1)
    expect(safety.locator("table.hours")).to_contain_text("全天24小时 / open 24 hours")
    assert "closed" not in safety.locator("table.hours").inner_text()
    billing = page.locator("section[data-group=billing]")
    expect(billing.locator("table.hours tr")).to_have_count(7)
    expect(billing.locator("tr[data-day=mon]")).to_contain_text("08:00")
    expect(billing.locator("[data-holidays=closed]")).to_contain_text("Closed on holidays")
    _fits(page, "rules")


def test_staffing_starts_from_the_last_four_weeks_with_shrinkage(page: Any, centre: Site) -> None:
    _log_in(page, centre, "lead")
    page.goto(centre.url + "/console/staffing")
    nine = page.locator("tr[data-slot='09:00']")
    assert nine.locator("input").input_value() == "3"  # three calls a half hour on each past same weekday
    assert page.locator("input[name=handle]").input_value() == "240"  # their mean talk time
    assert page.locator("input[name=shrinkage]").input_value() == "30"
    needed = int(nine.locator("td.needed").inner_text())
    assert needed >= 1
    assert int(nine.locator("td.to-schedule").inner_text()) == -(-needed * 10 // 7)
    expect(page.locator("#history-note")).to_contain_text("mean talk 240 s")
    assert ISO_DAY.match(page.locator("input[name=day]").input_value())
    _fits(page, "staffing")
