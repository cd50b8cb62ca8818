"""The menu editor in a real browser: a supervisor changes the key of an option, sees a dead end named, fixes
it, hears the change in a test call, publishes, a simulated caller gets the new menu; after a rollback the
caller gets the old one. The routing rules editor and the change log are opened too. Screenshots are kept."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import ChangeLog, MenuVersion
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NEW_MAIN_MENU = "账单和缴费请按1；燃气泄漏请按2；报修请按3；投诉请按5；人工服务请按0。"
COMPLAINT_MENU = "服务态度投诉请按1"


def phone(site: Site, *keys: str) -> str:
    """A simulated caller phones the running site and presses `keys`; what they heard."""
    transport = HttpTransport()
    simulator = Simulator(
        transport,
        auth_token=site.hotline.settings.twilio_auth_token,
        voice_url=f"{site.url}/voice/incoming",
        status_callback_url=f"{site.url}/voice/status",
        fallback_url=f"{site.url}/voice/fallback",
    )
    try:
        result = simulator.place_call("+8613800000001", "+864008888888", ScriptedCaller(list(keys)))
    finally:
        transport.close()
    assert not result.errors, result.errors
    return result.spoken()


def sign_in(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="zhuguan", role="supervisor", password=PASSWORD)
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "zhuguan")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def saved(page, fragment: str) -> None:  # type: ignore[no-untyped-def]
    expect(page.locator("#edit-status")).to_contain_text(fragment)


def test_supervisor_edits_tests_publishes_and_rolls_back_the_menu(page, site: Site) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before a rollback
    sign_in(page, site)
    page.goto(site.url + "/console/menu")
    expect(page.locator("#node-main .option[data-key='4']")).to_contain_text("complaint")
    screenshot(page, "console-menu-live")

    # The draft: complaints move from key 4 to key 5.
    page.get_by_role("link", name="菜单草稿 / Menu draft").click()
    page.locator("#node-main > summary").click()  # node cards are collapsed to one line until opened
    option = page.locator("#node-main form.option[data-key='4']")
    option.locator("input[name=key]").fill("5")
    option.get_by_role("button", name="保存 / Save").click()
    saved(page, "key '4' → '5'")
    expect(page.locator("#node-main form.option[data-key='5'] input[name=target]")).to_have_value("complaint")

    # A new submenu at key 6 whose only way on leads back to itself: a dead end, named, publishing blocked.
    page.locator("details:has(#add-node) > summary").click()
    form = page.locator("#add-node")
    form.locator("input[name=node]").fill("outage")
    form.locator("select[name=type]").select_option("menu")
    form.locator("input[name=prompts]").fill("main_menu")
    form.locator("input[name=parent]").fill("main")
    form.locator("input[name=key]").fill("6")
    form.get_by_role("button", name="添加 / Add").click()
    saved(page, "added menu node outage")
    page.locator("#node-outage > summary").click()
    outage_option = page.locator("#node-outage form.option[data-key='0']")
    outage_option.locator("input[name=target]").fill("outage")
    outage_option.get_by_role("button", name="保存 / Save").click()
    saved(page, "1 个问题")
    expect(page.locator("#problems")).to_contain_text("nodes.outage: is a dead end")
    expect(page.locator("#node-outage .problems")).to_contain_text("is a dead end")
    expect(page.locator("#publish")).to_be_disabled()
    screenshot(page, "console-menu-draft-dead-end")

    # Fixed: the submenu's 0 reaches an agent again.
    outage_option = page.locator("#node-outage form.option[data-key='0']")
    outage_option.locator("input[name=target]").fill("agent_queue")
    outage_option.get_by_role("button", name="保存 / Save").click()
    expect(page.locator("#problems")).to_contain_text("No problems")
    expect(page.locator("#publish")).to_be_enabled()

    # The main menu's Chinese text says 5 now.
    main_text = page.locator("#node-main .prompt[data-prompt='main_menu']")
    main_text.locator("summary").click()
    main_text.locator("form[data-op=set_prompt_text]:has(input[value='zh-CN']) textarea").fill(NEW_MAIN_MENU)
    main_text.locator("form[data-op=set_prompt_text]:has(input[value='zh-CN'])").get_by_role("button").click()
    saved(page, "prompts.main_menu: zh-CN text set")
    expect(
        page.locator("#node-main .prompt[data-prompt='main_menu'] .text[data-language='zh-CN']")
    ).to_contain_text("投诉请按5")

    # The test call hears the change before anything is published.
    call = page.locator("#test-call")
    call.get_by_role("button", name="拨打 / Call").click()
    expect(call.locator("#transcript p[data-key='main_menu']")).to_have_text(NEW_MAIN_MENU)
    call.locator("button[data-key='5']").click()
    expect(call.locator("#transcript p[data-key='complaint_menu']")).to_contain_text(COMPLAINT_MENU)
    call.locator("button[data-key='1']").click()
    expect(call.locator("#transcript p[data-end='queue']")).to_contain_text("complaint")
    screenshot(page, "console-menu-test-call")
    assert "投诉请按4" in phone(site)  # still the live (old) menu for real callers

    # Publish: the draft becomes version 2; a new caller gets the new menu.
    page.fill("#publish-form input[name=note]", "投诉改为5键 / complaints on key 5")
    page.locator("#publish").click()
    expect(page.locator("p.flash.ok")).to_contain_text("Version 2 is live")
    expect(page.locator("h1")).to_contain_text("version 2")
    screenshot(page, "console-menu-published")
    heard = phone(site, "5")
    assert NEW_MAIN_MENU in heard and COMPLAINT_MENU in heard

    # Versions and the diff between them.
    page.get_by_role("link", name="菜单版本 / Menu versions").click()
    expect(page.locator("tr[data-version]")).to_have_count(2)
    page.locator("tr[data-version='2']").get_by_role("link", name="与上一版比较 / diff").click()
    expect(page.locator("table.diff")).to_contain_text("nodes.main.options.3.key")
    expect(page.locator("table.diff")).to_contain_text("nodes.outage")
    screenshot(page, "console-menu-diff")

    # Roll back to version 1: published again as version 3; the caller gets the old menu.
    page.get_by_role("link", name="菜单版本 / Menu versions").click()
    page.locator("tr[data-version='1']").get_by_role("button", name="回滚到此版 / Roll back to this").click()
    expect(page.locator("p.flash.ok")).to_contain_text("version 1 is live again as version 3")
    heard = phone(site, "4")
    assert "投诉请按4" in heard and COMPLAINT_MENU in heard
    with site.hotline.sessions() as session:
        assert session.get(MenuVersion, 3).note == "rollback to v1"
        actions = list(session.scalars(select(ChangeLog.action).order_by(ChangeLog.id)))
    assert actions == ["edit_draft"] * 5 + ["publish", "rollback"]

    # The change log shows who did what, with before and after.
    page.get_by_role("link", name="变更记录 / Change log").click()
    expect(page.locator("#changes > tbody > tr")).to_have_count(7)
    page.locator("#changes > tbody > tr").first.locator("summary").click()
    expect(page.locator("#changes > tbody > tr").first).to_contain_text("nodes.main.options.3.key")
    screenshot(page, "console-changes")


def test_supervisor_edits_opening_hours_and_holidays(page, site: Site) -> None:
    sign_in(page, site)
    page.goto(site.url + "/console/rules/draft")
    billing = page.locator("#group-billing")
    billing.locator("summary").click()
    billing.locator("form[data-op=set_group] input[name=always_open]").uncheck()
    billing.locator("form[data-op=set_group]").get_by_role("button").click()
    expect(page.locator("#problems")).to_contain_text("has no opening hours and is not always_open")
    expect(page.locator("#publish")).to_be_disabled()
    for day in ("mon", "tue", "wed", "thu", "fri"):
        row = page.locator(f"#group-billing tr[data-day='{day}']")
        row.locator("input[name=ranges]").fill("08:00-12:00, 13:00-20:00")
        row.get_by_role("button").click()
        saved(page, f"groups.billing.hours.{day}")
    page.locator("#group-billing form[data-op=add_holiday] input[name=date]").fill("2026-10-01")
    page.locator("#group-billing form[data-op=add_holiday]").get_by_role("button").click()
    expect(page.locator("#group-billing")).to_contain_text("2026-10-01")
    expect(page.locator("#problems")).to_contain_text("No problems")
    screenshot(page, "console-rules-draft")
    page.locator("#publish").click()
    expect(page.locator("p.flash.ok")).to_contain_text("Version 2 is live")
    expect(page.locator("#group-billing tr[data-day='mon']")).to_contain_text("08:00-12:00, 13:00-20:00")
    expect(page.locator("#group-billing tr[data-day='sat']")).to_contain_text(re.compile("closed"))
    screenshot(page, "console-rules-live")
