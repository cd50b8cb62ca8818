"""A work order's whole story end to end (issue 16): a caller reports a fault from the menu; on their next
call the agent sees that order and the earlier call, attaches the call to the order, and only then does
wrap-up end; the crew's result, the answer and the close come through the REST API; the closed field order
is the completion whose satisfaction call-back is scheduled 3 days later."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from ivr.db.models import Agent, CallbackJob, ServiceCompletion, WorkOrder, WorkOrderEvent, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs import scheduler
from ivr.jobs.tasks import dispatch, end_wrap_ups
from ivr.people.user_admin import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import HOTLINE_NUMBER, Phone

CALLER = "+8613800000003"  # 张伟餐馆, account 10000003
SHANGHAI = timedelta(hours=8)


def test_a_fault_from_the_menu_is_seen_by_the_agent_closed_through_the_api_and_called_back(app, hotline):
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

    # 5. The utility's field system reports through the REST API: crew sent, result, answer, close.
    with unit_of_work(hotline.sessions) as session:
        _, crm = create_user(session, username="crm", role="supervisor", password="correct horse battery")
    for path, body in [
        ("stage", {"stage": "in_progress", "reason": "crew sent"}),
        ("field-result", {"result": "燃气灶点火器已更换 / igniter replaced"}),
        ("answer", {"channel": "phone", "answer": "已修好 / fixed"}),
        ("close", {}),
    ]:
        done = api.post(
            f"/api/work-orders/{order.number}/{path}", json=body, headers={"Authorization": f"Bearer {crm}"}
        )
        assert done.status_code == 200, (path, done.get_json())
    with hotline.sessions() as session:
        closed = session.get(WorkOrder, order.id)
        completion = session.scalar(
            select(ServiceCompletion).where(ServiceCompletion.external_id == order.number)
        )
    assert closed.stage == "closed" and closed.due_at is None  # no deadline runs once it is answered
    assert completion is not None and completion.customer_phone == CALLER

    # 6. The next draw schedules the satisfaction call-back on the third local day after the work (a day
    # with fewer than 20 free repairs calls every one back: the policy's min_cases_for_sampling).
    assert scheduler.draw_callbacks(hotline, completion.completed_at + timedelta(days=1)) >= 1
    with hotline.sessions() as session:
        job = session.scalar(select(CallbackJob).where(CallbackJob.completion_id == completion.id))
    assert job is not None and job.status == "queued" and job.phone == CALLER
    assert (job.due_at + SHANGHAI).date() == (completion.completed_at + SHANGHAI).date() + timedelta(days=3)
