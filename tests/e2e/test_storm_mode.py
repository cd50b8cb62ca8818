"""Storm mode end to end: whole simulated calls hearing announcements, leaving messages and being called
back, while the gas-leak caller's call stays exactly what it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ivr.configuration import announcements as notices
from ivr.configuration.announcements import AnnouncementInput, cache_of
from ivr.db.models import Agent, Call, CallEvent, QueueEntry, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch
from ivr.queueing.storm import set_storm
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import Phone
from tests.helpers import count

NOTICE_ZH = "因寒潮来电较多，燃气价格咨询请使用华夏燃气App。"
NOTICE_EN = "Because of the cold snap we have many calls; for gas prices please use the Huaxia Gas app."
GAS_FIRST = "如果您闻到燃气味，请立即按2。"
CALLER = "+8613800000005"


@pytest.fixture
def phone(app, hotline):
    """A phone whose REST side (redirects, call-backs) is the same simulator; every agent on a call."""
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="on_call"))
    return phone


def announce(app, hotline):
    now = utcnow()
    given = AnnouncementInput(
        texts={"zh-CN": NOTICE_ZH, "en-US": NOTICE_EN},
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=3),
    )
    with unit_of_work(hotline.sessions) as session:
        notices.create(session, given, who="boss", languages=["zh-CN", "en-US"])
    cache_of(app.extensions, hotline.sessions).invalidate()


def storm(app, hotline, on=True):
    with unit_of_work(hotline.sessions) as session:
        set_storm(session, on, who="boss")
    cache_of(app.extensions, hotline.sessions).invalidate()


def test_in_storm_mode_the_caller_hears_the_gas_key_then_the_announcement_then_the_menu(app, hotline, phone):
    announce(app, hotline)
    storm(app, hotline)
    result = phone.call("0")
    assert not result.errors, result.errors
    said = result.said()
    assert said[0] == GAS_FIRST and said[1] == NOTICE_ZH and "华夏燃气" in said[2]
    assert said.index(NOTICE_ZH) < next(i for i, text in enumerate(said) if "账单和缴费请按1" in text)


def test_without_storm_mode_the_announcement_follows_the_greeting(app, hotline, phone):
    announce(app, hotline)
    result = phone.call("9", "0")
    said = result.said()
    assert "华夏燃气" in said[0] and said.index(NOTICE_ZH) > 0, "greeting first, then the announcement"
    assert NOTICE_EN in said, "after choosing English it is heard in English"
    assert said.count(NOTICE_ZH) == 1


def test_a_gas_leak_caller_can_press_2_at_once_over_the_announcements(app, hotline, phone):
    announce(app, hotline)
    storm(app, hotline)
    result = phone.call("!2")
    assert not result.errors, result.errors
    assert result.said()[0] == GAS_FIRST and NOTICE_ZH not in result.said(), "cut short by the key"
    assert "请您立即关闭燃气阀门" in result.spoken()
    assert result.final_queue == "safety"


@pytest.mark.parametrize("script", [("2",), ("speech:我家燃气泄漏了",)])
def test_the_gas_leak_call_is_the_same_with_storm_mode_on(app, hotline, phone, script):
    def after_greeting(result):
        said = result.said()
        return said[said.index(next(s for s in said if "账单和缴费请按1" in s)) + 1 :]

    def call():
        caller = ScriptedCaller(list(script), max_queue_loops=3)
        return phone.simulator.place_call("+8613800000003", "+864008888888", caller)

    calm = call()
    announce(app, hotline)
    storm(app, hotline)
    stormy = call()
    assert not calm.errors and not stormy.errors
    assert after_greeting(stormy) == after_greeting(calm) and after_greeting(calm)
    assert stormy.queue_results == calm.queue_results and stormy.dialled == calm.dialled
    assert "留言" not in stormy.spoken() and "回电" not in stormy.spoken()


def test_a_billing_caller_leaves_a_message_and_is_called_back_once(app, hotline, phone):
    storm(app, hotline)
    call = phone.simulator.start_call(
        CALLER, "+864008888888", ScriptedCaller(["1", "0", "2", "record:6"], max_queue_loops=5)
    )
    result = call.run()
    assert not result.errors, result.errors
    spoken = result.spoken()
    assert "如需留言，请按2" in spoken and "请在提示音后留言" in spoken and "您的留言已收到" in spoken
    assert result.queue_results[-1] == "leave" and result.recordings
    with hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == result.call_sid))
        record = session.scalar(select(Call).where(Call.call_sid == result.call_sid))
        messages = count(
            session, CallEvent, CallEvent.call_sid == result.call_sid, CallEvent.kind == "voicemail"
        )
    assert entry.status == "callback" and entry.callback_number == CALLER and messages == 1
    assert record.outcome == "callback-owed"

    phone.simulator.callee_for(CALLER, ScriptedCaller([]))
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).where(Agent.name == "陈静").values(state="available"))
    offers = dispatch(hotline)
    assert [offer.callback_number for offer in offers] == [CALLER]
    assert dispatch(hotline) == [], "never placed twice"
    [outbound] = phone.simulator.run_pending_calls()
    assert "按照您的要求给您回电" in outbound.spoken() and outbound.dialled


def test_a_billing_caller_chooses_a_call_back_at_the_storm_offer(app, hotline, phone):
    storm(app, hotline)
    result = phone.call("1", "0", "1", "1", caller=CALLER, wait_loops=5)
    assert not result.errors, result.errors
    assert "如需我们回电，请按1" in result.spoken() and "轮到您时我们会给您回电" in result.spoken()
    with hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == result.call_sid))
    assert entry.status == "callback" and entry.callback_number == CALLER


def test_without_storm_mode_the_billing_caller_just_waits(app, hotline, phone):
    result = phone.call("1", "0", "2", caller=CALLER, wait_loops=2)
    assert not result.errors, result.errors
    assert "留言" not in result.spoken() and result.queue_results[-1] == "hangup"
