"""The deadline rules page in a real browser: a supervisor opens it from the home page, validates a broken
edit (every problem named, nothing saved), fixes and saves it with a comment, saves again, compares the two
versions and rolls back to the first. Screenshots are kept (tests/browser/screenshots/deadlines-*.png)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders.deadline_versions import all_versions, live_deadlines
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def _edit(page, old: str, new: str) -> None:  # type: ignore[no-untyped-def]
    editor = page.locator("#deadlines-document")
    text = editor.input_value()
    assert old in text
    editor.fill(text.replace(old, new, 1))


def test_supervisor_validates_saves_compares_and_rolls_back_the_deadline_rules(page, site: Site) -> None:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="zhuguan", role="supervisor", password=PASSWORD)
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "zhuguan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.locator("nav.main-nav summary", has_text="工单 / Work orders").click()  # the navigation's menu
    page.get_by_role("link", name="工单时限规则 / Deadline rules").click()
    expect(page.locator("h1")).to_contain_text("默认规则 / the defaults")
    expect(page.locator("#live-deadlines")).to_contain_text("gas_leak")

    # A safety deadline put on working time: validation names it and where it is; nothing is saved.
    _edit(
        page,
        'clock = "round_the_clock", supervisor_after = "30m"',
        'clock = "working", supervisor_after = "30m"',
    )
    page.get_by_role("button", name="校验 / Validate").click()
    problem = page.locator("#problems li[data-where='classes.gas_leak.deadlines.on_site']")
    expect(problem).to_contain_text("must run round the clock")
    screenshot(page, "deadlines-1-invalid")
    page.get_by_role("button", name="保存为新版本 / Save as a new version").click()
    expect(page.locator("#refused")).to_contain_text("Not saved")

    # Fixed, and the warning moved to 80 %: saved with a comment, live at once.
    _edit(
        page,
        'clock = "working", supervisor_after = "30m"',
        'clock = "round_the_clock", supervisor_after = "30m"',
    )
    _edit(page, "warning_share = 0.75", "warning_share = 0.8")
    page.fill("input[name=note]", "warn later in winter")
    page.get_by_role("button", name="保存为新版本 / Save as a new version").click()
    expect(page.locator(".flash.ok")).to_contain_text("Version 1 saved")
    expect(page.locator("#live-by")).to_contain_text("warn later in winter")
    screenshot(page, "deadlines-2-saved")

    _edit(page, "warning_share = 0.8", "warning_share = 0.6")
    page.fill("input[name=note]", "earlier")
    page.get_by_role("button", name="保存为新版本 / Save as a new version").click()
    expect(page.locator(".flash.ok")).to_contain_text("Version 2 saved")

    page.get_by_role("link", name="版本 / Versions").click()
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    screenshot(page, "deadlines-3-versions")
    page.get_by_role("link", name="与上一版比较 / diff").click()
    expect(page.locator("table.diff")).to_contain_text("warning_share")
    expect(page.locator("#text-diff")).to_contain_text("+warning_share = 0.6")
    screenshot(page, "deadlines-4-diff")

    page.get_by_role("link", name="版本 / Versions").click()
    page.locator("tr[data-version='1']").get_by_role("button", name="回滚到此版 / Roll back to this").click()
    expect(page.locator(".flash.ok")).to_contain_text("version 1 is live again as version 3")
    with site.hotline.sessions() as session:
        assert live_deadlines(session).warning_share == 0.8
        assert [row.created_by for row in all_versions(session)] == ["zhuguan"] * 3
