"""Escalations where people look (issue 16): the live board's "past or near their deadline" section and the
owner's notice on the agent page, after the deadline sweep ran."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from ivr.db.models import Agent, User, utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.board import late_work_orders
from ivr.work_orders import cases, escalation

PASSWORD = "correct horse battery"


def login(app, hotline, username: str, role: str, agent: str | None = None):  # type: ignore[no-untyped-def]
    app.config["SECRET_KEY"] = "test-secret-key"
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).where(Agent.name == agent)) if agent else None
        create_user(session, username=username, role=role, password=PASSWORD, agent_id=seat)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def user_id(hotline, username: str) -> int:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def open_order(hotline, work_class: str, minutes_ago: int, key: str, owner: int | None = None) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        order = cases.open_case(
            session,
            work_class=work_class,
            caller_number="+8613800000999",
            actor=cases.Actor("taker", owner),
            source_key=key,
            now=utcnow() - timedelta(minutes=minutes_ago),
        )
        return order.number


def counts(hotline):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return late_work_orders(session, utcnow(), "Asia/Shanghai")["counts"]


def test_the_board_lists_orders_past_and_near_their_deadline(app, hotline):
    # The demo data's orders may already be near or late, depending on the hour: swept and counted first.
    escalation.sweep_due_timers(hotline.sessions, now=utcnow())
    before = counts(hotline)
    late = open_order(hotline, "gas_leak", 130, "late")  # on site within 1 h: due 70 min ago
    near = open_order(hotline, "safety_complaint", 50, "near")  # warned at 45 min, due in 10 min
    fine = open_order(hotline, "safety_complaint", 5, "fine")
    escalation.sweep_due_timers(hotline.sessions, now=utcnow())

    lead = login(app, hotline, "lead", "shift_lead")
    data = lead.get("/console/board.json").get_json()["late_work_orders"]
    assert data["counts"]["overdue"] == before["overdue"] + 1
    assert data["counts"]["near"] == before["near"] + 1
    assert data["counts"]["supervisor"] == before["supervisor"] + 1  # 30 min past due: the supervisor's
    rows = {row["number"]: row for row in data["orders"]}
    assert fine not in rows
    assert rows[late]["overdue"] and rows[late]["escalation"] == "supervisor" and rows[late]["minutes"] >= 69
    assert not rows[near]["overdue"] and rows[near]["escalation"] == "warned" and rows[near]["minutes"] <= 10
    numbers = [row["number"] for row in data["orders"]]
    assert numbers.index(late) < numbers.index(near), "most urgent first"
    page = lead.get("/console/board").get_data(as_text=True)
    assert "Work orders past or near their deadline" in page and 'id="board-late-orders"' in page


def test_the_owner_sees_their_late_orders_on_the_agent_page(app, hotline):
    agent = login(app, hotline, "chen", "agent", agent="陈静")
    page = agent.get("/agent").get_data(as_text=True)
    assert "Your work orders near or past their deadline" not in page

    mine = open_order(hotline, "gas_leak", 70, "mine", owner=user_id(hotline, "chen"))
    login(app, hotline, "other", "agent", agent="赵磊")
    theirs = open_order(hotline, "gas_leak", 70, "theirs", owner=user_id(hotline, "other"))
    escalation.sweep_due_timers(hotline.sessions, now=utcnow())

    page = agent.get("/agent").get_data(as_text=True)
    assert "Your work orders near or past their deadline" in page
    assert f'data-order="{mine}"' in page and f'data-order="{theirs}"' not in page
    assert "escalated to the shift lead" in page


def test_the_work_order_s_history_names_each_escalation_step(app, hotline):
    late = open_order(hotline, "fault_repair", 0, "history")
    # Opened in working hours or not, its 1-working-hour hand-over has long passed ten days on (holidays too).
    escalation.sweep_due_timers(hotline.sessions, now=utcnow() + timedelta(days=10))
    lead = login(app, hotline, "lead", "shift_lead")
    page = lead.get(f"/work-orders/{late}").get_data(as_text=True)
    assert "Deadline near: owner warned" in page
    assert "Deadline passed: escalated to the shift lead" in page
    assert "Second bound passed: escalated to the supervisor" in page
