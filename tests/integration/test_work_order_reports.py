"""Work-order reports (issue 16) on SQLite and PostgreSQL: deadlines on time per kind, class, desk and
owner, complaint closure and open orders by age, from orders moved through the real use cases (their
timers computed by the live rules), in the monthly quality report (page and CSV) and on the live board.

March 2026 in Asia/Shanghai (UTC+8): the complaints desk works 08:00-20:00 every day, the field crew
08:00-18:00 on weekdays (the default deadline rules).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ivr.db.models import User
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.quality.report import build_quality_report
from ivr.quality.report_month import Month
from ivr.quality.work_order_report import live_work_orders, work_order_figures
from ivr.work_orders import cases

MARCH = Month(2026, 3)
PASSWORD = "correct horse battery"
DESK = cases.Actor("desk")
AFTER = datetime(2026, 4, 5)  # naive UTC: the report is made in April


def local(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A local Shanghai time of 2026 as the naive UTC the database holds."""
    return datetime(2026, month, day, hour, minute) - timedelta(hours=8)


def take(session, work_class, at, key):  # type: ignore[no-untyped-def]
    return cases.open_case(
        session,
        work_class=work_class,
        caller_number="+8613800000321",
        actor=cases.SYSTEM,
        source_key=key,
        description="report test",
        now=at,
    ).number


def answer_and_close(session, number, handed, handled, answered):  # type: ignore[no-untyped-def]
    """Handed to the complaints desk and accepted there by li, handled, answered, closed 10 min later."""
    cases.hand_over(session, number=number, desk="complaints", reason="to check", actor=DESK, now=handed)
    li = session.scalar(select(User).where(User.username == "li"))
    if li is None:
        li, _ = create_user(session, username="li", role="shift_lead", password=PASSWORD)
    cases.accept(session, number=number, actor=cases.Actor("li", li.id), now=handed)
    cases.record_field_result(session, number=number, result="checked", actor=DESK, now=handled)
    cases.record_answer(session, number=number, channel="phone", answer="told", actor=DESK, now=answered)
    cases.close(session, number=number, actor=DESK, now=answered + timedelta(minutes=10))


@pytest.fixture
def march(hotline):  # type: ignore[no-untyped-def]
    """A: a service complaint kept every deadline and closed; B: handed over 2 h late, then closed;
    C: a quality complaint never moved (open, overdue); D: a fault repair taken on the 30th, open."""
    with unit_of_work(hotline.sessions) as session:
        a = take(session, "service_complaint", local(10, 9), "report-a")
        answer_and_close(session, a, local(10, 9, 30), local(10, 10), local(10, 11))
        b = take(session, "service_complaint", local(11, 9), "report-b")
        answer_and_close(session, b, local(11, 12), local(11, 13), local(11, 13, 30))
        take(session, "quality_complaint", local(12, 9), "report-c")
        take(session, "fault_repair", local(30, 10), "report-d")
    return hotline


def test_the_month_s_deadlines_closure_and_open_orders(march):
    start, end = MARCH.bounds("Asia/Shanghai")
    with march.sessions() as session:
        figures = work_order_figures(session, start=start, end=end, now=AFTER)
    by_kind = {row.key: (row.on_time, row.late, row.overdue) for row in figures.by_kind}
    assert by_kind["handover"] == (1, 1, 2)  # A in time, B 2 h late, C and D never handed over
    assert by_kind["result"] == (2, 0, 0) and by_kind["answer"] == (2, 0, 0)
    by_class = {row.key: row.rate for row in figures.by_class}
    assert by_class["service_complaint"] == 5 / 6 and by_class["quality_complaint"] == 0.0
    assert {row.key for row in figures.by_desk} >= {"complaints"}
    by_owner = {row.key: (row.on_time, row.late, row.overdue) for row in figures.by_owner}
    assert by_owner["li"] == (5, 1, 0) and by_owner["(no owner)"] == (0, 0, 2)

    closure = {row.key: row for row in figures.closure}
    assert (closure["service_complaint"].closed_on_time, closure["service_complaint"].closed_late) == (1, 1)
    assert (closure["quality_complaint"].open, closure["quality_complaint"].open_overdue) == (1, 1)
    assert closure["all"].taken == 3 and closure["all"].closure_rate == 2 / 3
    assert closure["all"].on_time_rate == 1 / 3

    ages = {bucket.label: (bucket.open, bucket.overdue) for bucket in figures.ages}
    assert ages["1-3d"] == (1, 1)  # D: 38 h old at the end of March, its hand-over passed
    assert ages[">7d"] == (1, 1)  # C: taken on the 12th


def test_a_complaint_closed_after_the_month_was_open_at_its_end(march):
    with unit_of_work(march.sessions) as session:
        number = take(session, "service_complaint", local(31, 10), "report-e")
        answer_and_close(session, number, local(31, 10, 30), local(31, 11), local(2, 9, month=4))
    start, end = MARCH.bounds("Asia/Shanghai")
    with march.sessions() as session:
        figures = work_order_figures(session, start=start, end=end, now=AFTER)
        april = work_order_figures(session, start=end, end=end + timedelta(days=30), now=AFTER)
    closure = {row.key: row for row in figures.closure}
    assert closure["service_complaint"].open == 1 and closure["all"].taken == 4
    assert {bucket.label: bucket.open for bucket in figures.ages}["<4h"] == 0
    assert sum(bucket.open for bucket in figures.ages) == 3  # C, D and E at the end of March
    assert sum(bucket.open for bucket in april.ages) == 2  # E closed on 2 April


def test_the_live_board_counts_open_orders_by_age_and_overdue(march):
    with march.sessions() as session:
        live = live_work_orders(session, now=local(31, 0))
    ages = {row["label"]: (row["open"], row["overdue"]) for row in live["ages"]}
    assert ages["4-24h"] == (1, 1) and ages[">7d"] == (1, 1)
    assert live["open"] >= 2 and live["overdue"] >= 2


def _login(client, hotline, username, role):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        if session.scalar(select(User).where(User.username == username)) is None:
            create_user(session, username=username, role=role, password=PASSWORD)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_the_quality_report_page_and_csv_show_the_work_order_figures(march, app):
    app.config["SECRET_KEY"] = "test-secret-key"
    client = app.test_client()
    _login(client, march, "boss", "supervisor")
    page = client.get("/reports/quality?month=2026-03").get_data(as_text=True)
    assert re.search(r'id="complaint-closure">66\.7 %<', page)
    assert re.search(r'id="complaint-closure-on-time">33\.3 %<', page)
    assert "工单时限 / Work-order deadlines due this month" in page

    text = client.get("/reports/quality.csv?month=2026-03").get_data(as_text=True)
    rows = {(s, k, m): v for s, k, m, v in list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1:]}
    assert rows[("complaint_closure", "all", "closure_rate_pct")] == "66.7"
    assert rows[("complaint_closure", "all", "target_pct")] == "100.0"
    assert rows[("deadlines_by_kind", "handover", "on_time_rate_pct")] == "25.0"
    assert rows[("deadlines_by_kind", "handover", "overdue")] == "2"
    assert rows[("deadlines_by_desk", "complaints", "late")] == "1"
    assert rows[("open_work_orders_by_age", ">7d", "overdue")] == "1"


def test_the_report_object_carries_the_figures(march):
    with march.sessions() as session:
        report = build_quality_report(session=session, month=MARCH, timezone="Asia/Shanghai", now=AFTER)
    assert report.work_orders is not None and report.work_orders.closure_total.taken == 3


def test_the_live_board_page_and_json_carry_the_open_orders(march, app):
    app.config["SECRET_KEY"] = "test-secret-key"
    client = app.test_client()
    _login(client, march, "lead", "shift_lead")
    live = client.get("/console/board.json").get_json()["open_work_orders"]
    old = {row["label"]: row for row in live["ages"]}[">7d"]
    assert old["open"] >= 2 and old["overdue"] >= 2  # C and D, taken in March, still open
    page = client.get("/console/board").get_data(as_text=True)
    assert 'id="board-open-orders"' in page and f'data-count="open">{live["open"]}<' in page
