"""Whole simulated calls: a complaint and an after-hours message each leave a work order behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ivr.configuration.rules.store import RulesCache, publish_rules
from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file
from ivr.db.models import Call, WorkOrder, utcnow
from ivr.telephony.sim_clock import SimClock
from tests.e2e.conftest import Phone

CALLER = "+8613800000002"


def _order_and_call(hotline: Any, call_sid: str) -> tuple[Any, Any]:
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == call_sid))
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    return order, call


def test_a_quality_complaint_called_in_at_22_32_hears_noon_tomorrow(app: Any, hotline: Any) -> None:
    # Tuesday 8 December 2026, 22:32 in Shanghai; the server's clock runs on the simulated time.
    phone = Phone(app, clock=SimClock(datetime(2026, 12, 8, 14, 32, tzinfo=UTC)))  # type: ignore[no-untyped-call]
    result = phone.call("4", "2", caller=CALLER)
    assert not result.errors and result.final_queue == "complaint"
    assert "明天12:00前转交维修部门" in result.spoken()
    order, call = _order_and_call(hotline, result.call_sid)
    noon = datetime(2026, 12, 9, 4, 0)  # 12:00 in Shanghai: 4 working hours from 08:00
    assert order.work_class == "quality_complaint" and order.caller_number == CALLER
    assert order.due_at == noon and order.promised_by == noon and call.reply_due_at == noon


def test_a_message_left_after_hours_becomes_an_enquiry_order_with_the_recording(
    app: Any, hotline: Any
) -> None:
    document = load_rules_file(DEFAULT_RULES_FILE)
    today = utcnow().replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    document["groups"]["billing"]["holidays"] = [str(today), str(today + timedelta(days=1))]
    with hotline.sessions() as session, session.begin():
        publish_rules(session, document, note="tests: billing closed today and tomorrow")
    hotline.rules = RulesCache(hotline.sessions)

    result = Phone(app).call("1", "0", "record:8", caller=CALLER)  # type: ignore[no-untyped-call]
    assert not result.errors and "您的留言已收到" in result.spoken()
    order, _ = _order_and_call(hotline, result.call_sid)
    assert order.work_class == "enquiry" and order.kind == "message" and order.desk == "business"
    assert "/Recordings/RE" in order.description and order.due_at is not None
