"""Routing end to end: simulated callers and simulated agents, the dispatcher in between."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ivr.db.models import Agent, AgentStateChange, Call, CallEvent, QueueEntry, RoutingDecision, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch, end_wrap_ups
from ivr.queueing.dispositions import record_disposition
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.work_orders.cases import Actor
from tests.e2e.conftest import HOTLINE_NUMBER, Phone
from tests.helpers import count


@pytest.fixture
def floor(app, hotline):
    """A phone whose REST side (redirects, call-backs) is the same simulator, and agents all offline."""
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="offline"))
    return phone


def agents_available(hotline, *names, idle_minutes=0):
    with hotline.sessions() as session, session.begin():
        for name in names:
            session.execute(
                update(Agent)
                .where(Agent.name == name)
                .values(state="available", idle_since=utcnow() - timedelta(minutes=idle_minutes))
            )


def agent(hotline, name):
    with hotline.sessions() as session:
        return session.scalar(select(Agent).where(Agent.name == name))


def entry_of(hotline, call_sid):
    with hotline.sessions() as session:
        return session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))


def waiting_caller(phone, *keys, caller="+8613800000001"):
    call = phone.simulator.start_call(caller, HOTLINE_NUMBER, ScriptedCaller(list(keys), max_queue_loops=50))
    assert call.run_until_waiting(), "the caller should be holding in a queue"
    return call


def test_a_waiting_caller_is_connected_recorded_and_the_agent_wraps_up(floor, hotline):
    agents_available(hotline, "陈静")
    call = waiting_caller(floor, "1", "0")
    offers = dispatch(hotline)
    assert [o.agent_id for o in offers] == [agent(hotline, "陈静").id]
    result = call.run()
    assert not result.errors, result.errors
    assert result.queue_results[-1] == "redirected"
    assert result.dialled == ["agent-chenjing"] or result.dialled == ["client:agent-chenjing"]
    assert "您的通话可能会被录音" in result.spoken()
    chen = agent(hotline, "陈静")
    assert chen.state == "wrap_up" and chen.wrap_up_until > utcnow()
    with hotline.sessions() as session:
        decision = session.scalar(select(RoutingDecision).where(RoutingDecision.call_sid == result.call_sid))
        assert decision.outcome == "claimed" and decision.rules_version == 1
        assert decision.inputs["call"]["intent"] == "billing" and decision.inputs["candidates"]
        assert decision.reason
        assert session.scalar(select(Call.outcome).where(Call.call_sid == result.call_sid)) == "answered"
        assert (
            count(session, CallEvent, CallEvent.kind == "recording", CallEvent.call_sid == result.call_sid)
            == 1
        )
        states = session.scalars(
            select(AgentStateChange.state)
            .where(AgentStateChange.agent_id == chen.id)
            .order_by(AgentStateChange.id)
        ).all()
    assert states[-3:] == ["ringing", "on_call", "wrap_up"], "the answered leg reported the agent on the call"
    assert entry_of(hotline, result.call_sid).status == "done"
    # Wrap-up is over only once the call has a disposition (issue 16): held until then.
    assert end_wrap_ups(hotline, utcnow() + timedelta(minutes=5)) == 0
    assert agent(hotline, "陈静").state == "wrap_up"
    with unit_of_work(hotline.sessions) as session:
        record_disposition(
            session, agent_id=chen.id, actor=Actor("陈静"), work_class="account_business", outcome="answered"
        )
    assert end_wrap_ups(hotline, utcnow() + timedelta(minutes=5)) == 1
    assert agent(hotline, "陈静").state == "available"


def test_safety_caller_is_served_before_an_earlier_billing_caller(floor, hotline):
    agents_available(hotline, "Emily Wu")
    billing = waiting_caller(floor, "1", "0", caller="+8613800000002")
    leak = waiting_caller(floor, "2", caller="+8613800000004")
    offers = dispatch(hotline, utcnow() + timedelta(seconds=25))  # past the 20 s safety widening
    assert [o.call_sid for o in offers] == [leak.sid]
    assert entry_of(hotline, billing.sid).status == "waiting"


def test_the_pool_widens_over_time_and_the_caller_keeps_their_place(floor, hotline):
    agents_available(hotline, "孙丽")  # complaint 5, general 3: no billing skill
    call = waiting_caller(floor, "1", "0")
    start = entry_of(hotline, call.sid).waiting_since
    assert dispatch(hotline, start + timedelta(seconds=10)) == []
    assert dispatch(hotline, start + timedelta(seconds=40)) == []
    offers = dispatch(hotline, start + timedelta(seconds=100))
    assert len(offers) == 1
    with hotline.sessions() as session:
        decision = session.scalar(select(RoutingDecision).where(RoutingDecision.call_sid == call.sid))
    assert decision.step == 2 and "general" in decision.reason


def test_missed_offers_requeue_the_caller_and_rest_the_agent(floor, hotline):
    floor.simulator.set_endpoint("agent-chenjing", "no-answer")
    agents_available(hotline, "陈静")
    call = waiting_caller(floor, "1", "0")
    first_wait = entry_of(hotline, call.sid).waiting_since
    assert len(dispatch(hotline)) == 1
    assert call.run_until_waiting(), "back in the queue after the agent did not answer"
    assert entry_of(hotline, call.sid).status == "waiting"
    assert entry_of(hotline, call.sid).waiting_since == first_wait, "wait time kept"
    chen = agent(hotline, "陈静")
    assert chen.state == "available" and chen.misses == 1
    assert len(dispatch(hotline)) == 1
    assert call.run_until_waiting()
    chen = agent(hotline, "陈静")
    assert chen.state == "break" and chen.state_reason == "not answering"
    assert dispatch(hotline) == [], "nobody else is available"
    result = call.run()
    assert "客服人员暂时未能接听" in result.spoken()


def test_a_long_wait_offers_a_call_back_that_keeps_the_place_and_is_placed_once(floor, hotline, monkeypatch):
    monkeypatch.setattr(hotline, "settings", hotline.settings.with_overrides(callback_offer_seconds=60))
    with (
        hotline.sessions() as session,
        session.begin(),
    ):  # the billing agent is busy: a wait, not an empty floor
        session.execute(update(Agent).where(Agent.name == "陈静").values(state="on_call"))
    caller = "+8613800000005"
    call = floor.simulator.start_call(
        caller, HOTLINE_NUMBER, ScriptedCaller(["1", "0", "1", "1"], max_queue_loops=5)
    )
    result = call.run()
    assert "需要我们回电，请按1" in result.spoken() and "轮到您时我们会给您回电" in result.spoken()
    assert not result.errors, result.errors
    entry = entry_of(hotline, result.call_sid)
    assert entry.status == "callback" and entry.callback_number == caller

    floor.simulator.callee_for(caller, ScriptedCaller([]))
    agents_available(hotline, "陈静")
    offers = dispatch(hotline)
    assert len(offers) == 1 and offers[0].callback_number == caller
    assert dispatch(hotline) == [], "never placed twice"
    outbound = floor.simulator.run_pending_calls()
    assert len(outbound) == 1 and "按照您的要求给您回电" in outbound[0].spoken()
    assert outbound[0].dialled and not outbound[0].errors
    assert entry_of(hotline, result.call_sid).status == "done"
    assert agent(hotline, "陈静").state == "wrap_up"


def test_after_hours_a_message_is_taken_and_the_call_back_waits_for_opening(app, hotline):
    from zoneinfo import ZoneInfo

    from ivr.configuration.rules.store import RulesCache, publish_rules
    from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file

    document = load_rules_file(DEFAULT_RULES_FILE)
    shanghai_today = utcnow().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Asia/Shanghai")).date()
    closed = [str(shanghai_today), str(shanghai_today + timedelta(days=1))]
    document["groups"]["billing"]["holidays"] = closed
    with hotline.sessions() as session, session.begin():
        publish_rules(session, document, note="tests: billing closed today and tomorrow")
    hotline.rules = RulesCache(hotline.sessions)
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)

    result = phone.call("1", "0", "record:8", caller="+8613800000002")
    assert "请在提示音后留言" in result.spoken() and "您的留言已收到" in result.spoken()
    assert not result.errors and result.final_queue is None
    entry = entry_of(hotline, result.call_sid)
    assert entry.status == "callback" and entry.callback_number == "+8613800000002"
    reopening = datetime_of(shanghai_today + timedelta(days=2), 8)
    assert entry.callback_after == reopening
    with hotline.sessions() as session:
        voicemails = (CallEvent.kind == "voicemail", CallEvent.call_sid == result.call_sid)
        assert count(session, CallEvent, *voicemails) == 1
    assert dispatch(hotline) == [], "not before the group opens"
    assert len(dispatch(hotline, reopening + timedelta(minutes=1))) == 1


def datetime_of(day, hour):
    """`hour` o'clock Shanghai time on `day`, as naive UTC."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    local = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def test_nobody_free_for_a_gas_leak_means_the_duty_engineer_is_dialled(floor, hotline):
    call = waiting_caller(floor, "2", caller="+8613800000004")
    assert dispatch(hotline) == [], "no agent at all"
    result = call.run()
    assert result.dialled == ["+8613900000000"] and result.queue_results[0] == "leave"
    assert entry_of(hotline, result.call_sid).status in ("duty", "abandoned")


def test_waiting_callers_hear_their_place_and_an_estimate(floor, hotline):
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).where(Agent.name == "陈静").values(state="on_call"))
    # (a long estimated wait also offers a call-back: these callers let it pass in silence)
    first = waiting_caller(floor, "1", "0", "silence", caller="+8613800000001")
    script = ScriptedCaller(["1", "0", "silence"], max_queue_loops=1)
    second = floor.simulator.start_call("+8613800000002", HOTLINE_NUMBER, script)
    result = second.run()
    assert "您前面还有1位客户" in result.spoken()
    assert "预计还需等待约" in result.spoken()
    assert first.run().final_queue == "billing"


def test_why_explains_the_routing_of_a_call(floor, hotline, monkeypatch):
    from click.testing import CliRunner

    from run import cli

    agents_available(hotline, "陈静")
    call = waiting_caller(floor, "1", "0")
    dispatch(hotline)
    monkeypatch.setenv("DATABASE_URL", hotline.settings.database_url)
    result = CliRunner().invoke(cli, ["why", call.sid])
    assert result.exit_code == 0, result.output
    assert "filter=billing" in result.output and f"agent={agent(hotline, '陈静').id}" in result.output
    assert "candidates: [{'agent_id'" in result.output
