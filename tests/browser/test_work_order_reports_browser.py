"""The work-order reports in a real browser: the quality report's "Work orders" section (complaint closure,
deadlines kept, charts, open orders by age) and the live board's open orders by age, redrawn by board.js.
Screenshots: tests/browser/screenshots/work-order-reports-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.browser.conftest import Site, screenshot
from tests.integration.test_work_order_reports import answer_and_close, local, take

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def march(site: Site) -> Site:
    """Two service complaints closed (one 2 h late on its hand-over), a quality complaint and a fault
    repair left open: the same month as tests/integration/test_work_order_reports.py."""
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="boss", role="supervisor", password=PASSWORD)
        a = take(session, "service_complaint", local(10, 9), "report-a")
        answer_and_close(session, a, local(10, 9, 30), local(10, 10), local(10, 11))
        b = take(session, "service_complaint", local(11, 9), "report-b")
        answer_and_close(session, b, local(11, 12), local(11, 13), local(11, 13, 30))
        take(session, "quality_complaint", local(12, 9), "report-c")
        take(session, "fault_repair", local(30, 10), "report-d")
    return site


def _log_in(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_quality_report_and_the_board_show_the_work_order_figures(page, march):
    _log_in(page, march)
    page.goto(march.url + "/reports/quality?month=2026-03")
    section = page.locator("#work-orders")
    expect(section.locator("#complaint-closure")).to_have_text("66.7 %")
    expect(section.locator("#complaint-closure-on-time")).to_have_text("33.3 %")
    expect(section.locator("#complaint-closure-table tbody tr").last).to_contain_text("3")
    assert section.locator("svg").count() == 2
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(_path("work-order-reports-1-quality-report")))

    page.goto(march.url + "/console/board")
    board = page.locator("#board-open-orders")
    expect(board.locator('[data-age=">7d"]')).to_contain_text("(")
    old = board.locator('[data-age=">7d"]').inner_text()
    assert int(old.split(" ")[0]) >= 2  # the March orders still open, both overdue
    page.wait_for_timeout(3500)  # one redraw by board.js keeps the figures
    expect(board.locator('[data-age=">7d"]')).to_have_text(old)
    late = page.locator("#board-late-orders tbody tr").first
    expect(late).to_contain_text(" d ")  # months late reads in days, not as six-figure minutes
    expect(late).to_contain_text("/ ")  # the class and stage in words, not the codes
    assert "_complaint" not in late.inner_text() and "fault_repair" not in late.inner_text()
    screenshot(page, "work-order-reports-2-board")


def _path(name: str):  # type: ignore[no-untyped-def]
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
