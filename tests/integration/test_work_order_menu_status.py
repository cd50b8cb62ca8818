"""The phone menu's "order status" reads the live work order (issue 16): its stage in words and the promised
time in the desk's zone, through signed webhooks, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from ivr.db.models import WorkOrder, utcnow
from ivr.db.session import unit_of_work
from ivr.work_orders import cases
from tests.helpers import action_of, new_call_sid, spoken, twiml

CALLER = "+8613800000001"
CREW = cases.Actor("crew-lead")


def menu_says(twilio, number):  # type: ignore[no-untyped-def]
    """What a caller hears after keying 3 (repair), 2 (status) and the order's number."""
    root = twiml(twilio.post("/voice/incoming", call_sid=(sid := new_call_sid()), caller=CALLER))
    for digits in ("3", "2", f"{number}#"):
        root = twiml(twilio.post(action_of(root), {"Digits": digits}, call_sid=sid, caller=CALLER))
    return spoken(root)


def shanghai(moment: datetime) -> str:
    """How the zh-CN prompt says a naive-UTC moment: 月 日 点 分, Shanghai time."""
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{local.month}月{local.day}日{local.hour}点{local.minute:02d}分前"


def set_times(hotline, number, *, promised_by, due_at):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        session.execute(
            update(WorkOrder).where(WorkOrder.number == number).values(promised_by=promised_by, due_at=due_at)
        )


def test_the_menu_speaks_the_live_stage_and_the_promised_time(hotline, twilio):
    promised = (utcnow() + timedelta(hours=5)).replace(second=0, microsecond=0)
    with unit_of_work(hotline.sessions) as session:
        number = cases.open_case(
            session,
            work_class="fault_repair",
            caller_number=CALLER,
            actor=cases.SYSTEM,
            source_key="menu-status-1",
            desk="field_crew",
            promised_by=promised,
        ).number
    said = menu_says(twilio, number)
    assert "已登记，正在转交处理部门" in said and shanghai(promised) in said

    with unit_of_work(hotline.sessions) as session:
        cases.move(session, number=number, to_stage="in_progress", actor=CREW)
    said = menu_says(twilio, number)
    assert "正在处理中，技术人员已派出" in said and shanghai(promised) in said

    with unit_of_work(hotline.sessions) as session:
        cases.record_field_result(session, number=number, result="igniter replaced", actor=CREW)
    said = menu_says(twilio, number)
    assert "已处理，我们会致电告知您处理结果" in said and "预计" not in said

    with unit_of_work(hotline.sessions) as session:
        cases.record_answer(session, number=number, channel="phone", answer="fixed", actor=CREW)
    assert "已处理完成" in menu_says(twilio, number)


def test_a_reopened_order_speaks_its_running_deadline_and_a_passed_promise_is_owned_up_to(hotline, twilio):
    with unit_of_work(hotline.sessions) as session:
        number = cases.open_case(
            session,
            work_class="quality_complaint",
            caller_number=CALLER,
            actor=cases.SYSTEM,
            source_key="menu-status-2",
            desk="field_crew",
        ).number
        cases.record_field_result(session, number=number, result="meter checked", actor=CREW)
        cases.record_answer(session, number=number, channel="phone", answer="meter fine", actor=CREW)
        cases.reopen(session, number=number, actor=CREW, reason="customer disagrees")
    past = utcnow() - timedelta(hours=30)
    due = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    set_times(hotline, number, promised_by=past, due_at=due)
    said = menu_says(twilio, number)
    assert "已重新受理" in said and shanghai(due) in said  # the first promise is over: the live deadline

    set_times(hotline, number, promised_by=past, due_at=past)
    said = menu_says(twilio, number)
    assert "已超过承诺时间" in said and "预计" not in said

    set_times(hotline, number, promised_by=None, due_at=None)
    assert "已受理，处理完成后我们会与您联系" in menu_says(twilio, number)
    with unit_of_work(hotline.sessions) as session:
        cases.move(session, number=number, to_stage="in_progress", actor=CREW)
    set_times(hotline, number, promised_by=None, due_at=None)
    assert "正在处理中，技术人员已派出，处理完成后" in menu_says(twilio, number)


def test_an_unknown_number_is_still_not_found(twilio):
    assert "没有找到这个工单号码" in menu_says(twilio, "9999999")
