"""The desks' pages in a real browser: an agent opens the desks from the navigation, a desk's queue
coloured by how close each deadline is, then a work order, works it through its forms and sees its
history grow; a refused change shows its message. Screenshots: tests/browser/screenshots/desks-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import Agent, Customer, utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders import cases
from ivr.work_orders.orders import find_work_order
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
# (class, customer index, minutes to the due time or None, minutes to the warning, description)
ORDERS = [
    ("service_complaint", 0, -40, -70, "营业厅工作人员态度差，要求道歉"),
    ("quality_complaint", 1, 25, -5, "维修后燃气表仍然漏气，要求重新检查"),
    ("service_complaint", 2, 90, 60, "热线等待时间过长"),
    ("service_complaint", 3, 300, 240, "账单金额与实际用量不符，怀疑抄表错误，要求上门核对并书面答复"),
    ("quality_complaint", 4, -5, -30, "新装燃气灶点火困难"),
    ("service_complaint", 0, None, None, "来信：希望增加周末营业时间"),
]


@pytest.fixture
def orders(site: Site) -> list[str]:
    """The agent user "chen" (陈静) and six open complaints at the complaints desk, due around now."""
    now = utcnow()
    numbers = []
    with unit_of_work(site.hotline.sessions) as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.name == "陈静"))
        create_user(session, username="chen", role="agent", password=PASSWORD, agent_id=agent_id)
        customers = list(session.scalars(select(Customer).order_by(Customer.id)))
        for index, (work_class, who, due, warn, text) in enumerate(ORDERS):
            customer = customers[who % len(customers)]
            order = cases.open_case(
                session,
                work_class=work_class,
                caller_number=customer.phone,
                customer=customer,
                actor=cases.SYSTEM,
                source_key=f"browser:{index}",
                description=text,
                desk="complaints",
                now=now - timedelta(hours=index + 1, minutes=7 * index),
            )
            # The due times the timers would have set, pinned so the colours are known.
            order.due_at = now + timedelta(minutes=due) if due is not None else None
            order.warn_at = now + timedelta(minutes=warn) if warn is not None else None
            numbers.append(order.number)
    return numbers


def _log_in(page, site: Site, username: str) -> None:
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _nothing_spills(page) -> None:
    """No horizontal scroll on the page, and no card, form or table wider than its box."""
    spilled = page.evaluate(
        """() => {
          const out = [];
          if (document.documentElement.scrollWidth > window.innerWidth) out.push('page');
          for (const el of document.querySelectorAll('.card, .wo-actions form, main table, .flash, h1')) {
            if (el.closest('.wo-scroll') && el.tagName === 'TABLE') continue;  // scrolls in its own box
            if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName + '#' + (el.id || el.className));
          }
          return out;
        }"""
    )
    assert spilled == []


def test_a_desk_queue_and_a_work_order_with_its_history(page, site, orders):
    _log_in(page, site, "chen")
    page.locator("nav.main-nav summary", has_text="工单 / Work orders").click()  # the navigation's menu
    page.get_by_role("link", name="工单队列 / Desks").click()
    expect(page.locator("h1")).to_have_text("工作组队列 / Desk queues")
    complaints = page.locator("#desks tbody tr").filter(has_text="投诉组 / Complaints")
    expect(complaints.locator("td.open")).to_have_text("6")
    expect(complaints.locator("td.overdue")).to_have_text("2")
    _nothing_spills(page)
    screenshot(page, "desks-1-list")

    complaints.get_by_role("link").click()
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(6)
    # By due time, no deadline last; overdue first.
    expected = [orders[0], orders[4], orders[1], orders[2], orders[3], orders[5]]
    assert [rows.nth(i).get_attribute("data-number") for i in range(6)] == expected
    assert [rows.nth(i).get_attribute("data-urgency") for i in range(6)] == [
        "overdue",
        "overdue",
        "warning",
        "on_time",
        "on_time",
        "no_deadline",
    ]
    _nothing_spills(page)
    screenshot(page, "desks-2-queue")
    page.set_viewport_size({"width": 820, "height": 1000})  # a narrow window: the table scrolls in its box
    _nothing_spills(page)
    screenshot(page, "desks-2-queue-narrow")
    page.set_viewport_size({"width": 1400, "height": 1000})

    page.get_by_role("link", name=orders[1]).click()
    expect(page.locator("h1")).to_contain_text(f"工单 / Work order {orders[1]}")
    expect(page.locator("#urgency")).to_have_text("即将超时 / Past warning")
    forms = page.locator("#actions form")

    forms.filter(has_text="接单 / Accept").get_by_role("button").click()
    expect(page.locator(".flash")).to_contain_text("Accepted")
    note = page.locator("#actions form").filter(has_text="备注 / Note")
    note.locator("textarea").fill("已电话联系客户，约定明天上午九点上门复查。")
    note.get_by_role("button").click()
    result = page.locator("#actions form").filter(has_text="处理结果 / Field result")
    result.locator("textarea").fill("复查发现表前阀密封圈老化，已更换，检漏合格。")
    result.get_by_role("button").click()
    answer = page.locator("#actions form").filter(has_text="答复客户 / Answer given")
    answer.locator("select").select_option("phone")
    answer.locator("textarea").fill("已致电客户说明复查结果，客户表示满意。")
    answer.get_by_role("button").click()
    expect(page.locator("#history li")).to_have_count(5)
    kinds = page.locator("#history li").evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds == ["opened", "accepted", "note", "field_result", "answered"]
    expect(page.locator("#history")).to_contain_text("检漏合格")
    _nothing_spills(page)
    screenshot(page, "desks-4-order-history")
    page.set_viewport_size({"width": 820, "height": 1000})
    _nothing_spills(page)
    screenshot(page, "desks-4-order-history-narrow")


def test_a_change_refused_because_another_user_moved_the_order_first(page, site, orders):
    _log_in(page, site, "chen")
    page.goto(f"{site.url}/work-orders/{orders[2]}")
    accept = page.locator("#actions form").filter(has_text="接单 / Accept")
    expect(accept).to_be_visible()
    # Meanwhile a colleague records the field result: accepting is no longer a move the order allows.
    with unit_of_work(site.hotline.sessions) as session:
        cases.record_field_result(session, number=orders[2], result="已处理", actor=cases.Actor("wang"))
    accept.get_by_role("button").click()
    expect(page.locator("#problem")).to_contain_text("cannot go from handled to accepted")
    expect(page.locator("#actions form").filter(has_text="接单 / Accept")).to_have_count(0)
    with site.hotline.sessions() as session:
        kinds = [e.kind for e in cases.history(session, find_work_order(session, orders[2]))]
    assert kinds == ["opened", "field_result"]  # nothing written by the refused click
    _nothing_spills(page)
    screenshot(page, "desks-3-refused")
