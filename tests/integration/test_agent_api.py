"""The agent API: bearer tokens, reading the state and caller, changing the state, every error in words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ivr.db.models import Agent, AgentStateChange, Customer, User
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.agent_states import claim_agent, set_state
from tests.helpers import action_of, new_call_sid, twiml

PASSWORD = "correct horse battery"
CALLER = "+8613800000002"  # 李强, account 10000002, in arrears, with a dispatched fault order


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def agent_id(hotline):
    with hotline.sessions() as session:
        return session.scalar(select(Agent.id).where(Agent.client_identity == "agent-zhaolei"))


@pytest.fixture
def token(hotline, agent_id):
    """The API token of "zhao", the agent user of 赵磊."""
    return _add_user(hotline, "zhao", "agent", agent_id)


def _add_user(hotline, username, role, agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
    return token


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _agent(hotline, agent_id):
    with hotline.sessions() as session:
        return session.get(Agent, agent_id)


def _change_count(hotline, agent_id):
    with hotline.sessions() as session:
        return len(
            session.scalars(select(AgentStateChange).where(AgentStateChange.agent_id == agent_id)).all()
        )


def _post_state(api, token, body):
    return api.post("/api/agent/state", json=body, headers=_bearer(token))


# ---------------------------------------------------------------- reading


def test_me_gives_the_agent_and_their_state(api, token, agent_id):
    response = api.get("/api/agent/me", headers=_bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"] == "zhao" and body["caller"] is None
    agent = body["agent"]
    assert agent["id"] == agent_id and agent["name"] == "赵磊" and agent["state"] == "available"
    assert agent["since"].endswith("Z") and agent["can_request"] == ["break", "offline"]


def test_me_gives_the_connected_caller_with_path_customer_and_open_orders(
    api, token, agent_id, twilio, hotline
):
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/incoming", call_sid=sid, caller=CALLER))
    twiml(twilio.post(action_of(root), {"Digits": "3"}, call_sid=sid, caller=CALLER))  # repair
    with unit_of_work(hotline.sessions) as session:
        set_state(session, session.get(Agent, agent_id), "on_call", call_sid=sid)

    body = api.get("/api/agent/me", headers=_bearer(token)).get_json()
    assert body["agent"]["state"] == "on_call" and body["agent"]["can_request"] == []
    caller = body["caller"]
    assert caller["call_sid"] == sid and caller["number"] == CALLER and caller["language"] == "zh-CN"
    assert caller["menu_path"] == ["main", "repair"]
    with hotline.sessions() as session:
        li_qiang = session.scalar(select(Customer.id).where(Customer.account_number == "10000002"))
    assert caller["customer"] == {
        "id": li_qiang,  # the customer page, /customers/<id>
        "name": "李强",
        "account_number": "10000002",
        "balance": "-46.20",
        "address": "海淀区中关村大街27号2-1102",
        "customer_class": "residential",
        "language": "zh-CN",
    }
    assert [(o["kind"], o["status"]) for o in caller["work_orders"]] == [("fault", "dispatched")]


def test_a_caller_whose_record_is_not_written_yet_still_shows_its_sid(api, token, agent_id, hotline):
    sid = new_call_sid()
    with unit_of_work(hotline.sessions) as session:
        set_state(session, session.get(Agent, agent_id), "ringing", call_sid=sid)
    caller = api.get("/api/agent/me", headers=_bearer(token)).get_json()["caller"]
    assert caller["call_sid"] == sid and caller["number"] is None and caller["work_orders"] == []


# ---------------------------------------------------------------- changing the state


def test_a_break_with_a_reason_is_200_with_the_new_state_and_kept(api, token, agent_id, hotline):
    before = _change_count(hotline, agent_id)
    response = _post_state(api, token, {"state": "break", "reason": "lunch"})
    assert response.status_code == 200
    agent = response.get_json()["agent"]
    assert agent["state"] == "break" and agent["reason"] == "lunch"
    assert agent["can_request"] == ["available", "offline"]
    assert _agent(hotline, agent_id).state == "break"
    with hotline.sessions() as session:
        last = session.scalars(select(AgentStateChange).order_by(AgentStateChange.id.desc())).first()
    assert (last.agent_id, last.state, last.previous, last.by) == (agent_id, "break", "available", "zhao")
    assert _change_count(hotline, agent_id) == before + 1


def test_wrap_up_ends_early_by_asking_for_available(api, token, agent_id, hotline):
    with unit_of_work(hotline.sessions) as session:
        set_state(session, session.get(Agent, agent_id), "wrap_up")
    response = _post_state(api, token, {"state": "available"})
    assert response.status_code == 200 and response.get_json()["agent"]["state"] == "available"


def test_offline_is_200(api, token, agent_id, hotline):
    assert _post_state(api, token, {"state": "offline", "reason": None}).status_code == 200
    assert _agent(hotline, agent_id).state == "offline"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"state" is missing; ask for one of available, break, offline'),
        ({"state": ""}, '"state" is missing'),
        ({"state": "lunch"}, "\"state\" 'lunch' cannot be asked for"),
        ({"state": "on_call"}, "\"state\" 'on_call' cannot be asked for"),
        ({"state": 3}, '"state" 3 cannot be asked for'),
        ({"state": "break"}, "a break needs a reason"),
        ({"state": "break", "reason": "  "}, "a break needs a reason"),
        ({"state": "break", "reason": 5}, '"reason" must be a string'),
        ({"state": "break", "reason": "x" * 101}, "the reason is too long: at most 100 characters"),
        (["break"], "send a JSON object"),
    ],
)
def test_bad_input_is_400_with_a_message_and_changes_nothing(api, token, agent_id, hotline, body, message):
    before = _change_count(hotline, agent_id)
    response = _post_state(api, token, body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert _agent(hotline, agent_id).state == "available"
    assert _change_count(hotline, agent_id) == before


def test_a_body_that_is_not_json_is_400(api, token):
    response = api.post("/api/agent/state", data="state=break", headers=_bearer(token))
    assert response.status_code == 400
    assert "send a JSON object" in response.get_json()["error"]


def test_a_change_refused_while_ringing_is_400_and_the_offer_stands(api, token, agent_id, hotline):
    sid = new_call_sid()
    with unit_of_work(hotline.sessions) as session:
        assert claim_agent(session, agent_id, sid, _agent(hotline, agent_id).state_since)
    before = _change_count(hotline, agent_id)
    response = _post_state(api, token, {"state": "break", "reason": "lunch"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "cannot go break while ringing"}
    agent = _agent(hotline, agent_id)
    assert agent.state == "ringing" and agent.call_sid == sid
    assert _change_count(hotline, agent_id) == before


# ---------------------------------------------------------------- who may call


@pytest.mark.parametrize(
    ("headers", "message", "challenge"),
    [
        ({}, "send your API token as 'Authorization: Bearer <token>'", "Bearer"),
        (
            {"Authorization": "Bearer not-a-token"},
            "the bearer token is not valid",
            'Bearer error="invalid_token"',
        ),
        (
            {"Authorization": "Basic emhhbzpwdw=="},
            "the bearer token is not valid",
            'Bearer error="invalid_token"',
        ),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("get", "/api/agent/me"), ("post", "/api/agent/state")])
def test_no_or_a_bad_token_is_401(api, token, agent_id, hotline, headers, message, challenge, method, path):
    response = getattr(api, method)(path, headers=headers, json={"state": "offline"})
    assert response.status_code == 401
    assert message in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"] == challenge
    assert _agent(hotline, agent_id).state == "available"


def test_a_deactivated_users_token_is_401(api, token, hotline):
    with unit_of_work(hotline.sessions) as session:
        session.scalar(select(User).where(User.username == "zhao")).active = False
    assert api.get("/api/agent/me", headers=_bearer(token)).status_code == 401


@pytest.mark.parametrize("role", ["supervisor", "admin", "quality", "shift_lead"])
def test_a_token_of_a_user_who_is_not_an_agent_is_403(api, hotline, role):
    other = _add_user(hotline, "someone", role)
    for response in (
        api.get("/api/agent/me", headers=_bearer(other)),
        _post_state(api, other, {"state": "offline"}),
    ):
        assert response.status_code == 403
        assert f"the token belongs to a {role} user" in response.get_json()["error"]


def test_a_login_session_does_not_open_the_api(app, token, agent_id, hotline):
    """The API is CSRF-exempt, so only a bearer token may authorise it, never the browser's cookie."""
    app.config["SECRET_KEY"] = "test-secret-key"
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    signed_in = browser.post("/login", data={"username": "zhao", "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302
    assert browser.post("/api/agent/state", json={"state": "offline"}).status_code == 401
    assert _agent(hotline, agent_id).state == "available"


def test_the_api_needs_no_csrf_token(api, token):
    # A bearer-token client has no form to take a CSRF token from.
    assert _post_state(api, token, {"state": "offline"}).status_code == 200
