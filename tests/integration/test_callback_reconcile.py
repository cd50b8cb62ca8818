"""Before a stale call-back is placed again, Twilio's Calls list is asked whether it went out already: the
simulator's REST server answers that list like Twilio, and the dispatcher's queue call-backs use it too."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import select, update

from ivr.db.models import Agent, QueueEntry, utcnow
from ivr.jobs.tasks import claim_pairings, release_stale
from ivr.telephony.base import TelephonyError
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import SimClock, Simulator
from ivr.telephony.transport import HttpTransport
from ivr.telephony.twilio_rest import TwilioTelephony

TOKEN = "reconcile-auth-token"
CUSTOMER = "+8613800000077"
HOTLINE = "+864008888888"


def _sim(start: datetime | None = None) -> Simulator:
    clock = SimClock(start or datetime.now(UTC))
    return Simulator(
        HttpTransport(), auth_token=TOKEN, voice_url="https://hotline.example/voice", clock=clock
    )


def test_the_calls_list_is_filtered_by_to_start_time_and_status_like_twilios():
    sim = _sim(datetime(2026, 3, 7, 8, 0, tzinfo=UTC))
    first = sim.create_call(to=CUSTOMER, from_=HOTLINE, url="https://hotline.example/a")
    sim.create_call(to="+8613800000099", from_=HOTLINE, url="https://hotline.example/b")
    sim.clock.advance(86_400)  # the next day
    second = sim.create_call(to=CUSTOMER, from_=HOTLINE, url="https://hotline.example/c")
    sim.call(first).status = "completed"  # it ran yesterday: it has a start time
    with serve_in_thread(create_rest_app(sim)) as base:
        url = f"{base}/2010-04-01/Accounts/{sim.account_sid}/Calls.json"
        auth = (sim.account_sid, TOKEN)

        def sids(**params: str) -> list[str]:
            answer = requests.get(url, params=params, auth=auth, timeout=5)
            assert answer.status_code == 200, answer.text
            return [call["sid"] for call in answer.json()["calls"]]

        assert sids(To=CUSTOMER) == [second, first]  # newest first, as Twilio lists them
        assert sids(To=CUSTOMER, **{"StartTime>": "2026-03-07"}) == [first]  # a queued call has not started
        assert sids(To=CUSTOMER, **{"StartTime>": "2026-03-08"}) == []
        assert sids(To=CUSTOMER, Status="queued") == [second]
        bad = requests.get(url, params={"StartTime>": "yesterday"}, auth=auth, timeout=5)
        assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["message"]
        # twilio's own client, through the adapter: both calls since yesterday 07:59, only the new one later
        with TwilioTelephony(sim.account_sid, TOKEN, base) as twilio:
            assert [c.sid for c in twilio.calls_placed(to=CUSTOMER, since=datetime(2026, 3, 7, 7, 59))] == [
                first,
                second,
            ]
            later = twilio.calls_placed(to=CUSTOMER, since=datetime(2026, 3, 8, 7, 59))
    assert [(c.sid, c.status, c.live) for c in later] == [(second, "queued", True)]
    assert later[0].created_at == datetime(2026, 3, 8, 8, 0)
    assert date(2026, 3, 8) == later[0].created_at.date()


def test_the_adapter_says_when_twilio_cannot_be_asked():
    with (
        TwilioTelephony("AC" + "1" * 32, TOKEN, "http://127.0.0.1:9") as twilio,
        pytest.raises(TelephonyError, match="listing the calls"),
    ):
        twilio.calls_placed(to=CUSTOMER, since=datetime(2026, 3, 7))


def _owed_call_back(hotline) -> None:  # type: ignore[no-untyped-def]
    now = utcnow()
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="offline"))
        session.add(
            Agent(
                name="agent",
                client_identity="reconcile-agent",
                skills={"general": 3},
                languages=["zh-CN"],
                groups=["general"],
                state="available",
                idle_since=now,
            )
        )
        session.add(
            QueueEntry(
                call_sid="CA" + "7" * 32,
                queue="general",
                intent="agent",
                language="zh-CN",
                status="callback",
                callback_number=CUSTOMER,
                waiting_since=now - timedelta(minutes=5),
            )
        )


def _entry(hotline) -> QueueEntry:  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return session.scalars(select(QueueEntry)).one()


def test_a_queue_call_back_placed_by_a_dispatcher_that_died_is_adopted(hotline):  # type: ignore[no-untyped-def]
    sim = _sim()
    target = dataclasses.replace(hotline, telephony=SimulatorTelephony(sim))
    _owed_call_back(target)
    (offer,) = claim_pairings(target, utcnow())
    # The dispatcher's call is accepted, and the dispatcher dies before keeping its CallSid.
    sid = sim.create_call(to=CUSTOMER, from_=HOTLINE, url="https://hotline.example/voice/callback-connect")
    later = utcnow() + timedelta(seconds=hotline.settings.stale_claim_seconds + 5)
    release_stale(target, later)
    entry = _entry(target)
    assert (entry.status, entry.callback_call_sid, entry.agent_id) == ("offered", sid, offer.agent_id)
    with target.sessions() as session:
        assert session.get(Agent, offer.agent_id).state == "ringing", "kept for the call-back under way"
    assert claim_pairings(target, later) == [] and len(sim.calls) == 1, "never placed a second time"


def test_a_queue_call_back_that_never_went_out_is_owed_again(hotline):  # type: ignore[no-untyped-def]
    sim = _sim()
    target = dataclasses.replace(hotline, telephony=SimulatorTelephony(sim))
    _owed_call_back(target)
    claim_pairings(target, utcnow())  # ... and the dispatcher dies before placing the call
    release_stale(target, utcnow() + timedelta(seconds=hotline.settings.stale_claim_seconds + 5))
    entry = _entry(target)
    assert (entry.status, entry.callback_call_sid, entry.agent_id) == ("callback", None, None)
    assert sim.calls == {}
