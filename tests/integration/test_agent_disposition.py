"""The agent's side (issue 16): the caller panel's history, the disposition, wrap-up held without one."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ivr.config import load_settings
from ivr.db.models import (
    Agent,
    AgentStateChange,
    Call,
    CallbackCandidate,
    CallbackJob,
    CallDisposition,
    Customer,
    ServiceCompletion,
    SurveyResponse,
    User,
    WorkOrder,
    WorkOrderEvent,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import end_wrap_ups as end_wrap_ups_of
from ivr.jobs.tasks import remove_expired
from ivr.people.user_admin import create_user
from ivr.queueing.agent_states import set_state
from ivr.queueing.dispatch import end_wrap_ups
from ivr.queueing.dispositions import disposition_missing
from ivr.queueing.shift_moves import set_agent_state
from ivr.work_orders.cases import Actor, close, move, record_answer, record_field_result
from ivr.work_orders.orders import open_work_order
from tests.helpers import action_of, new_call_sid, twiml

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
def token(hotline, agent_id):
    """The user "chen" of the agent 陈静; returns their API token."""
    return _add_user(hotline, "chen", "agent", agent_id)


@pytest.fixture
def signed_in(client, token):
    _login(client, "chen")
    return client


def _add_user(hotline, username, role, agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
    return token


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(client, username):
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def _user_id(hotline, username):
    with hotline.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _call(twilio, caller=CALLER):
    """A real call through the menu: 1 (billing), then 0 (a person)."""
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/incoming", call_sid=sid, caller=caller))
    for digits in ("1", "0"):
        root = twiml(twilio.post(action_of(root), {"Digits": digits}, call_sid=sid, caller=caller))
    return sid


def _move(hotline, agent_id, state, call_sid=None, wrap_up_until=None):
    """What the call flow does to the agent (on a call, wrap-up), outside the page."""
    with unit_of_work(hotline.sessions) as session:
        agent = session.get(Agent, agent_id)
        set_state(session, agent, state, call_sid=call_sid)
        if wrap_up_until is not None:
            agent.wrap_up_until = wrap_up_until


def _in_wrap_up(twilio, hotline, agent_id, caller=CALLER):
    """The agent just finished a call from `caller`: in wrap-up, its time already over."""
    sid = _call(twilio, caller)
    _move(hotline, agent_id, "on_call", call_sid=sid)
    _move(hotline, agent_id, "wrap_up", wrap_up_until=utcnow() - timedelta(seconds=1))
    return sid


def _agent(hotline, agent_id):
    with hotline.sessions() as session:
        return session.get(Agent, agent_id)


def _dispositions(hotline):
    with hotline.sessions() as session:
        return session.scalars(select(CallDisposition).order_by(CallDisposition.id)).all()


def _post_disposition(client, **fields):
    fields["csrf_token"] = _csrf(client.get("/agent").get_data(as_text=True))
    return client.post("/agent/disposition", data=fields)


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def _survey(session, phone, called_at, attitude, ability):
    """A satisfaction call-back answered on `phone`: the rows the survey call leaves behind."""
    completion = ServiceCompletion(
        source="field",
        external_id=f"job-{phone}-{attitude}",
        service_type="meter_repair",
        completed_at=called_at - timedelta(days=3),
        customer_phone=phone,
        employee="张师傅",
    )
    session.add(completion)
    session.flush()
    candidate = CallbackCandidate(
        completion_id=completion.id, month=called_at.strftime("%Y-%m"), selected=True, policy_version=1
    )
    session.add(candidate)
    session.flush()
    job = CallbackJob(
        candidate_id=candidate.id,
        completion_id=completion.id,
        phone=phone,
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
            phone=phone,
            language="zh-CN",
            called_at=called_at,
            attitude=attitude,
            ability=ability,
            on_time=True,
        )
    )


# ---------------------------------------------------------------- the caller panel


def test_the_panel_shows_past_calls_open_orders_and_survey_scores_of_the_caller(
    signed_in, token, twilio, hotline, agent_id
):
    earlier = _call(twilio)  # an earlier call from the same number, answered and disposed
    with unit_of_work(hotline.sessions) as session:
        session.execute(update(Call).where(Call.call_sid == earlier).values(outcome="answered"))
        session.add(
            CallDisposition(
                call_sid=earlier, agent_id=agent_id, work_class="account_business", outcome="answered"
            )
        )
        customer = session.scalar(select(Customer).where(Customer.phone == CALLER))
        handled = open_work_order(session, kind="fault", caller_number=CALLER, source_key="t:handled")
        closed = open_work_order(session, kind="fault", caller_number=CALLER, source_key="t:closed")
        someone_else = open_work_order(
            session, kind="fault", caller_number="+8613800000009", source_key="t:x"
        )
        _survey(session, CALLER, utcnow() - timedelta(days=10), attitude=4, ability=9)
        _survey(session, "+8613800000009", utcnow() - timedelta(days=5), attitude=10, ability=10)
    system = Actor("system")
    with unit_of_work(hotline.sessions) as session:
        record_field_result(session, number=handled.number, result="meter replaced", actor=system)
        for number in (closed.number,):
            record_field_result(session, number=number, result="done", actor=system)
            record_answer(session, number=number, channel="phone", answer="told", actor=system)
            close(session, number=number, actor=system)
    sid = _call(twilio)
    _move(hotline, agent_id, "on_call", call_sid=sid)

    page = signed_in.get(f"/agent/panel?agent_id={agent_id}").get_data(as_text=True)
    assert "王芳" in page and "10000001" in page and "¥128.50" in page  # the customer, as before
    # Open orders: the handled one still owes the caller an answer; the closed one and another's are gone.
    assert f'href="/work-orders/{handled.number}"' in page and "已处理 / Handled" in page
    assert "故障报修 / Fault repair" in page
    assert closed.number not in page and someone_else.number not in page
    # Past calls: the earlier one with its intent, outcome and disposition; the current one is not "past".
    past = page[page.index("以往来电 / Past calls") : page.index("满意度回访 / Survey scores")]
    assert "账单 / Billing" in past and "answered" in past and "账户业务 / Account business" in past
    assert sid not in past
    # Survey scores of this number only, the low one marked.
    surveys = page[page.index("满意度回访 / Survey scores") : page.index("本次处理结果")]
    assert "meter_repair" in surveys and 'class="low-score"' in surveys and ">4<" in surveys
    assert ">10<" not in surveys

    body = signed_in.get("/api/agent/me", headers=_bearer(token)).get_json()["caller"]
    assert [p["call_sid"] for p in body["past_calls"]] == [earlier]
    assert body["past_calls"][0]["disposition"]["work_class"] == "account_business"
    assert [(s["attitude"], s["ability"]) for s in body["surveys"]] == [(4, 9)]
    orders = {o["number"]: o for o in body["work_orders"]}
    assert handled.number in orders and closed.number not in orders
    shown = orders[handled.number]
    assert (shown["stage"], shown["work_class"]) == ("handled", "fault_repair")
    assert body["disposition"] is None and body["disposition_needed"] is False
    assert customer.account_number == "10000001"


# ---------------------------------------------------------------- recording a disposition


def test_a_disposition_from_the_page_is_kept_and_lets_wrap_up_end(signed_in, twilio, hotline, agent_id):
    sid = _in_wrap_up(twilio, hotline, agent_id)
    page = signed_in.get("/agent").get_data(as_text=True)
    assert "请记录处理结果后再结束整理 / Record the disposition before ending wrap-up" in page
    end = re.search(r"<button[^>]*>提前结束整理 / End wrap-up early</button>", page).group(0)
    assert "disabled" in end and 'data-can=""' in page  # no state button applies while held

    response = _post_disposition(
        signed_in, work_class="enquiry", outcome="answered", notes="问了账单日期 / asked the bill date"
    )
    assert response.status_code == 302
    page = signed_in.get("/agent").get_data(as_text=True)
    assert "处理结果已记录 / Disposition recorded" in page
    end = re.search(r"<button[^>]*>提前结束整理 / End wrap-up early</button>", page).group(0)
    assert "disabled" not in end
    assert "咨询待答复 / Enquiry owed an answer · 通话中已解答 / Answered on the call" in page
    [kept] = _dispositions(hotline)
    assert (kept.call_sid, kept.agent_id, kept.user_id) == (sid, agent_id, _user_id(hotline, "chen"))
    assert (kept.work_class, kept.outcome, kept.work_order_number) == ("enquiry", "answered", None)
    assert kept.notes == "问了账单日期 / asked the bill date"

    form = {"state": "available", "csrf_token": _csrf(page)}
    page = signed_in.post("/agent/state", data=form, follow_redirects=True).get_data(as_text=True)
    assert "状态已更新 / State now: 空闲 / Available" in page
    assert _agent(hotline, agent_id).state == "available"


def test_a_disposition_can_be_recorded_during_the_call(signed_in, twilio, hotline, agent_id):
    sid = _call(twilio)
    _move(hotline, agent_id, "on_call", call_sid=sid)
    assert _post_disposition(signed_in, work_class="enquiry", outcome="transferred").status_code == 302
    assert [(d.call_sid, d.outcome) for d in _dispositions(hotline)] == [(sid, "transferred")]
    # After the call, wrap-up has what it needs.
    _move(hotline, agent_id, "wrap_up")
    with hotline.sessions() as session:
        assert not disposition_missing(session, session.get(Agent, agent_id))


def test_work_order_opened_makes_the_agent_its_owner_with_the_call_attached(
    signed_in, twilio, hotline, agent_id
):
    sid = _in_wrap_up(twilio, hotline, agent_id)
    response = _post_disposition(
        signed_in, work_class="quality_complaint", outcome="opened", notes="燃气灶打火不良，维修后仍有问题"
    )
    assert response.status_code == 302
    [kept] = _dispositions(hotline)
    assert kept.work_order_number
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == kept.work_order_number))
        customer = session.get(Customer, order.customer_id)
        opened = session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)).all()
    assert order.owner_user_id == _user_id(hotline, "chen")
    assert (order.call_sid, order.caller_number, customer.phone) == (sid, CALLER, CALLER)
    assert (order.work_class, order.stage) == ("quality_complaint", "opened")
    assert order.description == "燃气灶打火不良，维修后仍有问题"
    assert [(e.kind, e.actor, e.by_user_id) for e in opened] == [("opened", "chen", order.owner_user_id)]
    page = signed_in.get("/agent").get_data(as_text=True)
    assert f"工单 / work order {order.number}" in page
    assert f'href="/work-orders/{order.number}"' in page


def test_attached_notes_the_call_on_the_callers_open_order(signed_in, twilio, hotline, agent_id):
    with hotline.sessions() as session:
        demo = session.scalar(select(WorkOrder).where(WorkOrder.source_key == "demo:0"))  # 王芳's meter
    sid = _in_wrap_up(twilio, hotline, agent_id)
    response = _post_disposition(
        signed_in, work_class="meter_fault", outcome="attached", work_order_number=demo.number, notes="催办"
    )
    assert response.status_code == 302
    [kept] = _dispositions(hotline)
    assert (kept.outcome, kept.work_order_number) == ("attached", demo.number)
    with hotline.sessions() as session:
        last = session.scalars(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == demo.id).order_by(WorkOrderEvent.id)
        ).all()[-1]
    assert last.kind == "note" and sid in last.reason and "催办" in last.reason
    assert (last.actor, last.by_user_id) == ("chen", _user_id(hotline, "chen"))


def test_attaching_to_another_callers_or_a_closed_order_is_refused_and_nothing_is_written(
    signed_in, twilio, hotline, agent_id
):
    system = Actor("system")
    with unit_of_work(hotline.sessions) as session:
        others = open_work_order(session, kind="fault", caller_number="+8613800000009", source_key="t:o")
        mine = open_work_order(session, kind="fault", caller_number=CALLER, source_key="t:m")
    with unit_of_work(hotline.sessions) as session:
        record_field_result(session, number=mine.number, result="done", actor=system)
        record_answer(session, number=mine.number, channel="phone", answer="told", actor=system)
        close(session, number=mine.number, actor=system)
    _in_wrap_up(twilio, hotline, agent_id)
    with hotline.sessions() as session:
        events_before = len(session.scalars(select(WorkOrderEvent)).all())
    cases = [
        (others.number, f"work order {others.number} is not this caller's"),
        (mine.number, f"work order {mine.number} is closed"),
        ("9999999", "there is no work order 9999999"),
        ("", "give the number of the work order to attach the call to"),
    ]
    for number, message in cases:
        response = _post_disposition(
            signed_in, work_class="fault_repair", outcome="attached", work_order_number=number, notes="保留"
        )
        page = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 400 and message in page
        assert ">保留</textarea>" in page  # what was typed is still there
    assert _dispositions(hotline) == []
    with hotline.sessions() as session:
        assert len(session.scalars(select(WorkOrderEvent)).all()) == events_before
    assert _agent(hotline, agent_id).state == "wrap_up"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"work_class": "", "outcome": "answered"}, "choose the class of request"),
        ({"work_class": "weather", "outcome": "answered"}, "choose the class of request"),
        ({"work_class": "enquiry", "outcome": "sorted"}, "choose the outcome"),
        ({"work_class": "enquiry", "outcome": "answered", "notes": "x" * 4001}, "the notes are too long"),
    ],
)
def test_a_disposition_without_class_or_outcome_is_refused(
    signed_in, twilio, hotline, agent_id, fields, message
):
    _in_wrap_up(twilio, hotline, agent_id)
    response = _post_disposition(signed_in, **fields)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _dispositions(hotline) == []


def test_no_disposition_without_a_call_and_only_one_per_call(signed_in, twilio, hotline, agent_id):
    response = _post_disposition(signed_in, work_class="enquiry", outcome="answered")
    assert response.status_code == 400 and "there is no call to record" in response.get_data(as_text=True)
    _in_wrap_up(twilio, hotline, agent_id)
    assert _post_disposition(signed_in, work_class="enquiry", outcome="answered").status_code == 302
    again = _post_disposition(signed_in, work_class="enquiry", outcome="no_action")
    assert again.status_code == 400 and "already has a disposition" in again.get_data(as_text=True)
    assert [d.outcome for d in _dispositions(hotline)] == ["answered"]


def test_the_disposition_form_needs_the_csrf_token_and_an_agent(client, signed_in, twilio, hotline, agent_id):
    _in_wrap_up(twilio, hotline, agent_id)
    bare = signed_in.post("/agent/disposition", data={"work_class": "enquiry", "outcome": "answered"})
    assert bare.status_code == 400
    signed_in.post("/logout", data={"csrf_token": _csrf(signed_in.get("/agent").get_data(as_text=True))})
    _add_user(hotline, "boss", "supervisor")
    _login(client, "boss")
    page = client.get(f"/agent?agent_id={agent_id}").get_data(as_text=True)
    assert 'id="disposition"' not in page  # a viewer sees the panel, not the form
    refused = client.post(
        "/agent/disposition", data={"work_class": "enquiry", "outcome": "answered", "csrf_token": _csrf(page)}
    )
    assert refused.status_code == 403
    assert _dispositions(hotline) == []


# ---------------------------------------------------------------- wrap-up held until there is a disposition


@pytest.mark.parametrize("state", ["available", "break", "offline"])
def test_the_page_refuses_to_end_wrap_up_without_a_disposition(signed_in, twilio, hotline, agent_id, state):
    _in_wrap_up(twilio, hotline, agent_id)
    token = _csrf(signed_in.get("/agent").get_data(as_text=True))
    form = {"state": state, "reason": "午餐 / lunch", "csrf_token": token}
    page = signed_in.post("/agent/state", data=form, follow_redirects=True).get_data(as_text=True)
    assert "未能更改状态 / State not changed: 请先记录上一通电话的处理结果" in page
    assert "record the disposition of your last call first" in page
    assert _agent(hotline, agent_id).state == "wrap_up"


def test_the_api_refuses_to_end_wrap_up_without_a_disposition_then_takes_one(
    client, token, twilio, hotline, agent_id
):
    sid = _in_wrap_up(twilio, hotline, agent_id)
    refused = client.post("/api/agent/state", json={"state": "available"}, headers=_bearer(token))
    assert refused.status_code == 400
    assert "record the disposition of your last call first" in refused.get_json()["error"]
    assert _agent(hotline, agent_id).state == "wrap_up"

    bad = client.post("/api/agent/disposition", json={"work_class": "enquiry"}, headers=_bearer(token))
    assert bad.status_code == 400 and "choose the outcome" in bad.get_json()["error"]
    wrong_type = client.post(
        "/api/agent/disposition", json={"work_class": "enquiry", "outcome": 3}, headers=_bearer(token)
    )
    assert wrong_type.status_code == 400 and '"outcome" must be a string' in wrong_type.get_json()["error"]
    not_json = client.post("/api/agent/disposition", data="enquiry", headers=_bearer(token))
    assert not_json.status_code == 400 and "send a JSON object" in not_json.get_json()["error"]

    made = client.post(
        "/api/agent/disposition",
        json={"work_class": "fault_repair", "outcome": "opened", "notes": "暖气不热"},
        headers=_bearer(token),
    )
    assert made.status_code == 201
    body = made.get_json()["disposition"]
    assert body["call_sid"] == sid and body["outcome"] == "opened" and body["work_order_number"]
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == body["work_order_number"]))
    assert order.owner_user_id == _user_id(hotline, "chen") and order.call_sid == sid

    me = client.get("/api/agent/me", headers=_bearer(token)).get_json()["caller"]
    assert me["disposition"]["work_order_number"] == order.number and me["disposition_needed"] is False
    ended = client.post("/api/agent/state", json={"state": "available"}, headers=_bearer(token))
    assert ended.status_code == 200 and _agent(hotline, agent_id).state == "available"


def test_the_automatic_end_of_wrap_up_waits_for_the_disposition(signed_in, twilio, hotline, agent_id):
    _in_wrap_up(twilio, hotline, agent_id)
    with unit_of_work(hotline.sessions) as session:
        assert end_wrap_ups(utcnow(), session=session) == 0
    assert _agent(hotline, agent_id).state == "wrap_up"
    _post_disposition(signed_in, work_class="enquiry", outcome="no_action")
    with unit_of_work(hotline.sessions) as session:
        assert end_wrap_ups(utcnow(), session=session) == 1
    assert _agent(hotline, agent_id).state == "available"


def test_simulated_agents_are_freed_without_a_disposition_when_the_setting_says_so(
    twilio, hotline, agent_id
):
    # IVR_WRAP_UP_NEEDS_DISPOSITION=0 is for the storm benchmark's simulated agents, which keep no notes.
    _in_wrap_up(twilio, hotline, agent_id)
    hotline.settings = replace(hotline.settings, wrap_up_needs_disposition=False)
    assert end_wrap_ups_of(hotline, utcnow()) == 1
    assert _agent(hotline, agent_id).state == "available"


def test_the_setting_is_on_unless_turned_off(monkeypatch):
    monkeypatch.delenv("IVR_WRAP_UP_NEEDS_DISPOSITION", raising=False)
    assert load_settings().wrap_up_needs_disposition is True
    monkeypatch.setenv("IVR_WRAP_UP_NEEDS_DISPOSITION", "0")
    assert load_settings().wrap_up_needs_disposition is False


def test_a_wrap_up_without_a_call_still_ends_on_its_own(hotline, agent_id):
    # A wrap-up with no call recorded (set by hand) has nothing to dispose of: it is not held.
    _move(hotline, agent_id, "wrap_up", wrap_up_until=utcnow() - timedelta(seconds=1))
    with unit_of_work(hotline.sessions) as session:
        session.execute(update(Agent).where(Agent.id == agent_id).values(call_sid=None))
    with unit_of_work(hotline.sessions) as session:
        assert end_wrap_ups(utcnow(), session=session) == 1


def test_a_shift_lead_can_free_an_agent_held_in_wrap_up(twilio, hotline, agent_id):
    _in_wrap_up(twilio, hotline, agent_id)
    with unit_of_work(hotline.sessions) as session:
        set_agent_state(session, agent_id=agent_id, state="available", reason="", by="lead")
    assert _agent(hotline, agent_id).state == "available"
    with hotline.sessions() as session:
        last = session.scalars(select(AgentStateChange).order_by(AgentStateChange.id.desc())).first()
    assert (last.previous, last.state, last.by) == ("wrap_up", "available", "lead")


def test_an_order_moved_on_from_opened_still_shows_as_open(signed_in, twilio, hotline, agent_id):
    # The panel reads the stage, not the menu's coarse status.
    with unit_of_work(hotline.sessions) as session:
        order = open_work_order(session, kind="fault", caller_number=CALLER, source_key="t:moved")
    with unit_of_work(hotline.sessions) as session:
        move(session, number=order.number, to_stage="handed_over", actor=Actor("system"), reason="desk")
    sid = _call(twilio)
    _move(hotline, agent_id, "on_call", call_sid=sid)
    page = signed_in.get("/agent").get_data(as_text=True)
    assert order.number in page and "已转派 / Handed over" in page


def test_old_dispositions_go_with_the_call_records(hotline, agent_id):
    # The notes are about the caller: retention removes them when it removes the calls of that age.
    with unit_of_work(hotline.sessions) as session:
        for sid, days in (("CA-old-disposition", 900), ("CA-new-disposition", 100)):
            session.add(
                CallDisposition(
                    call_sid=sid,
                    agent_id=agent_id,
                    work_class="enquiry",
                    outcome="answered",
                    notes="客户说家里有老人 / an elderly person at home",
                    at=utcnow() - timedelta(days=days),
                )
            )
    remove_expired(hotline)
    assert [d.call_sid for d in _dispositions(hotline)] == ["CA-new-disposition"]
