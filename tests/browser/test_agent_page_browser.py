"""The agent page in a real browser with a connected caller (issue 16): the customer, past calls, open work
orders, survey scores; the disposition recorded from the form opens a work order; wrap-up then ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import (
    Agent,
    Call,
    CallbackCandidate,
    CallbackJob,
    CallDisposition,
    ServiceCompletion,
    SurveyResponse,
    WorkOrder,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.agent_states import set_state
from tests.browser.conftest import Site, screenshot
from tests.helpers import new_call_sid

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
CALLER = "+8613800000001"  # 王芳, account 10000001, with an open meter-fault order in the demo data


@pytest.fixture
def on_a_call(site: Site) -> dict[str, object]:
    """陈静 (user chen) talking to 王芳, who called twice before and answered a call-back survey."""
    now = utcnow()
    with unit_of_work(site.hotline.sessions) as session:
        agent = session.scalar(select(Agent).where(Agent.client_identity == "agent-chenjing"))
        create_user(session, username="chen", role="agent", password=PASSWORD, agent_id=agent.id)
        for days, intent in ((20, "repair"), (6, "billing")):
            session.add(
                Call(
                    call_sid=new_call_sid(),
                    from_number=CALLER,
                    started_at=now - timedelta(days=days),
                    intent=intent,
                    outcome="answered",
                )
            )
        _survey(session, now - timedelta(days=12))
        current = new_call_sid()
        session.add(Call(call_sid=current, from_number=CALLER, started_at=now, intent="complaint"))
        session.flush()
        set_state(session, agent, "ringing", call_sid=current)
        set_state(session, agent, "on_call", call_sid=current)
        meter = session.scalar(select(WorkOrder.number).where(WorkOrder.source_key == "demo:0"))
        return {"agent_id": agent.id, "call_sid": current, "meter": meter}


def _survey(session, called_at):
    completion = ServiceCompletion(
        source="field",
        external_id="browser-1",
        service_type="meter_repair",
        completed_at=called_at - timedelta(days=3),
        customer_phone=CALLER,
        employee="张师傅",
    )
    session.add(completion)
    session.flush()
    candidate = CallbackCandidate(
        completion_id=completion.id, month="2026-11", selected=True, policy_version=1
    )
    session.add(candidate)
    session.flush()
    job = CallbackJob(
        candidate_id=candidate.id,
        completion_id=completion.id,
        phone=CALLER,
        language="zh-CN",
        due_at=called_at,
        latest_at=called_at + timedelta(days=2),
        status="completed",
    )
    session.add(job)
    session.flush()
    session.add(
        SurveyResponse(
            job_id=job.id,
            completion_id=completion.id,
            call_sid=new_call_sid(),
            phone=CALLER,
            language="zh-CN",
            called_at=called_at,
            attitude=5,
            ability=8,
            on_time=False,
        )
    )


def _fits(page) -> None:
    """Nothing spills sideways: the page is no wider than the window."""
    width = page.evaluate("document.documentElement.scrollWidth")
    window = page.evaluate("document.documentElement.clientWidth")
    assert width <= window, f"the page is {width}px wide in a {window}px window"


def test_the_agent_sees_the_caller_and_records_a_disposition_that_opens_a_work_order(page, site, on_a_call):
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "chen")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/agent")

    caller = page.locator("#caller")
    expect(caller).to_contain_text("王芳")
    expect(caller).to_contain_text("10000001")
    expect(caller.locator("table.orders")).to_contain_text(str(on_a_call["meter"]))
    expect(caller.locator("table.orders")).to_contain_text("表具故障 / Meter fault")
    expect(caller.locator(f'a[href="/work-orders/{on_a_call["meter"]}"]')).to_be_visible()
    expect(caller.locator("table.past-calls tbody tr")).to_have_count(2)
    expect(caller.locator("table.surveys tr.low-score")).to_contain_text("meter_repair")
    expect(page.locator("#disposition")).to_be_visible()
    _fits(page)
    screenshot(page, "agent-page-1-connected-caller")

    page.select_option("select[name=work_class]", "quality_complaint")
    page.select_option("select[name=outcome]", "opened")
    page.fill("textarea[name=notes]", "燃气表走字过快，上次维修后仍有问题 / the meter runs fast again")
    page.get_by_role("button", name="记录 / Record").click()
    page.wait_for_load_state()
    expect(page.locator(".flash.ok")).to_contain_text("处理结果已记录 / Disposition recorded")

    with site.hotline.sessions() as session:
        sid = on_a_call["call_sid"]
        kept = session.scalar(select(CallDisposition).where(CallDisposition.call_sid == sid))
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == kept.work_order_number))
    assert order is not None and order.call_sid == on_a_call["call_sid"] and order.owner_user_id is not None
    expect(page.locator("#caller table.orders")).to_contain_text(order.number)
    expect(page.locator("#caller .disposition")).to_contain_text("质量投诉 / Quality complaint")
    _fits(page)
    screenshot(page, "agent-page-2-disposition-recorded")

    # A narrower window (a laptop beside the softphone): still nothing cut off sideways.
    page.set_viewport_size({"width": 900, "height": 1000})
    page.reload()
    _fits(page)
    screenshot(page, "agent-page-3-narrow")

    # The header's search: 王芳 by the beginning of her name, with her open orders linked.
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.get_by_role("link", name="搜索 / Search").click()
    page.fill("input[name=q]", "王")
    page.get_by_role("button", name="搜索 / Search").click()
    page.wait_for_load_state()
    found = page.locator("#customers")
    expect(found).to_contain_text("王芳")
    expect(found.locator(f'a[href="/work-orders/{order.number}"]')).to_be_visible()
    _fits(page)
    screenshot(page, "agent-page-4-search")
