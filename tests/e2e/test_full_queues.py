"""Queues sized for a storm, end to end through the simulator: Twilio's queues created and grown through the
REST API, a caller past a full queue overflows, then books a call-back and hears so, and a gas-leak caller
meeting a full safety queue is dialled to the duty engineer at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from ivr.db.models import Agent, Call, QueueEntry
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import size_queues
from ivr.queueing.storm import set_storm
from ivr.telephony.base import QUEUE_DEFAULT_SIZE, QUEUE_MAX_SIZE
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.twilio_rest import TwilioTelephony
from tests.e2e.conftest import HOTLINE_NUMBER, Phone
from tests.helpers import TEST_AUTH_TOKEN
from tests.integration.test_announcements import _login, _post

BUSY_CALLBACK = "当前线路繁忙，我们已记录您的号码，将尽快给您回电。感谢您的来电，再见。"
DUTY = "+8613900000000"


@pytest.fixture
def phone(app, hotline):
    """A phone whose REST side is the same simulator; every agent on a call, so callers wait."""
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="on_call"))
    return phone


def waiting(phone, caller, *keys):
    """A caller who pressed `keys` and now holds in a queue (silent at any offer, never hanging up)."""
    script = ScriptedCaller([*keys, *["silence"] * 5], max_queue_loops=100)
    call = phone.simulator.start_call(caller, HOTLINE_NUMBER, script)
    assert call.run_until_waiting(), "the caller should be holding in a queue"
    return call


def entry_of(hotline, call_sid):
    with hotline.sessions() as session:
        return session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))


def test_the_queues_are_created_and_grown_through_the_rest_api(app, hotline, phone):
    sim = phone.simulator
    rest = create_rest_app(sim)
    with serve_in_thread(rest) as url, TwilioTelephony(sim.account_sid, TEST_AUTH_TOKEN, url) as client:
        hotline.telephony = client
        size_queues(hotline)  # at start, storm mode off
        calm = dict((name, size) for action, name, size in sim.queue_changes if action == "create")
        assert calm["general"] == calm["billing"] == QUEUE_DEFAULT_SIZE
        assert calm["safety"] == QUEUE_MAX_SIZE, "a gas-leak caller never meets a full queue"
        assert calm["general.overflow"] == QUEUE_MAX_SIZE and "safety.overflow" not in calm
        with unit_of_work(hotline.sessions) as session:
            set_storm(session, True, who="boss")
        size_queues(hotline)
        grown = {name: size for action, name, size in sim.queue_changes if action == "update"}
        assert grown == {"general": QUEUE_MAX_SIZE, "billing": QUEUE_MAX_SIZE, "repair": QUEUE_MAX_SIZE} | {
            name: QUEUE_MAX_SIZE for name, size in calm.items() if size < QUEUE_MAX_SIZE
        }
        before = len(sim.queue_changes)
        assert all(change.action == "kept" for change in size_queues(hotline)), "in step: nothing to do"
        assert len(sim.queue_changes) == before
    seen = rest.config["REST_REQUESTS"]
    assert ("GET", f"/2010-04-01/Accounts/{sim.account_sid}/Queues.json") in seen
    assert ("POST", f"/2010-04-01/Accounts/{sim.account_sid}/Queues.json") in seen
    assert any(method == "POST" and "/Queues/QU" in path for method, path in seen)
    assert {queue.name: queue.max_size for queue in sim.list_queues()}["general"] == QUEUE_MAX_SIZE


def test_a_queue_is_never_shrunk(app, hotline, phone):
    phone.simulator.create_queue("general", 4000)
    changes = {change.name: change for change in size_queues(hotline, storm=False)}
    assert changes["general"].action == "kept" and changes["general"].max_size == 4000


def test_a_caller_past_a_full_queue_and_its_overflow_books_a_callback_and_hears_so(app, hotline, phone):
    sim = phone.simulator
    sim.create_queue("general", 1)
    sim.create_queue("general.overflow", 1)
    first = waiting(phone, "+8613800000011", "0")
    second = waiting(phone, "+8613800000012", "0")
    assert sim.queues["general"] == [first] and sim.queues["general.overflow"] == [second], "overflowed"
    assert second.result.queue_results == ["queue-full"]

    third = phone.call("0", caller="+8613800000013")
    assert not third.errors, third.errors
    assert third.queue_results == ["queue-full", "queue-full"]
    assert third.said()[-1] == BUSY_CALLBACK and third.ended_by != "caller-hangup"
    owed = entry_of(hotline, third.call_sid)
    assert owed.status == "callback" and owed.callback_number == "+8613800000013", "a real booked call-back"
    with hotline.sessions() as session:
        assert session.scalar(select(Call.outcome).where(Call.call_sid == third.call_sid)) == "callback-owed"
    assert entry_of(hotline, first.sid).status == "waiting", "the callers in the queues keep waiting"


def test_a_second_full_queue_call_from_the_same_number_joins_the_owed_callback(app, hotline, phone):
    sim = phone.simulator
    sim.create_queue("general", 1)
    sim.create_queue("general.overflow", 1)
    waiting(phone, "+8613800000011", "0")
    waiting(phone, "+8613800000012", "0")
    first = phone.call("0", caller="+8613800000013")
    again = phone.call("0", caller="+8613800000013")
    assert again.said()[-1] == BUSY_CALLBACK
    assert entry_of(hotline, first.call_sid).status == "callback"
    joined = entry_of(hotline, again.call_sid)
    assert joined.status == "joined" and joined.joined_entry_id == entry_of(hotline, first.call_sid).id


def test_a_gas_leak_caller_meeting_a_full_safety_queue_is_dialled_to_the_duty_engineer_at_once(
    app, hotline, phone
):
    sim = phone.simulator
    sim.create_queue("safety", 1)  # misconfigured by hand: the app sizes it at the maximum
    waiting(phone, "+8613800000021", "2")
    start = sim.clock.now()
    result = phone.call("2", caller="+8613800000022")
    assert not result.errors, result.errors
    assert result.queue_results == ["queue-full"]
    assert result.dialled == [DUTY], "the duty engineer, not a hang-up"
    dialled_at = next(entry.at for entry in result.transcript if entry.kind == "dial")
    assert dialled_at - start < 60
    assert BUSY_CALLBACK not in result.said()


def test_callers_are_offered_a_callback_before_the_queue_is_full(app, hotline, phone):
    sim = phone.simulator
    sim.create_queue("general", 5)  # 80 % of 5: the fourth caller on
    offer = "如不想继续等待，需要我们回电，请按1。"
    heard = [waiting(phone, f"+86138000000{n}", "0").result.said() for n in range(31, 35)]
    assert [offer in said for said in heard] == [False, False, False, True]


def test_storm_switched_on_in_the_console_grows_the_queues(app, hotline, phone):
    sim = phone.simulator
    size_queues(hotline)
    app.config["SECRET_KEY"] = "test-secret-key"
    client = app.test_client()
    _login(client, hotline, "boss", "supervisor")
    response = _post(client, "/console/announcements/storm", {"on": "1"})
    assert response.status_code == 302
    assert ("update", "general", QUEUE_MAX_SIZE) in sim.queue_changes


# ---------------------------------------------------------------- storm mode measured


def test_storm_outcomes_count_how_callers_left_since_storm_mode_went_on(app, hotline, phone):
    from ivr.queueing.storm import storm_state
    from ivr.queueing.storm_outcomes import storm_outcomes
    from tests.e2e.test_storm_mode import NOTICE_ZH, announce, storm

    before = phone.call("0", caller="+8613800000040")  # before storm mode: not counted
    phone.simulator.clock.advance(5)
    announce(app, hotline)
    storm(app, hotline)
    news = phone.call(caller="+8613800000041")  # hears the news and hangs up in the menu
    assert NOTICE_ZH in news.said()
    booked = phone.call("1", "0", "1", "1", caller="+8613800000042", wait_loops=5)  # the offer: 1, 1 confirms
    gave_up = phone.call("0", caller="+8613800000043", wait_loops=1)  # waits, then hangs up
    leak = phone.call("2", caller="+8613800000044", wait_loops=1)
    assert entry_of(hotline, booked.call_sid).status == "callback"
    with hotline.sessions() as session:
        since = storm_state(session).set_at
        outcomes = storm_outcomes(session, since)
    assert (outcomes.announcement, outcomes.callback, outcomes.agent, outcomes.other) == (1, 1, 0, 1)
    assert outcomes.gas_leak == 1 and outcomes.on_the_line == 0
    assert outcomes.no_agent_share == pytest.approx(2 / 3)
    assert before.call_sid and gave_up.call_sid and leak.call_sid

    app.config["SECRET_KEY"] = "test-secret-key"
    client = app.test_client()
    _login(client, hotline, "boss", "supervisor")
    page = client.get("/console/announcements").get_data(as_text=True)
    assert "<strong>67%</strong>" in page and "of 3 who left" in page


def test_the_rest_server_refuses_a_size_over_twilios_maximum_and_a_second_queue_of_one_name(phone):
    from ivr.telephony.base import TelephonyError

    sim = phone.simulator
    with (
        serve_in_thread(create_rest_app(sim)) as url,
        TwilioTelephony(sim.account_sid, TEST_AUTH_TOKEN, url) as client,
    ):
        with pytest.raises(TelephonyError) as too_big:
            client.create_queue("general", QUEUE_MAX_SIZE + 1)
        assert too_big.value.status == 400
        made = client.create_queue("general", QUEUE_MAX_SIZE)
        with pytest.raises(TelephonyError):
            client.create_queue("general", 10)
        assert client.resize_queue(made.sid, 10).max_size == 10
        assert [(queue.name, queue.max_size) for queue in client.list_queues()] == [("general", 10)]
