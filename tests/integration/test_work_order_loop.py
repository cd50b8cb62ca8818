"""Closing the loop (issue 16) on SQLite and PostgreSQL: a closed field work order becomes a service
completion the call-back draw schedules 3 days later; a low score of that call-back opens a follow-up work
order for the employee's manager, once per survey response."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from ivr.db.models import CallbackJob, Customer, FollowUpCase, ServiceCompletion, WorkOrder, WorkOrderEvent
from ivr.db.session import unit_of_work
from ivr.jobs import scheduler
from ivr.people.user_admin import create_user
from ivr.surveys import responses
from ivr.surveys.follow_up_orders import source_key
from ivr.work_orders import cases
from ivr.work_orders.field_completions import SOURCE
from tests.helpers import action_of, new_call_sid, spoken, twiml

SHANGHAI = timedelta(hours=8)
CREW = cases.Actor("crew-lead", None)
CALLER = "+8613800000123"


def local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the naive UTC the database holds."""
    return datetime(day.year, day.month, day.day, hour, minute) - SHANGHAI


def closed_order(hotline, work_class, day, *, key, result_data=None, close=True):  # type: ignore[no-untyped-def]
    """A work order of `work_class` taken at 09:00 local on `day` for the crew, handled at 10:00,
    answered at 11:00 and (unless told) closed at 11:30; returns its number."""
    with unit_of_work(hotline.sessions) as session:
        order = cases.open_case(
            session,
            work_class=work_class,
            caller_number=CALLER,
            actor=cases.SYSTEM,
            source_key=key,
            description="boiler does not ignite",
            desk="field_crew",
            now=local(day, 9),
        )
        number = order.number
        cases.move(session, number=number, to_stage="in_progress", actor=CREW, now=local(day, 9, 5))
        cases.record_field_result(
            session,
            number=number,
            result="igniter replaced",
            actor=CREW,
            data=result_data,
            now=local(day, 10),
        )
        cases.record_answer(
            session, number=number, channel="phone", answer="fixed", actor=CREW, now=local(day, 11)
        )
        if close:
            cases.close(session, number=number, actor=CREW, now=local(day, 11, 30))
    return number


def completions_of(hotline, number):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        rows = session.scalars(
            select(ServiceCompletion).where(
                ServiceCompletion.source == SOURCE, ServiceCompletion.external_id == number
            )
        ).all()
        for row in rows:
            session.expunge(row)
        return rows


def test_closing_a_fault_order_makes_a_completion_the_draw_calls_back_3_days_later(hotline):
    day = date(2026, 3, 20)
    number = closed_order(hotline, "fault_repair", day, key="loop-1")
    [completion] = completions_of(hotline, number)
    assert completion.service_type == "free_repair"
    assert completion.completed_at == local(day, 10)  # handled, not closed: the work's own time
    assert completion.customer_phone == CALLER and completion.employee == "crew-lead"

    assert scheduler.draw_callbacks(hotline, local(day + timedelta(days=1), 0, 5)) >= 1
    with hotline.sessions() as session:
        job = session.scalar(select(CallbackJob).where(CallbackJob.completion_id == completion.id))
    assert job is not None and job.status == "queued" and job.phone == CALLER
    assert (job.due_at + SHANGHAI).date() == day + timedelta(days=3)


def test_the_service_type_follows_the_class_and_the_field_result(hotline):
    day = date(2026, 3, 20)
    leak = closed_order(hotline, "gas_leak", day, key="loop-leak")
    paid = closed_order(
        hotline, "fault_repair", day, key="loop-paid", result_data={"amount_charged": "80.00"}
    )
    brand = closed_order(
        hotline,
        "fault_repair",
        day,
        key="loop-brand",
        result_data={"service_type": "appliance_install_repair"},
    )
    assert completions_of(hotline, leak)[0].service_type == "leak_repair"
    assert completions_of(hotline, paid)[0].service_type == "paid_repair"
    assert str(completions_of(hotline, paid)[0].amount_charged) == "80.00"
    assert completions_of(hotline, brand)[0].service_type == "appliance_install_repair"


def test_desk_work_and_an_order_not_closed_make_no_completion(hotline):
    day = date(2026, 3, 20)
    enquiry = closed_order(hotline, "enquiry", day, key="loop-enquiry")
    answered = closed_order(hotline, "meter_fault", day, key="loop-open", close=False)
    assert completions_of(hotline, enquiry) == []
    assert completions_of(hotline, answered) == []


def test_a_reopened_order_closed_again_keeps_one_completion_refreshed_until_drawn(hotline):
    day = date(2026, 3, 20)
    number = closed_order(hotline, "fault_repair", day, key="loop-again")
    with unit_of_work(hotline.sessions) as session:
        cases.reopen(session, number=number, actor=CREW, reason="still cold", now=local(day, 12))
        cases.move(session, number=number, to_stage="in_progress", actor=CREW, now=local(day, 13))
        cases.record_field_result(session, number=number, result="valve", actor=CREW, now=local(day, 14))
        cases.record_answer(
            session, number=number, channel="phone", answer="ok", actor=CREW, now=local(day, 15)
        )
        cases.close(session, number=number, actor=CREW, now=local(day, 15, 30))
    [completion] = completions_of(hotline, number)
    assert completion.completed_at == local(day, 14)  # the final work, not the first visit

    scheduler.draw_callbacks(hotline, local(day + timedelta(days=1), 0, 5))
    with unit_of_work(hotline.sessions) as session:  # decided by the draw: a third close changes nothing
        later = day + timedelta(days=1)
        cases.reopen(session, number=number, actor=CREW, reason="again", now=local(later, 9))
        cases.move(session, number=number, to_stage="in_progress", actor=CREW, now=local(later, 10))
        cases.record_field_result(session, number=number, result="x", actor=CREW, now=local(later, 11))
        cases.record_answer(
            session, number=number, channel="sms", answer="ok", actor=CREW, now=local(later, 12)
        )
        cases.close(session, number=number, actor=CREW, now=local(later, 13))
    [same] = completions_of(hotline, number)
    assert same.id == completion.id and same.completed_at == local(day, 14)


def answer_survey(hotline, completion_id, call_sid, scores):  # type: ignore[no-untyped-def]
    """The call-back of the completion answered with these (question index, value) answers."""
    with unit_of_work(hotline.sessions) as session:
        job = session.scalar(select(CallbackJob).where(CallbackJob.completion_id == completion_id))
        assert job is not None
        assert responses.begin(session, job.id, call_sid, "Asia/Shanghai")
        for index, value in scores:
            responses.save_answer(session, job.id, call_sid, responses.QUESTIONS[index], value)
        return job.id


def follow_up_orders(hotline):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        rows = session.scalars(select(WorkOrder).where(WorkOrder.source_key.like("survey-response:%"))).all()
        for row in rows:
            session.expunge(row)
        return rows


def test_a_low_score_opens_one_follow_up_order_for_the_manager_s_desk(hotline):
    day = date(2026, 3, 20)
    number = closed_order(hotline, "fault_repair", day, key="loop-survey")
    [completion] = completions_of(hotline, number)
    scheduler.draw_callbacks(hotline, local(day + timedelta(days=1), 0, 5))
    job_id = answer_survey(hotline, completion.id, "CA-SURVEY-LOW", [(0, 4)])

    [order] = follow_up_orders(hotline)
    assert order.work_class == "service_complaint" and order.caller_number == CALLER
    assert order.desk == "field_crew" and order.stage == "handed_over"  # the crew's lead accepts it
    assert "attitude 4" in order.description and "crew-lead" in order.description
    assert number in order.description

    with unit_of_work(hotline.sessions) as session:  # Twilio retries the same answer; then ability is low too
        responses.save_answer(session, job_id, "CA-SURVEY-LOW", responses.QUESTIONS[0], 4)
        responses.save_answer(session, job_id, "CA-SURVEY-LOW", responses.QUESTIONS[1], 3)
    [same] = follow_up_orders(hotline)
    assert same.id == order.id
    with hotline.sessions() as session:
        notes = session.scalars(
            select(WorkOrderEvent.reason).where(
                WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == "note"
            )
        ).all()
        response_id = session.scalar(select(FollowUpCase.response_id))
        assert notes == [f"low satisfaction score now attitude 4, ability 3 (survey response #{response_id})"]
        assert same.source_key == source_key(response_id)


def test_a_good_score_opens_nothing_and_a_hotline_call_s_low_score_goes_to_complaints(hotline):
    day = date(2026, 3, 20)
    number = closed_order(hotline, "fault_repair", day, key="loop-good")
    [completion] = completions_of(hotline, number)
    scheduler.draw_callbacks(hotline, local(day + timedelta(days=1), 0, 5))
    answer_survey(hotline, completion.id, "CA-SURVEY-GOOD", [(0, 9), (1, 8)])
    assert follow_up_orders(hotline) == []

    with unit_of_work(hotline.sessions) as session:
        other = ServiceCompletion(
            source="field",
            external_id="CSV-9",
            service_type="paid_repair",
            completed_at=local(day, 10),
            customer_phone="+8613800000456",
            customer_language="zh-CN",
            employee="王师傅",
        )
        session.add(other)
        session.flush()
        other_id = other.id
    scheduler.draw_callbacks(hotline, local(day + timedelta(days=1), 0, 20))
    answer_survey(hotline, other_id, "CA-SURVEY-CSV", [(1, 2)])
    [order] = follow_up_orders(hotline)
    assert order.desk == "complaints"  # no work order of ours: the service complaints' desk
    with hotline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FollowUpCase)) == 1


def test_a_fault_from_the_menu_closed_through_the_api_is_called_back_3_days_later(hotline, app, twilio):
    """The loop end to end: the caller reports a fault on the phone menu (signed webhooks), the crew's
    result, the answer and the close come through the REST API, the draw schedules the call-back."""
    root = twiml(twilio.post("/voice/incoming", call_sid=(sid := new_call_sid()), caller=CALLER))
    for digits in ("3", "1"):  # repair, report a fault
        root = twiml(twilio.post(action_of(root), {"Digits": digits}, call_sid=sid, caller=CALLER))
    assert "已为您登记报修" in spoken(root)
    with hotline.sessions() as session:
        number = session.scalar(select(WorkOrder.number).where(WorkOrder.call_sid == sid))
    assert number is not None

    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username="crm", role="supervisor", password="correct horse battery")
    api, auth = app.test_client(), {"Authorization": f"Bearer {token}"}
    steps = [
        ("stage", {"stage": "in_progress", "reason": "crew sent"}),
        ("field-result", {"result": "igniter replaced", "data": {"amount_charged": "50"}}),
        ("answer", {"channel": "phone", "answer": "fixed, 50 yuan"}),
        ("close", {}),
    ]
    for path, body in steps:
        assert api.post(f"/api/work-orders/{number}/{path}", json=body, headers=auth).status_code == 200
    [completion] = completions_of(hotline, number)
    assert (completion.service_type, completion.employee) == ("paid_repair", "api:crm")

    handled = completion.completed_at
    assert scheduler.draw_callbacks(hotline, handled + timedelta(days=1)) >= 1
    with hotline.sessions() as session:
        job = session.scalar(select(CallbackJob).where(CallbackJob.completion_id == completion.id))
    assert job is not None and job.status == "queued"
    assert (job.due_at + SHANGHAI).date() == (handled + SHANGHAI).date() + timedelta(days=3)


def test_an_order_of_a_known_customer_closed_in_a_later_transaction_makes_its_completion(hotline):
    # The customer is read when the order closes, not when it was opened: that read must not flush a
    # completion still being filled in (it did: NOT NULL service_type).
    with unit_of_work(hotline.sessions) as session:
        customer = session.scalar(select(Customer).where(Customer.account_number == "10000002"))
        number = cases.open_case(
            session,
            work_class="meter_fault",
            caller_number="",
            customer=customer,
            actor=cases.SYSTEM,
            source_key="loop-customer",
            desk="field_crew",
        ).number
        cases.move(session, number=number, to_stage="in_progress", actor=CREW)
        cases.record_field_result(session, number=number, result="meter swapped", actor=CREW)
        cases.record_answer(session, number=number, channel="phone", answer="swapped", actor=CREW)
    with unit_of_work(hotline.sessions) as session:
        cases.close(session, number=number, actor=CREW)
    [completion] = completions_of(hotline, number)
    assert completion.service_type == "free_repair" and completion.customer_phone == "+8613800000002"
