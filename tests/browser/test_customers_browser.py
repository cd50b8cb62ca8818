"""Customers in a real browser (issue 17, point 2): a supervisor imports customers from a CSV file on the
page, reads the report per row, searches, finds one, opens the customer page and edits a number; each page
at 1366x900 with no horizontal scroll."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.app import create_app
from ivr.customers.sync import numbers_of
from ivr.db.models import (
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    Customer,
    ServiceCompletion,
    SurveyResponse,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.browser.conftest import Site, screenshot
from tests.helpers import SignedClient, new_call_sid

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
WANG = "+8613800000001"  # demo customer 王芳, account 10000001
CUSTOMERS_CSV = (
    "account,name,numbers,address,district,class,language\n"
    "20000001,赵六,13900000011; 010-65123456,东城区东直门内大街5号院2号楼3单元1202,东城,residential,zh-CN\n"
    "20000002,钱七商行,13900000022,西城区西单北大街131号,西城,commercial,zh-CN\n"
    "10000002,李强,,,西城,,\n"
    "20000003,孙八,13800000001,,,,\n"
    "20000004,周九,12345,,,,\n"
)


def _fits(page) -> None:
    """Nothing spills sideways: the page is no wider than the window."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), (
        "the page scrolls sideways at 1366 wide"
    )


def _with_history(site: Site) -> int:
    """王芳 calls the hotline (a signed webhook), and was called back on a repair, scoring it low."""
    settings = site.hotline.settings
    app = create_app(hotline=site.hotline)
    # No public URL set: the signature covers the URL the request came to, the test client's localhost.
    twilio = SignedClient(app, settings.twilio_auth_token, settings.public_base_url or "http://localhost")
    answer = twilio.post("/voice/incoming", call_sid=new_call_sid(), caller=WANG)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    now = utcnow()
    with unit_of_work(site.hotline.sessions) as session:
        completion = ServiceCompletion(
            source="field",
            external_id="WO-77",
            service_type="paid_repair",
            completed_at=now - timedelta(days=2),
            customer_phone=WANG,
            employee="王师傅 #101",
            amount_charged=Decimal("120"),
        )
        session.add(completion)
        session.flush()
        candidate = CallbackCandidate(
            completion_id=completion.id, month="2026-12", selected=True, policy_version=1
        )
        session.add(candidate)
        session.flush()
        job = CallbackJob(
            candidate_id=candidate.id,
            completion_id=completion.id,
            phone=WANG,
            language="zh-CN",
            due_at=now - timedelta(hours=3),
            latest_at=now + timedelta(days=3),
            attempts=2,
            status="completed",
        )
        session.add(job)
        session.flush()
        for number, outcome in ((1, "no-answer"), (2, "completed")):
            placed = now - timedelta(hours=3 - number)
            session.add(
                CallbackAttempt(
                    job_id=job.id,
                    number=number,
                    call_sid=f"CAwang{number}",
                    placed_at=placed,
                    outcome=outcome,
                )
            )
        session.add(
            SurveyResponse(
                job_id=job.id,
                completion_id=completion.id,
                call_sid="CAwang2",
                phone=WANG,
                language="zh-CN",
                called_at=now - timedelta(hours=1),
                attitude=9,
                ability=5,
                on_time=True,
                charged=True,
            )
        )
        return session.scalar(select(Customer.id).where(Customer.account_number == "10000001"))


def _log_in(page, site: Site) -> None:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="sup", role="supervisor", password=PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "sup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_supervisor_imports_finds_and_edits_a_customer(page, site: Site, tmp_path):
    _log_in(page, site)
    page.goto(site.url + "/customers")
    file = tmp_path / "customers.csv"
    file.write_text(CUSTOMERS_CSV, encoding="utf-8")

    # Preview first: the report, and nothing stored.
    page.set_input_files("#import input[type=file]", str(file))
    page.click("#import button[value=preview]")
    expect(page.locator("#dry-run")).to_be_visible()
    expect(page.locator("#rows")).to_contain_text("is already a number of account 10000001")
    with site.hotline.sessions() as session:
        assert session.scalar(select(Customer).where(Customer.account_number == "20000001")) is None

    # Then the import itself.
    page.set_input_files("#import input[type=file]", str(file))
    page.click("#import button[value=import]")
    expect(page.locator("#stored")).to_be_visible()
    totals = page.locator("#totals")
    expect(totals.locator(".result-created .figure")).to_have_text("2")
    expect(totals.locator(".result-updated .figure")).to_have_text("1")
    expect(totals.locator(".result-refused .figure")).to_have_text("2")
    expect(page.locator("#rows tr.result-refused", has_text="20000004")).to_contain_text("'12345'")
    expect(page.locator("#rows tr.result-updated", has_text="10000002")).to_contain_text("区域 / district")
    _fits(page)
    screenshot(page, "customers_import_report")

    # Search by the landline of the new customer, typed as people type it.
    page.goto(site.url + "/customers")
    page.fill("#customer-search input[name=q]", "010-6512 3456")
    page.click("#customer-search button")
    expect(page.locator("#results")).to_contain_text("赵六")
    expect(page.locator("#results")).to_contain_text("+861065123456")
    page.fill("#customer-search input[name=q]", "李")
    page.click("#customer-search button")
    expect(page.locator("#results")).to_contain_text("李强")
    _fits(page)
    screenshot(page, "customers_search")

    # Open the customer and change a number.
    page.fill("#customer-search input[name=q]", "13900000011")
    page.click("#customer-search button")
    page.locator("#results a", has_text="赵六").click()
    expect(page.locator("h1")).to_contain_text("赵六")
    page.fill("#edit input[name=numbers]", "13900000011; 13900000033")
    page.click("#edit button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("已保存 / Saved")
    expect(page.locator("#numbers")).to_contain_text("+8613900000033")
    with site.hotline.sessions() as session:
        zhao = session.scalar(select(Customer).where(Customer.account_number == "20000001"))
        assert numbers_of(session, zhao.id) == ["+8613900000011", "+8613900000033"]

    # A number of another account is refused on the page, saying whose it is.
    page.fill("#edit input[name=numbers]", "13900000022")
    page.click("#edit button[type=submit]")
    expect(page.locator("#problem")).to_contain_text("is already a number of account 20000002")
    _fits(page)

    # The demo customer with a call, orders, a call-back and its scores: the page to keep.
    wang = _with_history(site)
    page.goto(site.url + f"/customers/{wang}")
    expect(page.locator("#orders")).to_contain_text("工单号 / Number")
    expect(page.locator("#calls")).to_contain_text(WANG)
    expect(page.locator("#callbacks")).to_contain_text("paid_repair")
    expect(page.locator("#surveys tr.low-score")).to_contain_text("5")
    _fits(page)
    screenshot(page, "customers_page")
