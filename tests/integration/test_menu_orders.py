"""Complaints and after-hours messages from the menu become work orders; the caller hears the real due time.

Through signed webhooks (tests/helpers.py SignedClient) on SQLite and PostgreSQL; whole calls in
tests/e2e/test_menu_orders.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from ivr.app import create_app
from ivr.calls.trial_call import TEST_CALL_SID, TestCallInput, walk_test_call
from ivr.configuration.menus.validation import load_menu_file
from ivr.db.models import Call, Customer, WorkOrder, WorkOrderTimer
from ivr.events import kinds
from ivr.work_orders.deadline_rules import load_deadlines_file, validate_deadlines
from ivr.work_orders.menu_orders import promise
from tests.helpers import SignedClient, action_of, new_call_sid, spoken, twiml

CALLER = "+8613800000001"  # a demo customer
# Tuesday 8 December 2026, 22:32 in Shanghai: the complaints and field-crew desks are closed until 08:00.
LATE_EVENING = datetime(2026, 12, 8, 14, 32)  # naive UTC
NEXT_NOON = datetime(2026, 12, 9, 4, 0)  # Wednesday 12:00 in Shanghai, naive UTC


def _at(hotline: Any, moment: datetime) -> None:
    hotline.clock = lambda: moment.replace(tzinfo=UTC).timestamp()


def _walk(twilio: Any, call_sid: str, *keys: str, caller: str = CALLER) -> Any:
    """Start a call and key each input at the next Gather; the last TwiML."""
    root = twiml(twilio.post("/voice/incoming", call_sid=call_sid, caller=caller))
    for key in keys:
        root = twiml(twilio.post(action_of(root), {"Digits": key}, call_sid=call_sid, caller=caller))
    return root


def _queue(root: Any) -> str | None:
    """The queue an answer puts the caller in."""
    enqueue = root.find("Enqueue")
    return None if enqueue is None else enqueue.text


def _orders(hotline: Any, call_sid: str) -> list[WorkOrder]:
    with hotline.sessions() as session:
        return list(session.scalars(select(WorkOrder).where(WorkOrder.call_sid == call_sid)))


def _call(hotline: Any, call_sid: str) -> Any:
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        assert call is not None
        return call


def test_a_quality_complaint_at_22_32_is_due_at_noon_the_next_working_day_and_the_caller_hears_it(
    twilio: Any, hotline: Any
) -> None:
    _at(hotline, LATE_EVENING)
    sid = new_call_sid()
    root = _walk(twilio, sid, "4", "2")
    said = spoken(root)
    assert _queue(root) == "complaint"
    assert "明天12:00前转交维修部门" in said and "4小时内" not in said
    [order] = _orders(hotline, sid)
    assert order.work_class == "quality_complaint" and order.kind == "complaint"
    assert order.desk == "field_crew" and order.caller_number == CALLER and order.stage == "opened"
    assert order.created_at == LATE_EVENING
    assert order.promised_by == NEXT_NOON and order.due_at == NEXT_NOON  # not 02:32
    with hotline.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.phone == CALLER))
        timer = session.scalar(select(WorkOrderTimer).where(WorkOrderTimer.work_order_id == order.id))
    assert order.customer_id == customer.id
    assert timer.kind == "handover" and timer.due_at == NEXT_NOON
    call = _call(hotline, sid)
    assert call.complaint_class == "quality" and call.reply_due_at == NEXT_NOON


def test_an_english_caller_hears_the_due_time_in_english(twilio: Any, hotline: Any) -> None:
    _at(hotline, LATE_EVENING)
    root = _walk(twilio, new_call_sid(), "9", "4", "2")
    assert "to the field crew by 12:00 tomorrow" in spoken(root)


def test_a_quality_complaint_in_the_morning_is_due_today(twilio: Any, hotline: Any) -> None:
    _at(hotline, datetime(2026, 12, 8, 1, 15))  # Tuesday 09:15 in Shanghai: 4 working hours -> 13:15
    sid = new_call_sid()
    assert "今天13:15前" in spoken(_walk(twilio, sid, "4", "2"))
    assert _orders(hotline, sid)[0].promised_by == datetime(2026, 12, 8, 5, 15)


def test_a_service_complaint_is_answered_within_24_hours_round_the_clock(twilio: Any, hotline: Any) -> None:
    _at(hotline, LATE_EVENING)
    sid = new_call_sid()
    said = spoken(_walk(twilio, sid, "4", "1"))
    assert "明天22:32前核实" in said
    [order] = _orders(hotline, sid)
    due = LATE_EVENING + timedelta(hours=24)  # the answer deadline runs from the opening, round the clock
    assert order.work_class == "service_complaint" and order.desk == "complaints"
    assert order.promised_by == due and _call(hotline, sid).reply_due_at == due


def test_a_complaint_two_days_off_names_the_date(twilio: Any, hotline: Any) -> None:
    _at(hotline, datetime(2026, 12, 12, 14, 32))  # Saturday 22:32; the field crew is closed on Sunday
    sid = new_call_sid()
    assert "12月14日12:00前" in spoken(_walk(twilio, sid, "4", "2"))
    assert _orders(hotline, sid)[0].promised_by == datetime(2026, 12, 14, 4, 0)


def test_a_retried_complaint_webhook_opens_one_order(twilio: Any, hotline: Any) -> None:
    _at(hotline, LATE_EVENING)
    sid = new_call_sid()
    menu = _walk(twilio, sid, "4")
    first = twiml(twilio.post(action_of(menu), {"Digits": "2"}, call_sid=sid, caller=CALLER))
    # Twilio retries the same request
    again = twiml(twilio.post(action_of(menu), {"Digits": "2"}, call_sid=sid, caller=CALLER))
    assert spoken(first) == spoken(again) and _queue(again) == "complaint"
    assert len(_orders(hotline, sid)) == 1


def test_with_the_database_away_the_caller_hears_the_menu_s_hours_and_the_replay_opens_the_order(
    outage_hotline: Any,
) -> None:
    hotline, outage = outage_hotline
    twilio = SignedClient(create_app(hotline=hotline))
    _at(hotline, LATE_EVENING)
    sid = new_call_sid()
    menu = _walk(twilio, sid, "4")
    outage.stop()
    try:
        root = twiml(twilio.post(action_of(menu), {"Digits": "2"}, call_sid=sid, caller=CALLER))
    finally:
        outage.start()
    assert _queue(root) == "complaint"
    assert "4小时内转交维修部门" in spoken(root)  # the rules were unknown: the menu's own words
    assert _orders(hotline, sid) == []
    assert hotline.spool.replay(hotline.sessions) >= 1
    [order] = _orders(hotline, sid)
    assert order.work_class == "quality_complaint" and order.source_key == f"complaint:{sid}"
    assert order.promised_by is not None and _call(hotline, sid).reply_due_at == order.promised_by


def test_an_after_hours_message_becomes_an_enquiry_order_with_its_recording(
    twilio: Any, hotline: Any
) -> None:
    sid = new_call_sid()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "1" * 32
    params = {"RecordingUrl": url, "RecordingSid": "RE" + "1" * 32, "RecordingDuration": "8"}
    for _ in range(2):  # Twilio retries: one order
        root = twiml(twilio.post("/voice/voicemail?l=zh-CN", params, call_sid=sid, caller=CALLER))
        assert "您的留言已收到" in spoken(root)
    [order] = _orders(hotline, sid)
    assert order.work_class == "enquiry" and order.kind == "message" and order.desk == "business"
    assert url in order.description and order.caller_number == CALLER and order.due_at is not None


def test_a_caller_sent_to_the_message_who_leaves_none_is_owed_a_call_back_order(
    twilio: Any, hotline: Any
) -> None:
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/voicemail?l=zh-CN", {}, call_sid=sid, caller=CALLER))
    assert root.find("Hangup") is not None
    [order] = _orders(hotline, sid)
    assert order.work_class == "enquiry" and "left none" in order.description


def test_a_spooled_after_hours_message_opens_its_order_on_replay_and_a_storm_message_none(
    hotline: Any,
) -> None:
    after_hours, storm = new_call_sid(), new_call_sid()
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE" + "2" * 32
    hotline.spool.put(
        [
            kinds.Voicemail(from_=CALLER, recording_url=url).record(call_sid=after_hours, request_id="r1"),
            kinds.Voicemail(from_=CALLER, recording_url=url, storm=True).record(
                call_sid=storm, request_id="r1"
            ),
        ]
    )
    assert hotline.spool.replay(hotline.sessions) == 2
    [order] = _orders(hotline, after_hours)
    assert order.work_class == "enquiry" and url in order.description
    assert _orders(hotline, storm) == []


def test_the_promise_is_the_answer_deadline_from_the_opening_else_the_first_that_starts_there() -> None:
    rules = validate_deadlines(load_deadlines_file())
    service = promise(rules, "service_complaint", LATE_EVENING)  # answer: 24 h round the clock
    quality = promise(rules, "quality_complaint", LATE_EVENING)  # answer starts at handled: the handover
    assert service is not None and service.due_at == LATE_EVENING + timedelta(hours=24)
    assert quality is not None and quality.due_at == NEXT_NOON and quality.timezone == "Asia/Shanghai"
    assert promise(rules, "installation", LATE_EVENING) is None  # nothing runs from the opening


def test_the_console_s_trial_call_says_the_due_time_as_a_live_call_does(hotline: Any) -> None:
    document = load_menu_file()
    state = walk_test_call(hotline.sessions, document, TestCallInput(state=None, language="zh-CN"))["state"]
    state = walk_test_call(hotline.sessions, document, TestCallInput(state=state, digits="4"))["state"]
    trial = walk_test_call(hotline.sessions, document, TestCallInput(state=state, digits="2"))
    said = " ".join(item["text"] for item in trial["said"])
    assert trial["next"]["kind"] == "queue" and "4小时内" not in said
    assert re.search(r"(今天|明天|\d+月\d+日)\d+:\d\d前转交维修部门", said), said
    with hotline.sessions() as session:
        assert session.scalar(select(WorkOrder).where(WorkOrder.call_sid == TEST_CALL_SID)) is None
