"""Twilio's REST API down while the dispatcher connects a caller: the caller keeps their place."""

from __future__ import annotations

import socket
from datetime import timedelta

from sqlalchemy import select, update

from ivr.db.models import Agent, QueueEntry, utcnow
from ivr.jobs.tasks import dispatch
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport
from ivr.telephony.twilio_rest import TwilioTelephony

CALL_SID = "CA" + "7" * 32


def _closed_port() -> int:
    """A local port nobody listens on: every request to it is refused, as when the API is unreachable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _one_safety_caller(hotline) -> None:
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).where(Agent.name != "赵磊").values(state="offline"))
        session.add(
            QueueEntry(
                call_sid=CALL_SID,
                queue="safety",
                intent="safety",
                language="zh-CN",
                priority=10,
                emergency=True,
                waiting_since=utcnow() - timedelta(seconds=20),
            )
        )


def _entry_and_agents(hotline):
    with hotline.sessions() as session:
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == CALL_SID))
        ringing = session.scalars(select(Agent.name).where(Agent.state == "ringing")).all()
        return entry, ringing


def test_an_unreachable_rest_api_keeps_the_caller_waiting_with_their_place(hotline):
    _one_safety_caller(hotline)
    before, _ = _entry_and_agents(hotline)
    with TwilioTelephony("AC" + "0" * 32, "token", api_base_url=f"http://127.0.0.1:{_closed_port()}") as down:
        hotline.telephony = down
        offers = dispatch(hotline)
    assert offers, "the dispatcher paired the waiting caller with the free agent"
    entry, ringing = _entry_and_agents(hotline)
    assert entry.status == "waiting", "an outage is not the caller hanging up"
    assert entry.waiting_since == before.waiting_since and entry.agent_id is None
    assert ringing == [], "the agent is free for the next pass"


def test_a_call_twilio_says_is_over_leaves_the_queue(hotline, app):
    _one_safety_caller(hotline)
    sim = Simulator(FlaskTransport(app), auth_token="unused", voice_url="https://hotline.example/voice")
    hotline.telephony = SimulatorTelephony(sim)  # it knows no such call: 404, as Twilio answers
    assert dispatch(hotline)
    entry, ringing = _entry_and_agents(hotline)
    assert entry.status == "abandoned" and ringing == []
