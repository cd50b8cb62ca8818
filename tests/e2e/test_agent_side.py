"""The agent's side end to end (issue 16): a caller reports a fault from the menu; on their next call the
agent sees that order and the earlier call, attaches the call to the order, and only then does wrap-up end."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ivr.db.models import Agent, WorkOrder, WorkOrderEvent, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch, end_wrap_ups
from ivr.people.users import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import HOTLINE_NUMBER, Phone

CALLER = "+8613800000003"  # 张伟餐馆, account 10000003


def test_the_agent_sees_the_order_from_the_menu_on_the_next_call_and_attaches_the_call(app, hotline):
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    with unit_of_work(hotline.sessions) as session:
        session.execute(update(Agent).values(state="offline"))
        chen_row = update(Agent).where(Agent.name == "陈静")
        session.execute(chen_row.values(state="available", idle_since=utcnow()))
        chen = session.scalar(select(Agent.id).where(Agent.name == "陈静"))
        _, token = create_user(session, username="chen", role="agent", password="long secret", agent_id=chen)
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}

    # 1. The fault is reported from the menu (3 repair, 1 report a fault): the menu opens the order.
    report = phone.call("3", "1", caller=CALLER)
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == report.call_sid))
    assert order is not None and order.stage == "opened"

    # 2. The caller calls again and asks for a person (1 billing, 0 an agent); the dispatcher connects 陈静.
    call = phone.simulator.start_call(CALLER, HOTLINE_NUMBER, ScriptedCaller(["1", "0"], max_queue_loops=50))
    assert call.run_until_waiting()
    assert [offer.agent_id for offer in dispatch(hotline)] == [chen]
    second = call.run()
    assert not second.errors, second.errors

    # 3. In wrap-up, the panel (here through the agent API) shows the order and the call that opened it.
    caller = api.get("/api/agent/me", headers=bearer).get_json()["caller"]
    assert caller["call_sid"] == second.call_sid and caller["customer"]["account_number"] == "10000003"
    assert order.number in [shown["number"] for shown in caller["work_orders"]]
    assert report.call_sid in [past["call_sid"] for past in caller["past_calls"]]
    assert caller["disposition_needed"] is True

    # 4. Wrap-up's time passes: still held until the disposition.
    later = utcnow() + timedelta(minutes=5)
    assert end_wrap_ups(hotline, later) == 0
    attached = api.post(
        "/api/agent/disposition",
        json={
            "work_class": "fault_repair",
            "outcome": "attached",
            "work_order_number": order.number,
            "notes": "催问维修时间 / asked when the crew comes",
        },
        headers=bearer,
    )
    assert attached.status_code == 201, attached.get_json()
    with hotline.sessions() as session:
        note = session.scalars(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id).order_by(WorkOrderEvent.id)
        ).all()[-1]
    assert note.kind == "note" and second.call_sid in note.reason and note.actor == "chen"
    assert end_wrap_ups(hotline, later) == 1
    with hotline.sessions() as session:
        assert session.get(Agent, chen).state == "available"
