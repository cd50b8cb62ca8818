"""The place a waiting caller hears counts only who waits now, not call-backs booked for later."""

from __future__ import annotations

from datetime import timedelta

from ivr.db.models import QueueEntry, utcnow
from tests.helpers import action_of, new_call_sid, spoken, twiml


def book(hotline, count: int, *, status: str, callback_after=None, minutes_ago: int = 10) -> None:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session, session.begin():
        for n in range(count):
            session.add(
                QueueEntry(
                    call_sid=new_call_sid(),
                    queue="general",
                    intent="agent",
                    language="zh-CN",
                    caller=f"+86138000{n:05d}",
                    status=status,
                    callback_number=f"+86138000{n:05d}" if status == "callback" else None,
                    callback_after=callback_after,
                    waiting_since=utcnow() - timedelta(minutes=minutes_ago),
                )
            )


def heard_place(twilio) -> str:  # type: ignore[no-untyped-def]
    """A new caller asks for a person (key 0) and hears the first wait document."""
    sid = new_call_sid()
    menu = twiml(twilio.post("/voice/incoming", call_sid=sid))
    enqueue = twiml(twilio.post(action_of(menu), {"Digits": "0"}, call_sid=sid)).find("Enqueue")
    assert enqueue.text == "general"
    return spoken(
        twiml(twilio.post(enqueue.get("waitUrl"), {"QueuePosition": "26", "QueueTime": "0"}, call_sid=sid))
    )


def test_call_backs_booked_for_the_morning_are_not_ahead_of_a_caller(twilio, hotline):
    # 19 after-hours call-backs booked for 08:00 tomorrow, 6 callers on the line
    book(hotline, 19, status="callback", callback_after=utcnow() + timedelta(hours=9), minutes_ago=600)
    book(hotline, 6, status="waiting")
    assert "您前面还有6位" in heard_place(twilio)


def test_a_call_back_that_is_due_is_ahead(twilio, hotline):
    book(hotline, 6, status="waiting")
    book(hotline, 1, status="callback", callback_after=utcnow() - timedelta(minutes=1))
    assert "您前面还有7位" in heard_place(twilio)
