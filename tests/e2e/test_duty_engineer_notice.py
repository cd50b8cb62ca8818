"""A safety work order past its deadline: the duty engineer's phone is called once, through the simulator,
and hears which order is late and where (the spoken notice is a signed webhook of the app)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ivr.db.models import WorkOrder, WorkOrderEvent
from ivr.db.session import unit_of_work
from ivr.jobs import tasks
from ivr.telephony.base import TelephonyError
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.work_orders import cases

DUTY = "+8613900000000"
OPENED = datetime(2026, 12, 7, 2, 0)  # 10:00 in Shanghai


def open_order(hotline, work_class: str, key: str) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        order = cases.open_case(
            session,
            work_class=work_class,
            caller_number="+8613800000555",
            actor=cases.SYSTEM,
            source_key=key,
            address="幸福路 8 号",
            now=OPENED,
        )
        return order.number


def events(hotline, number: str, kind: str) -> list[WorkOrderEvent]:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        order_id = session.scalar(select(WorkOrder.id).where(WorkOrder.number == number))
        query = select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
        return list(session.scalars(query.where(WorkOrderEvent.kind == kind)))


def test_the_duty_engineer_is_called_once_for_a_late_gas_leak(app, hotline, phone):
    hotline.telephony = SimulatorTelephony(phone.simulator)
    phone.simulator.callee_for(DUTY, ScriptedCaller([]))
    leak = open_order(hotline, "gas_leak", "leak-1")
    repair = open_order(hotline, "fault_repair", "repair-1")  # not safety work: nobody is phoned for it

    warned = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=46))
    assert warned.warned == 2 and warned.duty_calls == [], "a warning calls nobody"
    late = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=61))
    assert late.escalated == 2 and len(late.duty_calls) == 1
    for minutes in (62, 75, 95, 180):  # later sweeps, the supervisor step among them: no second call
        later = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=minutes))
        assert later.duty_calls == []

    placed = hotline.telephony.calls_placed(to=DUTY, since=datetime(2000, 1, 1))
    assert [call.sid for call in placed] == late.duty_calls
    [call] = phone.simulator.run_pending_calls()
    assert not call.errors, call.errors
    spoken = call.spoken()
    assert "热线值班提醒：安全工单" in spoken and " ".join(leak) in spoken and "幸福路 8 号" in spoken
    [called] = events(hotline, leak, "duty_engineer_called")
    assert called.data["call_sid"] == late.duty_calls[0]
    assert events(hotline, repair, "duty_engineer_called") == []
    assert len(events(hotline, leak, "escalated_to_supervisor")) == 1


def test_a_refused_duty_call_is_tried_again_on_a_later_sweep(app, hotline, phone):
    hotline.telephony = SimulatorTelephony(phone.simulator)
    phone.simulator.callee_for(DUTY, ScriptedCaller([]))
    leak = open_order(hotline, "safety_complaint", "leak-2")
    refused = FailingOnce(hotline.telephony)
    hotline.telephony = refused
    first = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=61))
    assert first.escalated == 1 and first.duty_calls == [] and first.duty_calls_failed == 1
    soon = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=61, seconds=30))
    assert soon.duty_calls == [], "tried again a minute later, not at every sweep"
    second = tasks.sweep_work_order_timers(hotline, now=OPENED + timedelta(minutes=62, seconds=5))
    assert len(second.duty_calls) == 1 and second.escalated == 0
    assert len(events(hotline, leak, "duty_call_failed")) == 1
    assert len(events(hotline, leak, "escalated")) == 1


class FailingOnce:
    """The simulator's telephony whose first create_call the provider refuses (as Twilio may, with a 503);
    the simulator itself has no switch for that."""

    def __init__(self, inner: SimulatorTelephony) -> None:
        self.inner = inner
        self.refused = False

    def create_call(self, **kwargs):  # type: ignore[no-untyped-def]
        if not self.refused:
            self.refused = True
            raise TelephonyError("service unavailable", status=503)
        return self.inner.create_call(**kwargs)
