"""The database goes away in the middle of calls: callers still hear TwiML, and no event is lost."""

from __future__ import annotations

import time

from sqlalchemy import select

from ivr.app import create_app
from ivr.db.models import Call, CallEvent, QueueEntry, WorkOrder
from tests.helpers import SignedClient, action_of, count, new_call_sid, spoken, twiml


def _timed(client, path, params, sid, caller="+8613800000001"):
    started = time.perf_counter()
    response = client.post(path, params, call_sid=sid, caller=caller)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{path} took {elapsed:.2f}s with the database down"
    return twiml(response)


def test_calls_survive_an_outage_and_every_event_is_written_afterwards(outage_hotline):
    hotline, outage = outage_hotline
    client = SignedClient(create_app(hotline=hotline))
    a, b, c = new_call_sid(), new_call_sid(), new_call_sid()

    menu_a = _timed(client, "/voice/incoming", {}, a)  # database up
    billing_a = _timed(client, action_of(menu_a), {"Digits": "1"}, a)

    outage.stop()
    try:
        prices = _timed(client, action_of(billing_a), {"Digits": "1"}, a)  # the menu still works
        assert "2.61" in spoken(prices)
        menu_b = _timed(client, "/voice/incoming", {}, b, caller="+8613800000004")
        leak = _timed(client, action_of(menu_b), {"SpeechResult": "燃气泄漏"}, b, caller="+8613800000004")
        assert "关闭燃气阀门" in spoken(leak) and leak.find("Enqueue").text == "safety"
        menu_c = _timed(client, "/voice/incoming", {}, c)
        repair_c = _timed(client, action_of(menu_c), {"Digits": "3"}, c)
        rescued = _timed(client, action_of(repair_c), {"Digits": "1"}, c)  # opening an order needs the DB
        assert "系统暂时出现故障" in spoken(rescued)
        assert rescued.find("Gather").get("action").endswith("/voice/rescue?l=zh-CN")
        assert rescued.find("Enqueue").text == "general", "the way to a person"
        _timed(client, "/voice/status", {"CallStatus": "completed", "CallDuration": "30"}, a)
        # prices, b's start, b's turn and queueing, c's start and turn, c's rescue and queueing, a's status
        assert len(hotline.spool.pending()) == 9
    finally:
        outage.start()

    # Events arriving while older ones wait in the spool queue behind them, keeping each call's order.
    _timed(client, "/voice/status", {"CallStatus": "completed", "CallDuration": "41"}, b)
    assert hotline.spool.replay(hotline.sessions) == 10
    assert hotline.spool.pending() == []

    with hotline.sessions() as session:
        assert count(session, CallEvent) == 12  # 2 before the outage, 9 during, 1 after
        assert count(session, CallEvent, CallEvent.replayed.is_(True)) == 10
        calls = {call.call_sid: call for call in session.scalars(select(Call))}
        assert set(calls) == {a, b, c}
        assert calls[a].status == "completed" and calls[a].duration_seconds == 30
        assert calls[b].emergency and calls[b].status == "completed"
        assert calls[c].outcome == "queued", "rescued into our general queue, for the dispatcher"
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == c))
        assert (entry.queue, entry.status) == ("general", "waiting")
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == b))
        assert order.kind == "gas_leak" and order.caller_number == "+8613800000004"


def test_fallback_url_answers_without_the_database(outage_hotline):
    hotline, outage = outage_hotline
    client = SignedClient(create_app(hotline=hotline))
    outage.stop()
    try:
        root = _timed(
            client,
            "/voice/fallback",
            {"ErrorCode": "11200", "ErrorUrl": "http://hotline.test/voice/step"},
            new_call_sid(),
        )
        assert root.find("Gather") is not None and root.find("Enqueue").text == "general"
        assert "燃气" in spoken(root) and "gas" in spoken(root), "language unknown: both languages"
        safety = _timed(
            client,
            "/voice/fallback",
            {"ErrorCode": "11200", "ErrorUrl": "http://hotline.test/voice/wait?q=safety&l=en-US&e=1"},
            new_call_sid(),
        )
        assert safety.find("Dial/Number").text == "+8613900000000"
        choice = _timed(client, "/voice/rescue?l=zh-CN", {"Digits": "2"}, new_call_sid())
        assert choice.find("Dial/Number").text == "+8613900000000"
    finally:
        outage.start()
    assert hotline.spool.replay(hotline.sessions) == 4  # three rescues, and the general one's queueing
