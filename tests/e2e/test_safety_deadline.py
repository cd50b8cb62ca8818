"""The gas-leak promise end to end: with every agent busy, the duty engineer is being dialled no later
than IVR_SAFETY_QUEUE_MAX_WAIT (60 s) after the caller chose the gas-leak path, on the simulator's clock."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from ivr.app import create_app
from ivr.db.models import Agent
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport
from tests.e2e.conftest import HOTLINE_NUMBER
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN

DUTY = "+8613900000000"


def busy_floor(app, hotline, fetch_seconds: float) -> Simulator:  # type: ignore[no-untyped-def]
    """A simulator whose clock is the hotline's clock too, and every agent on a call."""
    sim = Simulator(
        FlaskTransport(app),
        auth_token=TEST_AUTH_TOKEN,
        voice_url=f"{PUBLIC_BASE_URL}/voice/incoming",
        status_callback_url=f"{PUBLIC_BASE_URL}/voice/status",
        fallback_url=f"{PUBLIC_BASE_URL}/voice/fallback",
        fetch_seconds=fetch_seconds,
    )
    hotline.telephony = SimulatorTelephony(sim)
    hotline.clock = lambda: sim.clock.datetime().timestamp()  # the server reads the simulated time
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="on_call"))
    return sim


def seconds_to_duty_dial(result) -> float:  # type: ignore[no-untyped-def]
    """Simulated seconds from the caller's gas-leak choice (key or speech) to the duty dial's start."""
    inputs = [e for e in result.entries("input") if e.detail.get("type") in ("digits", "speech")]
    chosen = inputs[-1].at
    dial = next(e for e in result.transcript if e.kind == "dial" and DUTY in e.text)
    return dial.at - chosen


@pytest.mark.parametrize("fetch_seconds", [0.0, 1.0, 2.0])
@pytest.mark.parametrize(
    "script", [["2"], ["9", "2"], ["speech:家里燃气泄漏了"]], ids=["key-zh", "key-en", "speech-zh"]
)
def test_duty_engineer_is_dialled_within_60_s_of_the_choice(app, hotline, script, fetch_seconds):
    sim = busy_floor(app, hotline, fetch_seconds)
    call = sim.start_call("+8613800000004", HOTLINE_NUMBER, ScriptedCaller(script, max_queue_loops=20))
    result = call.run()
    assert not result.errors, result.errors
    assert result.dialled == [DUTY] and result.queue_results[0] == "leave"
    waited = seconds_to_duty_dial(result)
    print(f"{script} fetch {fetch_seconds} s: duty dial {waited:.1f} s after the choice")
    assert waited <= hotline.settings.safety_queue_max_wait
    # while waiting the caller heard their place, and no pause was longer than the announcements' interval
    assert "您是下一位" in result.spoken() or "You are next" in result.spoken()
    pauses = [int(str(e.detail["length"])) for e in result.entries("pause")]
    assert pauses and max(pauses) <= hotline.settings.queue_announce_seconds


def test_the_deadline_holds_with_the_database_down(outage_hotline):
    hotline, outage = outage_hotline
    sim = busy_floor(create_app(hotline=hotline), hotline, fetch_seconds=1.0)
    outage.stop()
    try:
        call = sim.start_call("+8613800000004", HOTLINE_NUMBER, ScriptedCaller(["2"], max_queue_loops=20))
        result = call.run()
    finally:
        outage.start()
    assert not result.errors, result.errors
    assert result.dialled == [DUTY]
    assert seconds_to_duty_dial(result) <= hotline.settings.safety_queue_max_wait
