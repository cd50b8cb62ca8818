"""Webhooks against a real database: signatures, bad input, retries, records."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from ivr.db.models import Call, CallEvent, WorkOrder
from ivr.events.store import call_inputs, call_path
from tests.helpers import PUBLIC_BASE_URL, action_of, count, new_call_sid, spoken, twiml


def _walk(twilio, call_sid, *inputs, caller="+8613800000001"):
    """Start a call and give each input at the next Gather; returns the last TwiML."""
    root = twiml(twilio.post("/voice/incoming", call_sid=call_sid, caller=caller))
    for given in inputs:
        params = (
            {"SpeechResult": given[2:]} if given.startswith("s:") else ({"Digits": given} if given else {})
        )
        root = twiml(twilio.post(action_of(root), params, call_sid=call_sid, caller=caller))
    return root


def test_greeting_names_company_offers_english_and_gas_key_first(twilio):
    root = twiml(twilio.post("/voice/incoming"))
    says = root.findall("Gather/Say")
    assert "华夏燃气" in says[0].text and "按2" in says[0].text
    assert says[1].get("language") == "en-US" and "For English, press 9" in says[1].text
    assert says[0].get("voice") == "Polly.Zhiyu-Neural" and says[0].get("language") == "cmn-CN"
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf speech" and gather.get("language") == "cmn-Hans-CN"
    assert root.find("Redirect").text == gather.get("action"), "silence must be followed by a redirect"


def test_call_record_holds_menu_version_language_inputs_and_intent(twilio, hotline):
    sid = new_call_sid()
    _walk(twilio, sid, "9", "1", "2")
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        assert call.menu_version == 1 and call.language == "en-US" and call.intent == "billing"
        assert [entry.get("digits") for entry in call_inputs(session, sid)] == ["9", "1", "2"]
        assert call_path(session, sid)[:3] == ["main", "main", "billing"]
        assert count(session, CallEvent, CallEvent.call_sid == sid) == 4


@pytest.mark.parametrize("signature", [None, "bm90IGEgc2lnbmF0dXJl", "wrong"])
def test_bad_or_missing_signature_is_403_and_writes_nothing(twilio, hotline, signature):
    response = twilio.post("/voice/incoming", sign=signature is not None, signature=signature)
    assert response.status_code == 403
    assert "X-Twilio-Signature" in response.get_data(as_text=True)
    with hotline.sessions() as session:
        assert count(session, CallEvent) == 0 and count(session, Call) == 0


def test_signature_for_another_url_is_refused(twilio):
    form = {"CallSid": new_call_sid(), "From": "+8613800000001"}
    signature = twilio.validator.compute_signature(PUBLIC_BASE_URL + "/voice/status", form)
    response = twilio.client.post(
        "/voice/incoming", data=form, headers={"X-Twilio-Signature": signature}, base_url=PUBLIC_BASE_URL
    )
    assert response.status_code == 403


def test_a_repeated_parameter_is_signed_with_every_value(twilio):
    # Twilio signs each value of a repeated parameter, sorted; a signature over the first value only
    # does not match the request that was sent.
    pairs = [("CallSid", new_call_sid()), ("From", "+8613800000001"), ("Digits", "2"), ("Digits", "1")]
    url = PUBLIC_BASE_URL + "/voice/incoming"
    every = twilio.validator.compute_signature(url, MultiDict(pairs))
    first_only = twilio.validator.compute_signature(url, dict(reversed(pairs)))
    assert every != first_only

    def post(signature: str) -> int:
        return twilio.client.post(
            "/voice/incoming",
            data=MultiDict(pairs),
            headers={"X-Twilio-Signature": signature},
            base_url=PUBLIC_BASE_URL,
        ).status_code

    assert (post(every), post(first_only)) == (200, 403)


def test_get_instead_of_post_is_405_with_words(twilio):
    response = twilio.client.get("/voice/incoming", base_url=PUBLIC_BASE_URL)
    assert response.status_code == 405 and "POST" in response.get_data(as_text=True)


def test_huge_body_is_413_and_writes_nothing(twilio, hotline):
    response = twilio.post("/voice/incoming", {"SpeechResult": "x" * 200_000})
    assert response.status_code == 413
    with hotline.sessions() as session:
        assert count(session, CallEvent) == 0


@pytest.mark.parametrize(
    "digits",
    ["7", "12345678901234567890123456789012345678901234567890", "１", "1' OR '1'='1", "<Say>", "燃气"],
)
def test_wrong_or_garbage_keys_say_so_and_repeat_the_menu(twilio, digits):
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    root = twiml(twilio.post(action_of(first), {"Digits": digits}, call_sid=sid))
    assert "无效" in spoken(root) and "账单和缴费请按1" in spoken(root)
    assert "t=1" in action_of(root)


def test_sql_looking_speech_is_just_words(twilio, hotline):
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    root = twiml(twilio.post(action_of(first), {"SpeechResult": "'; DROP TABLE calls; --"}, call_sid=sid))
    assert "无效" in spoken(root)
    with hotline.sessions() as session:
        assert count(session, Call) == 1


def test_three_failures_reach_the_general_queue_never_a_hangup(twilio):
    root = _walk(twilio, new_call_sid(), "", "7", "")
    assert root.find("Enqueue").text == "general"
    assert root.find("Hangup") is None


@pytest.mark.parametrize(
    "query",
    ["v=99&n=main&l=zh-CN&t=0&s=1", "v=1&n=nowhere&l=zh-CN&t=0&s=1", "v=abc&n=main&l=xx-XX&t=0&s=1", ""],
)
def test_unknown_version_node_or_state_still_answers_twiml(twilio, query):
    root = twiml(twilio.post(f"/voice/step?{query}" if query else "/voice/step", {"Digits": "1"}))
    assert root.find("Gather") is not None or root.find("Enqueue") is not None


def test_unknown_call_sid_gets_a_record(twilio, hotline):
    sid = new_call_sid()
    twiml(twilio.post("/voice/step?v=1&n=main&l=zh-CN&t=0&s=4", {"Digits": "0"}, call_sid=sid))
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        assert call.queue == "general" and call.intent == "agent"


def test_twilio_retry_is_written_once_and_answered_the_same(twilio, hotline):
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    headers = {"I-Twilio-Idempotency-Token": "retry-token-1"}
    once = twilio.post(action_of(first), {"Digits": "3"}, call_sid=sid, headers=headers)
    again = twilio.post(action_of(first), {"Digits": "3"}, call_sid=sid, headers=headers)
    assert once.get_data() == again.get_data()
    with hotline.sessions() as session:
        assert count(session, CallEvent, CallEvent.call_sid == sid) == 2
        assert len(call_inputs(session, sid)) == 1


def test_reported_fault_is_read_back_and_not_duplicated_by_a_retry(twilio, hotline):
    sid = new_call_sid()
    menu = _walk(twilio, sid, "3")
    once = twiml(twilio.post(action_of(menu), {"Digits": "1"}, call_sid=sid))
    again = twiml(twilio.post(action_of(menu), {"Digits": "1"}, call_sid=sid))
    with hotline.sessions() as session:
        orders = session.scalars(select(WorkOrder).where(WorkOrder.call_sid == sid)).all()
    assert len(orders) == 1
    spaced = " ".join(orders[0].number)
    assert spaced in spoken(once) and spoken(once) == spoken(again)
    assert orders[0].address.startswith("朝阳区")


def test_work_order_status_by_number(twilio, hotline):
    with hotline.sessions() as session:
        dispatched = session.scalar(select(WorkOrder).where(WorkOrder.status == "dispatched"))
    root = _walk(twilio, new_call_sid(), "3", "2", f"{dispatched.number}#")
    assert "正在处理中，技术人员已派出" in spoken(root)  # the live stage, in words
    assert "前完成" in spoken(root) or "处理完成后" in spoken(root)  # by the promised time, when known
    missing = _walk(twilio, new_call_sid(), "3", "2", "999#")
    assert "没有找到这个工单" in spoken(missing)


def test_balance_for_known_caller_and_by_account_number(twilio):
    known = _walk(twilio, new_call_sid(), "1", "4", caller="+8613800000001")
    assert "128.50" in spoken(known)
    asked = _walk(twilio, new_call_sid(), "1", "4", "10000002#", caller="+8613999999999")
    assert "身份证号码最后4位" in spoken(asked) and "46.20" not in spoken(asked)  # a second factor first
    unknown = _walk(twilio, new_call_sid(), "1", "4", "10000002#", "457*", caller="+8613999999999")
    assert "欠费46.20元" in spoken(unknown)


@pytest.mark.parametrize(
    "route", [("2",), ("s:燃气泄漏",), ("1", "s:家里漏气了"), ("9", "3", "s:I smell gas"), ("4", "3")]
)
def test_gas_leak_gets_instructions_then_safety_queue_and_emergency_order(twilio, hotline, route):
    sid = new_call_sid()
    root = _walk(twilio, sid, *route, caller="+8613800000004")
    assert root[0].tag == "Say" and ("关闭燃气阀门" in root[0].text or "Close the gas valve" in root[0].text)
    assert root.find("Enqueue").text == "safety"
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == sid))
    assert call.emergency and call.intent == "safety" and call.priority == 10
    assert order.kind == "gas_leak" and order.emergency and order.caller_number == "+8613800000004"
    assert order.address.startswith("朝阳区三里屯")


def test_complaint_records_class_and_reply_deadline(twilio, hotline):
    sid = new_call_sid()
    root = _walk(twilio, sid, "4", "1")
    # The answer is due 24 h round the clock (the deadline rules), said as a time: tomorrow, same minute.
    assert "明天" in spoken(root) and "前核实" in spoken(root) and root.find("Enqueue").text == "complaint"
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == sid))
    assert call.complaint_class == "service" and order.work_class == "service_complaint"
    assert round((call.reply_due_at - call.started_at).total_seconds() / 3600) == 24
    assert call.reply_due_at == order.promised_by


def test_status_callback_closes_the_record(twilio, hotline):
    sid = new_call_sid()
    _walk(twilio, sid, "0")
    twiml(
        twilio.post(
            "/voice/queue-exit?q=general&l=zh-CN&e=0",
            {"QueueResult": "hangup", "QueueTime": "42"},
            call_sid=sid,
        )
    )
    twiml(twilio.post("/voice/status", {"CallStatus": "completed", "CallDuration": "75"}, call_sid=sid))
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
    assert call.status == "completed" and call.duration_seconds == 75 and call.ended_at is not None
    assert call.outcome == "abandoned" and call.queue_seconds == 42


def test_wait_url_speaks_position_in_the_callers_language(twilio):
    root = twiml(twilio.post("/voice/wait?q=general&l=en-US&e=0", {"QueuePosition": "4", "QueueTime": "30"}))
    assert "3 callers ahead" in spoken(root) and root.find("Pause") is not None


def test_safety_caller_leaves_queue_after_limit_and_duty_engineer_is_dialled(twilio):
    waiting = twiml(twilio.post("/voice/wait?q=safety&l=zh-CN&e=1", {"QueuePosition": "1", "QueueTime": "1"}))
    assert waiting.find("Leave") is None
    leaving = twiml(
        twilio.post("/voice/wait?q=safety&l=zh-CN&e=1", {"QueuePosition": "1", "QueueTime": "60"})
    )
    assert leaving.find("Leave") is not None
    dial = twiml(twilio.post("/voice/queue-exit?q=safety&l=zh-CN&e=1", {"QueueResult": "leave"}))
    assert dial.find("Dial/Number").text == "+8613900000000"


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_unanswered_duty_engineer_puts_safety_caller_back_in_the_safety_queue(twilio, status):
    root = twiml(twilio.post("/voice/dial-result?l=zh-CN&a=1", {"DialCallStatus": status}))
    assert root.find("Enqueue").text == "safety" and "e=1" in root.find("Enqueue").get("waitUrl")


@pytest.mark.parametrize("result", ["queue-full", "system-error", "error"])
def test_safety_queue_failure_dials_the_duty_engineer(twilio, result):
    root = twiml(twilio.post("/voice/queue-exit?q=safety&l=zh-CN&e=1", {"QueueResult": result}))
    assert root.find("Dial/Number").text == "+8613900000000"


def test_action_urls_are_the_routes_that_serve_them(app):
    # _url builds URLs by hand for speed: every path it knows must be a real POST route.
    from ivr.calls.webhook import PATHS as _PATHS

    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    for endpoint, path in _PATHS.items():
        assert "POST" in rules[path], endpoint
        assert app.url_map._rules_by_endpoint[endpoint][0].rule == path
