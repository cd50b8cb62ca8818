"""The roster in a real browser (issue 17, People): an admin adds an agent from the page (skills, phone), and
that agent then receives a simulated call; the import's per-row report; each page at 1366x900 with no
horizontal scroll."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from ivr.app import create_app
from ivr.config import DEV_AUTH_TOKEN
from ivr.db.models import Agent, QueueEntry
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch
from ivr.people.user_admin import create_user
from ivr.queueing.agent_states import request_state
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.browser.conftest import SCREENSHOTS, Site, screenshot
from tests.e2e.conftest import HOTLINE_NUMBER, Phone

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
ROSTER_CSV = (
    "name,client_identity,phone,groups,skills,languages,wrap_up_seconds\n"
    "Grace Lin,agent-gracelin,+8613700000012,general,general:3,en-US;zh-CN,45\n"
    "陈静,agent-chenjing,+8613700000001,billing;general,billing:4;general:4,zh-CN,\n"
    "坏行,agent-bad,12345,nowhere,billing:9,fr-FR,\n"
)


def _fits(page) -> None:
    """Nothing spills sideways: the page is no wider than the window."""
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    ), "the page scrolls sideways at 1366 wide"


def _log_in(page, site: Site) -> None:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="boss", role="admin", password=PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_an_admin_adds_an_agent_who_then_receives_a_call(page, site: Site):
    _log_in(page, site)
    page.goto(site.url + "/console/agents")
    expect(page.locator("#roster")).to_contain_text("陈静")
    _fits(page)

    page.click("#add-agent")
    page.fill("input[name=name]", "李华")
    page.fill("input[name=phone]", "13700000011")  # no country code: refused, saying why
    page.select_option("select[name=skill_billing]", "5")
    page.select_option("select[name=skill_general]", "4")
    page.check("#groups input[value=billing]")
    page.check("#groups input[value=general]")
    page.check("#languages input[value=zh-CN]")
    page.click("#save-agent")
    expect(page.locator(".field-problem")).to_contain_text("E.164")
    expect(page.locator("select[name=skill_billing]")).to_have_value("5")  # what was typed is kept
    _fits(page)
    screenshot(page, "agents_form")
    page.fill("input[name=phone]", "+8613700000011")
    page.click("#save-agent")
    expect(page.locator(".flash")).to_contain_text("Agent added: 李华")
    row = page.locator("#roster tr", has_text="李华")
    expect(row).to_contain_text("billing 5")
    expect(row).to_contain_text("+8613700000011")
    expect(row).to_contain_text("离线 / Offline")

    hotline = site.hotline
    with unit_of_work(hotline.sessions) as session:
        lihua = session.scalar(select(Agent).where(Agent.name == "李华"))
        # Everyone else is away; 李华 starts work (as from their own page).
        session.execute(update(Agent).where(Agent.id != lihua.id).values(state="offline"))
        request_state(session, lihua, "available", by="lihua")
        lihua_id = lihua.id
    # A simulated caller on the same hotline (its webhooks run in-process, the database is the site's).
    phone = Phone(create_app(hotline=hotline), auth_token=DEV_AUTH_TOKEN)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    call = phone.simulator.start_call(
        "+8613800000001", HOTLINE_NUMBER, ScriptedCaller(["1", "0"], max_queue_loops=50)
    )
    assert call.run_until_waiting(), "the caller should be holding in a queue"
    [offer] = dispatch(hotline)
    assert offer.agent_id == lihua_id
    result = call.run()
    assert not result.errors, result.errors
    assert result.dialled == ["+8613700000011"], "the call rang the phone the admin typed"
    with hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.sid))
    assert entry.status == "done" and entry.agent_id == lihua_id

    page.reload()
    expect(page.locator("#roster tr", has_text="李华")).to_contain_text("话后整理 / Wrap-up")
    # Take 吴刚 out of service from the page (a POST with the page's CSRF token).
    page.locator("#roster tr", has_text="吴刚").locator("button", has_text="Deactivate").click()
    expect(page.locator(".flash")).to_contain_text("out of service: 吴刚")
    expect(page.locator("#roster tr.inactive", has_text="吴刚")).to_contain_text("否 / no")
    with hotline.sessions() as session:
        assert session.scalar(select(Agent.active).where(Agent.name == "吴刚")) is False
    _fits(page)
    screenshot(page, "agents_list")


def test_the_import_report_shows_each_row(page, site: Site, tmp_path):
    _log_in(page, site)
    page.goto(site.url + "/console/agents/import")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER_CSV, encoding="utf-8")
    page.set_input_files("input[name=file]", str(roster))
    page.click("#upload-roster")  # "preview only" is ticked by default
    expect(page.locator("#import-report h2")).to_contain_text("Preview: nothing was saved")
    expect(page.locator("#count-created")).to_have_text("1")
    expect(page.locator("#count-updated")).to_have_text("1")
    expect(page.locator("#count-refused")).to_have_text("1")
    expect(page.locator("#import-rows tr.refused")).to_contain_text("E.164")
    _fits(page)
    screenshot(page, "agents_import_report")
    page.click("#apply-import button")
    expect(page.locator("#import-report h2")).to_contain_text("Imported")
    with site.hotline.sessions() as session:
        grace = session.scalar(select(Agent).where(Agent.client_identity == "agent-gracelin"))
    assert grace is not None and grace.wrap_up_seconds == 45
    assert (SCREENSHOTS / "agents_import_report.png").is_file()
