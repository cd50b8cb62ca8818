"""The agent page: state buttons, refused changes, the connected caller, viewers, the refreshed panel."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ivr.db.models import Agent, AgentStateChange, Customer, WorkOrder
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.agent_states import set_state
from ivr.work_orders.orders import open_work_order
from tests.helpers import action_of, count, new_call_sid, twiml

PASSWORD = "correct horse battery"
CALLER = "+8613800000001"  # 王芳, account 10000001, with an open meter-fault order in the demo data


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


@pytest.fixture
def agent_id(hotline):
    with hotline.sessions() as session:
        return session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))


@pytest.fixture
def signed_in(client, hotline, agent_id):
    """The client, logged in as the agent 陈静 (user "chen")."""
    _add_user(hotline, "chen", "agent", agent_id)
    _login(client, "chen")
    return client


def _add_user(hotline, username, role, agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(client, username):
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def _press(client, state, reason=None):
    """Submit the agent page's state form as the browser would, and follow the redirect back."""
    form = {"state": state, "csrf_token": _csrf(client.get("/agent").get_data(as_text=True))}
    if reason is not None:
        form["reason"] = reason
    return client.post("/agent/state", data=form, follow_redirects=True)


def _agent(hotline, agent_id):
    with hotline.sessions() as session:
        return session.get(Agent, agent_id)


def _changes(hotline, agent_id):
    with hotline.sessions() as session:
        return session.scalars(
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            .order_by(AgentStateChange.id)
        ).all()


def _move(hotline, agent_id, state, call_sid=None):
    """What the call flow does to an agent (ringing, on a call, wrap-up), outside the page."""
    with unit_of_work(hotline.sessions) as session:
        set_state(session, session.get(Agent, agent_id), state, call_sid=call_sid)


# ---------------------------------------------------------------- state


def test_the_page_shows_the_state_and_the_buttons_that_apply(signed_in):
    page = signed_in.get("/agent").get_data(as_text=True)
    assert "陈静" in page and "空闲 / Available" in page
    assert "当前无来电 / No caller connected" in page
    available = re.search(r"<button[^>]*>示闲 / Go available</button>", page).group(0)
    assert "disabled" in available  # already available
    offline = re.search(r"<button[^>]*>离线 / Go offline</button>", page).group(0)
    assert "disabled" not in offline


def test_a_break_with_a_reason_changes_the_state_and_keeps_the_change(signed_in, hotline, agent_id):
    before = len(_changes(hotline, agent_id))
    page = _press(signed_in, "break", "午餐 / lunch").get_data(as_text=True)
    assert "状态已更新 / State now: 小休 / Break" in page
    agent = _agent(hotline, agent_id)
    assert agent.state == "break" and agent.state_reason == "午餐 / lunch"
    changes = _changes(hotline, agent_id)
    assert len(changes) == before + 1
    last = changes[-1]
    assert (last.state, last.previous, last.reason, last.by) == ("break", "available", "午餐 / lunch", "chen")


def test_offline_then_available_each_append_a_change(signed_in, hotline, agent_id):
    before = len(_changes(hotline, agent_id))
    _press(signed_in, "offline")
    assert _agent(hotline, agent_id).state == "offline"
    _press(signed_in, "available")
    assert _agent(hotline, agent_id).state == "available"
    assert [(c.previous, c.state) for c in _changes(hotline, agent_id)[before:]] == [
        ("available", "offline"),
        ("offline", "available"),
    ]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_break_without_a_reason_is_refused_with_a_message(signed_in, hotline, agent_id, reason):
    before = len(_changes(hotline, agent_id))
    page = _press(signed_in, "break", reason).get_data(as_text=True)
    assert "未能更改状态 / State not changed: a break needs a reason" in page
    assert _agent(hotline, agent_id).state == "available"
    assert len(_changes(hotline, agent_id)) == before


def test_a_reason_longer_than_the_record_holds_is_refused_not_cut(signed_in, hotline, agent_id):
    page = _press(signed_in, "break", "x" * 101).get_data(as_text=True)
    assert "the reason is too long: at most 100 characters" in page
    assert _agent(hotline, agent_id).state == "available"


def test_end_wrap_up_early_makes_the_agent_available(signed_in, hotline, agent_id):
    _move(hotline, agent_id, "wrap_up")
    page = signed_in.get("/agent").get_data(as_text=True)
    end = re.search(r"<button[^>]*>提前结束整理 / End wrap-up early</button>", page).group(0)
    assert "hidden" not in end and "disabled" not in end
    assert "hidden" in re.search(r"<button[^>]*>示闲 / Go available</button>", page).group(0)
    _press(signed_in, "available")
    assert _agent(hotline, agent_id).state == "available"
    last = _changes(hotline, agent_id)[-1]
    assert (last.previous, last.state, last.by) == ("wrap_up", "available", "chen")


@pytest.mark.parametrize("busy", ["ringing", "on_call"])
def test_no_change_while_ringing_or_on_a_call(signed_in, hotline, agent_id, busy):
    _move(hotline, agent_id, busy, call_sid=new_call_sid())
    before = len(_changes(hotline, agent_id))
    page = _press(signed_in, "break", "lunch").get_data(as_text=True)
    assert f"cannot go break while {busy.replace('_', ' ')}" in page
    assert _agent(hotline, agent_id).state == busy and _agent(hotline, agent_id).call_sid
    assert len(_changes(hotline, agent_id)) == before


def test_a_state_post_without_the_csrf_token_is_refused(signed_in, hotline, agent_id):
    response = signed_in.post("/agent/state", data={"state": "offline"})
    assert response.status_code == 400
    assert _agent(hotline, agent_id).state == "available"


# ---------------------------------------------------------------- the connected caller


def _connected_call(twilio, hotline, agent_id):
    """A caller who pressed 1 (billing) then 0 (a person), now on a call with the agent."""
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/incoming", call_sid=sid, caller=CALLER))
    for digits in ("1", "0"):
        root = twiml(twilio.post(action_of(root), {"Digits": digits}, call_sid=sid, caller=CALLER))
    _move(hotline, agent_id, "on_call", call_sid=sid)
    return sid


def test_the_caller_panel_shows_number_path_customer_and_open_orders(signed_in, twilio, hotline, agent_id):
    with unit_of_work(hotline.sessions) as session:
        customer = session.scalar(select(Customer).where(Customer.phone == CALLER))
        demo = session.scalar(select(WorkOrder).where(WorkOrder.source_key == "demo:0"))  # 王芳's meter
        by_number = open_work_order(session, kind="fault", caller_number=CALLER, source_key="t:number")
        done = open_work_order(
            session, kind="fault", caller_number="", customer=customer, source_key="t:done"
        )
        done.status, done.stage = "completed", "closed"  # the panel reads the stage (issue 16)
        other = open_work_order(session, kind="fault", caller_number="+8613800000009", source_key="t:other")
    assert demo.customer_id == customer.id and demo.status == "open"
    _connected_call(twilio, hotline, agent_id)

    for path in ("/agent", f"/agent/panel?agent_id={agent_id}"):
        page = signed_in.get(path).get_data(as_text=True)
        assert "通话中 / On a call" in page
        assert CALLER in page and "main → billing → billing_queue" in page
        assert (
            "王芳" in page and "10000001" in page and "¥128.50" in page and "朝阳区建国路88号3单元501" in page
        )
        assert demo.number in page and "表具故障 / Meter fault" in page  # the customer's order
        assert f'href="/customers/{customer.id}"' in page  # the customer's page, one click away
        assert by_number.number in page  # opened from the caller's number
        assert done.number not in page and other.number not in page  # completed, and someone else's


def test_the_panel_follows_state_changes_made_elsewhere(signed_in, hotline, agent_id):
    url = f"/agent/panel?agent_id={agent_id}"
    assert "空闲 / Available" in signed_in.get(url).get_data(as_text=True)
    _move(hotline, agent_id, "ringing", call_sid=new_call_sid())
    response = signed_in.get(url)
    assert response.headers["Cache-Control"] == "no-store"
    fragment = response.get_data(as_text=True)
    assert "振铃 / Ringing" in fragment and 'data-can=""' in fragment
    assert "<html" not in fragment  # only the part the script swaps in


def test_the_page_script_and_stylesheet_are_served(signed_in):
    page = signed_in.get("/agent").get_data(as_text=True)
    script = re.search(r'<script src="([^"]+)"', page).group(1)
    with signed_in.get(script) as response:  # files are streamed: closed, or pytest reports the leak
        assert response.status_code == 200 and "data-refresh-url" in response.get_data(as_text=True)
    with signed_in.get("/admin/static/admin.css") as response:
        assert response.status_code == 200


def test_an_anonymous_panel_request_is_sent_to_the_login(client):
    response = client.get("/agent/panel?agent_id=1")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# ---------------------------------------------------------------- who sees which page


def test_a_supervisor_sees_an_agent_page_read_only(client, hotline, agent_id):
    _add_user(hotline, "sup", "supervisor")
    _login(client, "sup")
    listing = client.get("/agent").get_data(as_text=True)
    assert f"/agent?agent_id={agent_id}" in listing and "陈静" in listing
    page = client.get(f"/agent?agent_id={agent_id}").get_data(as_text=True)
    assert "只读 / Read-only" in page and "空闲 / Available" in page
    assert "/agent/state" not in page  # no buttons
    token = _csrf(page)
    refused = client.post("/agent/state", data={"state": "offline", "csrf_token": token})
    assert refused.status_code == 403
    assert _agent(hotline, agent_id).state == "available"


def test_an_agent_cannot_open_another_agents_page(signed_in, hotline, agent_id):
    response = signed_in.get(f"/agent?agent_id={agent_id + 1}")
    assert response.status_code == 403
    assert "Agents see only their own page" in response.get_data(as_text=True)


def test_a_viewer_asking_for_a_missing_agent_is_told_so(client, hotline):
    _add_user(hotline, "lead", "shift_lead")
    _login(client, "lead")
    response = client.get("/agent?agent_id=9999")
    assert response.status_code == 404 and "no agent with id 9999" in response.get_data(as_text=True)


def test_quality_staff_cannot_open_the_agent_page(client, hotline):
    _add_user(hotline, "qa", "quality")
    _login(client, "qa")
    assert client.get("/agent").status_code == 403
    assert client.get("/agent/panel?agent_id=1").status_code == 403
    with hotline.sessions() as session:
        assert count(session, AgentStateChange, AgentStateChange.by == "qa") == 0
