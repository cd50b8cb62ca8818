"""Whole calls through the simulator: every branch, both languages, speech, wrong keys, silence, retries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from ivr.db.models import Call, CallEvent, WorkOrder
from ivr.events.store import call_inputs
from ivr.telephony.callers import ScriptedCaller
from tests.e2e.conftest import HOTLINE_NUMBER, Phone
from tests.helpers import count

ENGLISH = "9"


def record_of(hotline, call_sid):
    with hotline.sessions() as session:
        return session.scalar(select(Call).where(Call.call_sid == call_sid))


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
@pytest.mark.parametrize(
    ("keys", "queue", "intent"),
    [
        (["2"], "safety", "safety"),
        (["1", "0"], "billing", "billing"),
        (["3", "0"], "repair", "repair"),
        (["4", "1"], "complaint", "complaint"),
        (["4", "2"], "complaint", "complaint"),
        (["4", "3"], "safety", "safety"),
        (["0"], "general", "agent"),
    ],
)
def test_every_queue_branch_in_both_languages(phone, hotline, language, keys, queue, intent):
    script = ([ENGLISH] if language == "en-US" else []) + keys
    result = phone.call(*script)
    assert not result.errors, result.errors
    assert result.final_queue == queue
    assert {e.language for e in result.entries("say")} >= {"cmn-CN" if language == "zh-CN" else "en-US"}
    call = record_of(hotline, result.call_sid)
    assert (call.language, call.queue, call.intent, call.status) == (language, queue, intent, "completed")
    # a safety caller still waiting when the time is up is put through to the duty engineer
    assert call.outcome == ("duty-engineer-answered" if queue == "safety" else "abandoned")
    assert call.menu_version == 1 and call.emergency == (queue == "safety")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (["1", "1"], "2.61"),
        (["1", "2"], "手机应用"),
        (["1", "3"], "身份证"),
        ([ENGLISH, "1", "1"], "2.61 yuan"),
        ([ENGLISH, "1", "3"], "ID card"),
    ],
)
def test_self_service_answers(phone, script, expected):
    result = phone.call(*script)
    assert expected in result.spoken() and not result.errors


def test_balance_of_a_known_caller_then_a_billing_agent(phone):
    result = phone.call("1", "4", "0", caller="+8613800000002")
    assert "欠费46.20元" in result.spoken() and result.final_queue == "billing"


def test_unknown_caller_keys_an_account_number(phone):
    result = phone.call(ENGLISH, "1", "4", "10000001#", "3021", caller="+8613999999999")
    assert "last 4 digits of the ID number registered on the account" in result.spoken()
    assert "balance of account 1 0 0 0 0 0 0 1 is 128.50 yuan" in result.spoken()


def test_a_wrong_second_factor_twice_reads_nothing_and_reaches_an_agent(phone, hotline):
    result = phone.call("1", "4", "10000002#", "1234", "1111", caller="+8613999999999")
    assert not result.errors, result.errors
    assert result.spoken().count("身份证号码最后4位") == 2 and result.spoken().count("不符") == 2
    assert "46.20" not in result.spoken() and result.final_queue == "general"
    with hotline.sessions() as session:
        given = [entry.get("digits") for entry in call_inputs(session, result.call_sid)]
    assert given == ["1", "4", "10000002", "****", "****"]


def test_an_id_number_ending_in_x_is_keyed_with_star(phone):
    result = phone.call("1", "4", "10000002#", "457*", caller="+8613999999999")
    assert "欠费46.20元" in result.spoken() and not result.errors


def test_report_a_fault_reads_back_the_work_order(phone, hotline):
    result = phone.call("3", "1")
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.call_sid == result.call_sid))
    assert order.kind == "fault" and f"工单号为{' '.join(order.number)}" in result.spoken()


def test_work_order_status_says_the_promised_time(phone):
    result = phone.call(ENGLISH, "3", "2", "1000002#")
    said = result.spoken()  # the live stage in words, then the promised time (an hour ahead, demo data)
    assert "Work order 1 0 0 0 0 0 2 is being worked on: a technician has been sent." in said
    assert re.search(r"We expect it to be done by \d{1,2}:\d\d on \d{1,2}/\d{1,2}\.", said)


@pytest.mark.parametrize("phrase", ["speech:燃气泄漏", "speech:我家漏气了", "speech:I can smell gas"])
def test_gas_leak_by_speech_from_a_submenu(phone, hotline, phrase):
    result = phone.call("3", phrase)
    assert result.final_queue == "safety"
    instructions = next(e for e in result.entries("say") if "阀门" in e.text or "gas valve" in e.text)
    assert result.entries("say").index(instructions) < len(result.entries("say"))
    assert record_of(hotline, result.call_sid).emergency


@pytest.mark.parametrize(
    ("speech", "queue"),
    [("speech:我要投诉", None), ("speech:转人工", "general"), ("speech:agent please", "general")],
)
def test_speech_picks_menu_choices(phone, speech, queue):
    result = phone.call(speech, "1") if queue is None else phone.call(speech)
    if queue is None:
        assert result.final_queue == "complaint"
    else:
        assert result.final_queue == queue


def test_wrong_keys_and_silence_end_in_the_general_queue(phone, hotline):
    result = phone.call("7", "silence", "5")
    assert "抱歉，您的输入无效。" in result.spoken() and "没有听到您的选择" in result.spoken()
    assert result.final_queue == "general" and not result.errors
    with hotline.sessions() as session:
        inputs = call_inputs(session, result.call_sid)
    assert [entry.get("reason") for entry in inputs] == ["invalid", "silence", "invalid-too-many"]


def test_safety_caller_reaches_the_duty_engineer_when_nobody_answers(phone, hotline):
    result = phone.call("2", wait_loops=5)
    assert result.dialled == ["+8613900000000"]
    assert "正在为您直接接通燃气抢险值班工程师" in result.spoken()
    assert record_of(hotline, result.call_sid).outcome == "duty-engineer-answered"


class PatientCaller(ScriptedCaller):
    """Waits through `total` wait announcements over the whole call, however often it is re-queued."""

    def __init__(self, script, total):  # type: ignore[no-untyped-def]
        super().__init__(script)
        self.left = total

    def keep_waiting(self, status):  # type: ignore[no-untyped-def]
        self.left -= 1
        return self.left >= 0


def test_busy_duty_engineer_sends_the_caller_back_to_the_safety_queue(app, hotline):
    phone = Phone(app, dial_endpoints={"+8613900000000": "busy"})
    result = phone.simulator.place_call("+8613800000001", HOTLINE_NUMBER, PatientCaller(["2"], total=2))
    assert result.dialled == ["+8613900000000", "+8613900000000"], "tried again after the next safety wait"
    assert result.queue_results == ["leave", "leave", "hangup"] and not result.errors
    assert "抢险人员正在接通中" in result.spoken()
    assert record_of(hotline, result.call_sid).outcome == "abandoned"


def test_twilio_retries_do_not_double_anything(app, hotline):
    phone = Phone(app, retry_every_request=True)
    result = phone.call("3", "1", "0")
    assert not result.errors and result.final_queue == "repair"
    with hotline.sessions() as session:
        assert count(session, WorkOrder, WorkOrder.call_sid == result.call_sid) == 1
        events = count(session, CallEvent, CallEvent.call_sid == result.call_sid)
        queued = count(
            session, CallEvent, CallEvent.call_sid == result.call_sid, CallEvent.kind == "call.queued"
        )
    posted = {(r.url, tuple(sorted(r.params.items()))) for r in result.requests}
    assert len(result.requests) == 2 * len(posted), "every request was sent twice"
    # One event per distinct request, plus the queueing that the choosing request also writes.
    assert queued == 1 and events == len(posted) + queued


def test_a_bad_signature_is_refused_and_nothing_is_written(app, hotline):
    phone = Phone(app, auth_token="not-the-real-token")
    result = phone.call("1")
    assert result.ended_by == "error" and {e.code for e in result.errors} == {11200}
    with hotline.sessions() as session:
        assert count(session, Call) == 0 and count(session, CallEvent) == 0


def test_every_document_is_valid_twiml_across_a_long_call(phone):
    result = phone.call("1", "1", "1", "4", "*", "3", "2", "*", "*", "4", "*", "0", wait_loops=2)
    assert not result.errors and not result.warnings
    assert result.final_queue == "general"
