"""The live board in a real browser: a gas-leak caller phones in (the simulator, over HTTP) and appears
waiting; an agent takes a break on their own page and the board shows it; neither reloads the board.
Then the shift lead moves an agent from the board, and the history and staffing pages are drawn.
Screenshots: tests/browser/screenshots/floor-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.config import DEV_AUTH_TOKEN
from ivr.db.models import Agent, ChangeLog, QueueEntry
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
REFRESH_WAIT_MS = 8_000  # the board polls every 3 s


@pytest.fixture
def people(site: Site) -> dict[str, int]:
    """A shift lead "lead", and "chen", the agent user of 陈静; returns agent ids by name."""
    with unit_of_work(site.hotline.sessions) as session:
        ids = {a.name: a.id for a in session.scalars(select(Agent))}
        create_user(session, username="lead", role="shift_lead", password=PASSWORD)
        create_user(session, username="chen", role="agent", password=PASSWORD, agent_id=ids["陈静"])
    return ids


def _log_in(page, site: Site, username: str) -> None:
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _gas_leak_caller_waiting(site: Site):
    """A caller presses 2 (gas leak) and holds in the safety queue: Twilio's side played by the simulator."""
    simulator = Simulator(
        HttpTransport(),
        auth_token=DEV_AUTH_TOKEN,
        voice_url=f"{site.url}/voice/incoming",
        status_callback_url=f"{site.url}/voice/status",
        fallback_url=f"{site.url}/voice/fallback",
    )
    call = simulator.start_call("+8613800000002", "+864008888888", ScriptedCaller(["2"], max_queue_loops=50))
    assert call.run_until_waiting(), "the gas-leak caller should be holding in the safety queue"
    return call


def test_the_board_shows_a_caller_waiting_and_an_agent_changing_state(page, browser, site, people):
    _log_in(page, site, "lead")
    page.get_by_role("link", name="现场看板 / Live board").click()
    expect(page.locator("#board-agents tbody tr")).to_have_count(6)
    safety = page.locator('#board-queues tbody tr[data-queue="safety"]')
    expect(safety.locator('[data-field="waiting"]')).to_have_text("0")
    expect(page.locator("#board-emergencies .none")).to_be_visible()
    page.evaluate("window.boardMarker = 'not reloaded'")  # gone if the page were loaded again
    screenshot(page, "floor-1-board")

    # A gas-leak caller phones in and waits in the safety queue (no dispatcher runs in this test).
    call = _gas_leak_caller_waiting(site)
    with site.hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.sid))
        assert entry is not None and entry.status == "waiting" and entry.emergency
    expect(safety.locator('[data-field="waiting"]')).to_have_text("1", timeout=REFRESH_WAIT_MS)
    expect(page.locator("#now-waiting")).to_have_text("1")
    emergency = page.locator(f'#board-emergencies li[data-call="{call.sid}"]')
    expect(emergency).to_contain_text("+8613800000002", timeout=REFRESH_WAIT_MS)
    expect(emergency).to_contain_text(re.compile(r"waiting in the safety queue for \d+ s"))
    expect(emergency).to_have_class(re.compile(r"\bwaiting\b"))
    # The wait keeps counting on later refreshes.
    expect(safety.locator('[data-field="longest"]')).not_to_have_text("0:00", timeout=REFRESH_WAIT_MS)

    # 陈静 takes a break on her own page, in another browser.
    chen = people["陈静"]
    badge = page.locator(f'#board-agents tr[data-agent="{chen}"] .state')
    expect(badge).to_have_attribute("data-state", "available")
    agent_context = browser.new_context(locale="zh-CN")
    try:
        agent_page = agent_context.new_page()
        _log_in(agent_page, site, "chen")
        agent_page.fill("input[name=reason]", "午餐 / lunch")
        agent_page.get_by_role("button", name="小休 / Take a break").click()
        expect(agent_page.locator("p.flash.ok")).to_contain_text("小休 / Break")
    finally:
        agent_context.close()
    expect(badge).to_have_attribute("data-state", "break", timeout=REFRESH_WAIT_MS)
    expect(badge).to_have_text("小休 / Break")
    expect(page.locator(f'#board-agents tr[data-agent="{chen}"]')).to_contain_text("午餐 / lunch")
    billing = page.locator('#board-queues tbody tr[data-queue="billing"]')
    expect(billing.locator('[data-state="break"]')).to_have_text("1")
    assert page.evaluate("window.boardMarker") == "not reloaded"  # all of it without reloading the page
    screenshot(page, "floor-2-board-caller-waiting")

    # The shift lead puts 赵磊 offline from the board (choosing him from his row).
    zhao = people["赵磊"]
    page.locator(f'#board-agents tr[data-agent="{zhao}"]').get_by_role("button", name="选择 / Select").click()
    expect(page.locator("#state-form select[name=agent_id]")).to_have_value(str(zhao))
    page.select_option("#state-form select[name=state]", "offline")
    page.locator("#state-form").get_by_role("button", name="更改状态 / Change state").click()
    expect(page.locator("p.flash.ok")).to_contain_text("赵磊: 离线 / Offline")
    expect(page.locator(f'#board-agents tr[data-agent="{zhao}"] .state')).to_have_attribute(
        "data-state", "offline"
    )
    with site.hotline.sessions() as session:
        logged = session.scalar(select(ChangeLog).where(ChangeLog.action == "state"))
        assert logged is not None and logged.who == "lead" and logged.after["state"] == "offline"
    screenshot(page, "floor-3-board-moved")

    # The other floor pages.
    page.get_by_role("link", name="历史 / History").first.click()
    expect(page.locator("#history tbody tr")).to_have_count(8)  # 7 days and the total
    expect(page.locator(".chart svg, .chart .chart-empty")).to_have_count(4)  # empty: one line in a box
    screenshot(page, "floor-4-history")
    page.get_by_role("link", name="排班测算 / Staffing (Erlang C)").click()
    page.fill("input[name=fill_calls]", "100")
    page.get_by_role("button", name="应用到时段 / Apply to the range").click()
    expect(page.locator('#staffing tr[data-slot="08:00"] .needed')).to_have_text("14")
    expect(page.locator("#peak-needed")).to_have_text("14")
    screenshot(page, "floor-5-staffing")
