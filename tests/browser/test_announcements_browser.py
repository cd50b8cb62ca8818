"""Announcements and storm mode in a real browser: a supervisor posts an announcement and turns storm mode on;
a caller phoning in (the simulator, over HTTP) hears it before the menu. Screenshots:
tests/browser/screenshots/console-announcements-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.config import DEV_AUTH_TOKEN
from ivr.db.models import Announcement, ChangeLog
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NOTICE_ZH = "朝阳区今天下午两点到五点停气检修，请提前做好准备。"
NOTICE_EN = "Gas is off in Chaoyang from 2 to 5 pm today for maintenance."


def test_a_supervisor_posts_an_announcement_and_callers_hear_it(page, site: Site):
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="boss", role="supervisor", password=PASSWORD)
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(site.url + "/console/announcements")
    page.fill("textarea[name='text_zh-CN']", NOTICE_ZH)
    page.fill("textarea[name='text_en-US']", NOTICE_EN)
    page.click("form[action$='/console/announcements'] button[type=submit]")
    expect(page.locator("body")).to_contain_text(NOTICE_ZH)
    screenshot(page, "console-announcements-1-posted")
    page.click("text=开启风暴模式 / Turn storm mode on")
    expect(page.locator("body")).to_contain_text("关闭风暴模式 / Turn storm mode off")
    screenshot(page, "console-announcements-2-storm-on")

    simulator = Simulator(
        HttpTransport(),
        auth_token=DEV_AUTH_TOKEN,
        voice_url=f"{site.url}/voice/incoming",
        status_callback_url=f"{site.url}/voice/status",
    )
    result = simulator.place_call("+8613800000009", "+864008888888", ScriptedCaller(["silence"]))
    spoken = result.said()
    assert NOTICE_ZH in spoken
    first_gas = next(i for i, text in enumerate(spoken) if "燃气" in text and "2" in text)
    assert first_gas < spoken.index(NOTICE_ZH)  # storm mode: the gas-leak key is still said first
    with unit_of_work(site.hotline.sessions) as session:
        assert session.scalar(select(Announcement.created_by)) == "boss"
        kinds = sorted(session.scalars(select(ChangeLog.kind).where(ChangeLog.who == "boss")))
    assert kinds == ["announcement", "storm"]
    page.reload()  # storm mode measured: the caller heard the news and hung up, needing no agent
    expect(page.locator(".storm-share")).to_contain_text("100%")
    expect(page.locator(".storm-share")).to_contain_text("of 1 who left")
    screenshot(page, "console-announcements-3-storm-measured")
