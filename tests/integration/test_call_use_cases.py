"""The calls' use cases, run directly on a real database: the gas-leak work order is a step of queueing the
caller (not an effect of writing an event), and a trial call says what a live call does after hours."""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from ivr.calls.events import CallRequest
from ivr.calls.flow import CallerInput, CallState, Enqueue
from ivr.calls.menu_turns import MenuDesk, take_input
from ivr.calls.trial_call import TestCallInput, walk_test_call
from ivr.configuration.menus.validation import load_menu_file
from ivr.db.models import CallEvent, QueueEntry, WorkOrder, utcnow
from ivr.events import append, kinds
from tests.helpers import action_of, count, new_call_sid, twiml

LEAK_CALLER = "+8613800000004"  # a demo customer, with an address on record


def _no_announcements(menu, turn, caller):  # type: ignore[no-untyped-def]
    return turn, []


def _desk(hotline) -> MenuDesk:  # type: ignore[no-untyped-def]
    return MenuDesk(hotline.sessions, hotline.spool, hotline.rules.live, hotline.clock, 60)


def _choose_gas_leak(hotline, call_sid: str):  # type: ignore[no-untyped-def]
    """Key 2 at the root of the live menu: the gas-leak path."""
    version, menu = hotline.menus.live()
    root = CallState(version, menu.root, menu.default_language, step=1)
    call = CallRequest(call_sid, LEAK_CALLER, "+864001234567", request_id=f"test-{call_sid}")
    return take_input(
        call,
        menu=menu,
        state=root,
        given=CallerInput(digits="2"),
        announce=_no_announcements,
        desk=_desk(hotline),
    )


def _orders(hotline, call_sid: str) -> list[WorkOrder]:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return list(session.scalars(select(WorkOrder).where(WorkOrder.call_sid == call_sid)))


def test_queueing_a_gas_leak_caller_opens_the_work_order_once_as_its_own_step(hotline):  # type: ignore[no-untyped-def]
    sid = new_call_sid()
    queued = _choose_gas_leak(hotline, sid)
    assert isinstance(queued.turn.then, Enqueue) and queued.turn.then.node.emergency
    assert queued.duty_deadline is not None and not queued.voicemail
    orders = _orders(hotline, sid)
    assert [(o.kind, o.emergency, o.caller_number) for o in orders] == [("gas_leak", True, LEAK_CALLER)]
    assert orders[0].address, "the customer matched by the caller's number"
    _choose_gas_leak(hotline, sid)  # Twilio retries the request: nothing new
    assert len(_orders(hotline, sid)) == 1


def test_writing_a_gas_leak_callers_event_opens_no_order_by_itself(hotline):  # type: ignore[no-untyped-def]
    # The projection of `call.queued` keeps the call record and the queue entry; the order is the use case's.
    sid = new_call_sid()
    queued = kinds.CallQueued(from_=LEAK_CALLER, queue="safety", intent="safety", priority=10, emergency=True)
    assert (
        append(hotline.sessions, hotline.spool, [queued.record(call_sid=sid, request_id="r1")]) == "written"
    )
    with hotline.sessions() as session:
        assert session.scalar(select(QueueEntry.queue).where(QueueEntry.call_sid == sid)) == "safety"
    assert _orders(hotline, sid) == []


def test_a_failing_order_step_leaves_the_gas_leak_caller_their_route(hotline, caplog):  # type: ignore[no-untyped-def]
    sid = new_call_sid()
    with hotline.sessions() as session, session.begin():  # opening any order fails, as with a broken table
        session.execute(text("ALTER TABLE work_orders RENAME TO work_orders_away"))
    try:
        with caplog.at_level(logging.ERROR, logger="ivr.calls.call_orders"):
            queued = _choose_gas_leak(hotline, sid)
    finally:
        with hotline.sessions() as session, session.begin():
            session.execute(text("ALTER TABLE work_orders_away RENAME TO work_orders"))
    assert isinstance(queued.turn.then, Enqueue) and queued.turn.then.node.queue == "safety"
    assert queued.duty_deadline is not None
    assert any("NOT opened" in r.getMessage() and sid in r.getMessage() for r in caplog.records)
    with hotline.sessions() as session:  # the caller's events are written all the same
        assert count(session, CallEvent, CallEvent.call_sid == sid, CallEvent.kind == "call.queued") == 1


def test_a_spooled_gas_leak_caller_has_the_order_opened_when_the_spool_is_replayed(hotline):  # type: ignore[no-untyped-def]
    sid = new_call_sid()
    queued = kinds.CallQueued(from_=LEAK_CALLER, queue="safety", intent="safety", priority=10, emergency=True)
    hotline.spool.put([queued.record(call_sid=sid, request_id="r1")])
    assert _orders(hotline, sid) == []
    assert hotline.spool.replay(hotline.sessions) == 1
    assert [o.kind for o in _orders(hotline, sid)] == ["gas_leak"]


def _billing_closed_without_an_after_hours_rule(hotline) -> None:  # type: ignore[no-untyped-def]
    """Billing closed today and tomorrow, and its Mandarin filter says nothing about the night."""
    from ivr.configuration.rules.store import RulesCache, publish_rules
    from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file

    document = load_rules_file(DEFAULT_RULES_FILE)
    today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Shanghai")).date()
    document["groups"]["billing"]["holidays"] = [str(today), str(today + timedelta(days=1))]
    billing = next(f for f in document["filters"] if f["name"] == "billing-mandarin")
    del billing["after_hours"]
    with hotline.sessions() as session, session.begin():
        publish_rules(session, document, note="tests: billing closed, no after-hours rule")
    hotline.rules = RulesCache(hotline.sessions)


def test_a_trial_call_agrees_with_a_live_call_when_the_group_is_closed_without_an_after_hours_rule(  # type: ignore[no-untyped-def]
    hotline, twilio
):
    # The two copies of the rule differed here: the trial call promised a message and a call-back, while a
    # live caller was queued as usual. One rule now: both queue the caller.
    _billing_closed_without_an_after_hours_rule(hotline)
    sid = new_call_sid()
    root = twiml(twilio.post("/voice/incoming", call_sid=sid))
    billing = twiml(twilio.post(action_of(root), {"Digits": "1"}, call_sid=sid))
    live = twiml(twilio.post(action_of(billing), {"Digits": "0"}, call_sid=sid))
    enqueued = live.find("Enqueue")
    assert live.find("Record") is None and enqueued is not None, "live: queued as usual"

    document, rules = load_menu_file(), hotline.rules.live()
    state = walk_test_call(hotline.sessions, document, TestCallInput(state=None, language="zh-CN"), rules)[
        "state"
    ]
    state = walk_test_call(hotline.sessions, document, TestCallInput(state=state, digits="1"), rules)["state"]
    trial = walk_test_call(hotline.sessions, document, TestCallInput(state=state, digits="0"), rules)
    assert trial["next"]["kind"] == "queue" and trial["next"]["queue"] == enqueued.text
    after_hours = trial["next"]["after_hours"]
    assert after_hours.startswith("closed now") and "waits in the queue" in after_hours
    assert "message" not in after_hours
