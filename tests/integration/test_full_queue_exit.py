"""The Enqueue action when Twilio refuses a caller (QueueResult=queue-full) or the queue fails: the overflow
queue first, then a booked call-back; never a hang-up without one, and never for a gas-leak caller."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ivr.db.models import QueueEntry
from tests.helpers import action_of, new_call_sid, spoken, twiml

CALLER = "+8613800000077"


def _queued(twilio):
    """A caller who pressed 0 (the general queue): their entry is written, waiting."""
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid, caller=CALLER))
    root = twiml(twilio.post(action_of(first), {"Digits": "0"}, call_sid=sid, caller=CALLER))
    assert root.find("Enqueue").text == "general"
    return sid


def _entry(hotline, sid):
    with hotline.sessions() as session:
        return session.scalar(select(QueueEntry).where(QueueEntry.call_sid == sid))


def test_a_full_queue_sends_the_caller_to_its_overflow_queue(twilio, hotline):
    sid = _queued(twilio)
    full = {"QueueResult": "queue-full"}
    root = twiml(twilio.post("/voice/queue-exit?q=general&l=zh-CN&e=0", full, call_sid=sid))
    enqueue = root.find("Enqueue")
    assert enqueue.text == "general.overflow" and "q=general.overflow" in enqueue.get("action")
    assert root.find("Hangup") is None and _entry(hotline, sid).status == "waiting", "the place is kept"


@pytest.mark.parametrize("result", ["queue-full", "error", "system-error"])
def test_past_the_overflow_queue_or_on_an_error_the_call_back_is_booked(twilio, hotline, result):
    sid = _queued(twilio)
    path = "/voice/queue-exit?q=general.overflow&l=zh-CN&e=0"
    root = twiml(twilio.post(path, {"QueueResult": result}, call_sid=sid, caller=CALLER))
    assert "将尽快给您回电" in spoken(root) and root.find("Hangup") is not None
    entry = _entry(hotline, sid)
    assert entry.status == "callback" and entry.callback_number == CALLER
    again = twiml(twilio.post(path, {"QueueResult": result}, call_sid=sid, caller=CALLER))  # Twilio's retry
    assert again.find("Hangup") is not None and _entry(hotline, sid).status == "callback"


def test_with_nothing_to_book_the_caller_holds_and_is_queued_again_never_hung_up(twilio, hotline):
    sid = new_call_sid()  # no entry written (as when the database was away at the menu choice)
    path = "/voice/queue-exit?q=general.overflow&l=zh-CN&e=0"
    root = twiml(twilio.post(path, {"QueueResult": "queue-full"}, call_sid=sid, caller=CALLER))
    assert root.find("Hangup") is None and "正在为您登记回电" in spoken(root)
    assert [child.tag for child in root][-2:] == ["Pause", "Enqueue"]
    assert root.find("Enqueue").text == "general.overflow"


def test_a_gas_leak_caller_refused_by_a_full_queue_is_dialled_to_the_duty_engineer(twilio, hotline):
    root = twiml(twilio.post("/voice/queue-exit?q=safety&l=zh-CN&e=1", {"QueueResult": "queue-full"}))
    assert root.find("Dial/Number").text == "+8613900000000" and root.find("Enqueue") is None


def test_a_nearly_full_queue_offers_the_call_back_even_with_a_short_wait(twilio, hotline):
    sid = _queued(twilio)
    calm = {"QueuePosition": "1", "QueueTime": "0", "CurrentQueueSize": "10", "MaxQueueSize": "1000"}
    assert "请按1" not in spoken(twiml(twilio.post("/voice/wait?q=general&l=zh-CN&e=0", calm, call_sid=sid)))
    full = calm | {"CurrentQueueSize": "800"}
    root = twiml(twilio.post("/voice/wait?q=general&l=zh-CN&e=0", full, call_sid=sid))
    assert "如不想继续等待，需要我们回电，请按1。" in spoken(root) and root.find("Gather") is not None
