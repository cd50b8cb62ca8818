"""Click-to-call from a work order's page, through the simulator: the user's phone rings first, then (once
they answer) the customer; the call and each status it reports are kept with the work order."""

from __future__ import annotations

from sqlalchemy import select

from ivr.db.models import WorkOrder, WorkOrderEvent
from ivr.db.session import unit_of_work
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.twilio_rest import TwilioTelephony
from ivr.work_orders import cases
from tests.e2e.conftest import HOTLINE_NUMBER, Phone
from tests.integration.test_desk_pages import add_user, csrf, login
from tests.integration.test_twilio_rest_down import _closed_port

AGENT_PHONE = "+8613700000001"  # 陈静's seat in the demo data
CUSTOMER = "+8613800000002"


def handled_order(hotline) -> str:
    """A handled order (the field result is in): the customer is owed the answer."""
    with unit_of_work(hotline.sessions) as session:
        order = cases.open_case(
            session,
            work_class="fault_repair",
            caller_number=CUSTOMER,
            actor=cases.SYSTEM,
            source_key="test:click-to-call",
            desk="field_crew",
        )
        cases.record_field_result(session, number=order.number, result="已更换调压阀", actor=cases.SYSTEM)
        return order.number


def order_events(hotline, number, kind=None):
    with hotline.sessions() as session:
        order_id = session.scalar(select(WorkOrder.id).where(WorkOrder.number == number))
        query = select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
        if kind:
            query = query.where(WorkOrderEvent.kind == kind)
        return [(event.kind, event.data) for event in session.scalars(query.order_by(WorkOrderEvent.id))]


def press_call(client, number):
    token = csrf(client.get(f"/work-orders/{number}").get_data(as_text=True))
    return client.post(f"/work-orders/{number}/call", data={"csrf_token": token})


def test_the_call_rings_the_user_then_the_customer_and_is_kept_with_the_order(app, hotline):
    line = Phone(app)
    hotline.telephony = SimulatorTelephony(line.simulator)
    line.simulator.callee_for(AGENT_PHONE, ScriptedCaller())  # the user picks up
    line.simulator.set_endpoint(CUSTOMER, ("answer", 40))  # and the customer answers the dial
    add_user(hotline, "chen", "agent", "agent-chenjing")
    client = login(app, "chen")
    number = handled_order(hotline)

    answer = press_call(client, number)
    assert answer.status_code == 302
    ((_, placed),) = order_events(hotline, number, "answer_call")
    assert placed["user_phone"] == AGENT_PHONE and placed["customer_phone"] == CUSTOMER
    (pending,) = line.simulator.pending_calls()
    assert pending.sid == placed["call_sid"]

    (result,) = line.simulator.run_pending_calls()
    assert not result.errors, result.errors
    assert result.to == AGENT_PHONE and result.from_ == HOTLINE_NUMBER  # the user's phone first
    assert result.dialled == [CUSTOMER]  # then the customer
    said = " ".join(entry.text for entry in result.transcript if entry.kind == "say")
    assert " ".join(number) in said  # the user hears which order, its digits one by one
    statuses = [
        (data["leg"], data["status"]) for _, data in order_events(hotline, number, "answer_call_status")
    ]
    assert ("customer", "completed") in statuses and ("user", "completed") in statuses
    assert all(
        data["call_sid"] == placed["call_sid"]
        for _, data in order_events(hotline, number, "answer_call_status")
    )

    page = client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert placed["call_sid"] in page and "customer: completed" in page


def test_a_customer_who_does_not_answer_is_kept_as_such(app, hotline):
    line = Phone(app)
    hotline.telephony = SimulatorTelephony(line.simulator)
    line.simulator.callee_for(AGENT_PHONE, ScriptedCaller())
    line.simulator.set_endpoint(CUSTOMER, "no-answer")
    add_user(hotline, "chen", "agent", "agent-chenjing")
    client = login(app, "chen")
    number = handled_order(hotline)

    assert press_call(client, number).status_code == 302
    (result,) = line.simulator.run_pending_calls()
    assert not result.errors, result.errors
    said = " ".join(entry.text for entry in result.transcript if entry.kind == "say")
    assert "客户未接听" in said
    statuses = [(d["leg"], d["status"]) for _, d in order_events(hotline, number, "answer_call_status")]
    assert ("customer", "no-answer") in statuses
    assert order_events(hotline, number)[-1][0] == "answer_call_status"
    # the answer can then be recorded as given another way
    token = csrf(client.get(f"/work-orders/{number}").get_data(as_text=True))
    answer = client.post(
        f"/work-orders/{number}/answer", data={"csrf_token": token, "channel": "sms", "answer": "已短信告知"}
    )
    assert answer.status_code == 302


def test_a_user_without_a_phone_is_told_so_and_nothing_is_placed(app, hotline):
    line = Phone(app)
    hotline.telephony = SimulatorTelephony(line.simulator)
    add_user(hotline, "lead-wang", "shift_lead")  # not linked to an agent: no phone
    client = login(app, "lead-wang")
    number = handled_order(hotline)

    html = client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert 'id="no-phone"' in html
    answer = press_call(client, number)
    assert answer.status_code == 422
    assert "has no phone to ring" in answer.get_data(as_text=True)
    assert line.simulator.pending_calls() == []
    assert order_events(hotline, number, "answer_call") == []


def test_a_signed_request_for_a_call_the_order_never_placed_dials_nobody(app, hotline, twilio):
    number = handled_order(hotline)
    answer = twilio.post(f"/voice/work-orders/answer-call?o={number}&l=zh-CN", call_sid="CA" + "f" * 32)
    assert answer.status_code == 200
    assert b"<Dial" not in answer.data and b"<Hangup" in answer.data
    status = twilio.post(
        f"/voice/work-orders/answer-call-status?o={number}",
        {"CallStatus": "completed"},
        call_sid="CA" + "f" * 32,
    )
    assert status.status_code == 200
    assert order_events(hotline, number, "answer_call_status") == []


def test_a_repeated_status_callback_is_kept_once(app, hotline, twilio):
    line = Phone(app)
    hotline.telephony = SimulatorTelephony(line.simulator)
    add_user(hotline, "chen", "agent", "agent-chenjing")
    client = login(app, "chen")
    number = handled_order(hotline)
    assert press_call(client, number).status_code == 302
    ((_, placed),) = order_events(hotline, number, "answer_call")
    for _ in range(2):  # Twilio retries a callback it got no answer to
        answer = twilio.post(
            f"/voice/work-orders/answer-call-status?o={number}&l=zh-CN",
            {"CallStatus": "busy", "CallDuration": "0"},
            call_sid=placed["call_sid"],
        )
        assert answer.status_code == 200
    assert len(order_events(hotline, number, "answer_call_status")) == 1


def test_twilio_unreachable_is_a_503_that_writes_nothing(app, hotline):
    add_user(hotline, "chen", "agent", "agent-chenjing")
    client = login(app, "chen")
    number = handled_order(hotline)
    with TwilioTelephony("AC" + "0" * 32, "token", api_base_url=f"http://127.0.0.1:{_closed_port()}") as down:
        hotline.telephony = down
        answer = press_call(client, number)
    assert answer.status_code == 503
    assert "The call could not be placed" in answer.get_data(as_text=True)
    assert order_events(hotline, number, "answer_call") == []
