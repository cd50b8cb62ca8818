"""Recordings end to end: a simulated caller routed to a simulated agent, the Dial recorded on both
channels, Twilio's recording callback stored, and the audio played back through the application."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from ivr.db.models import Agent, Call, PlaybackLog, Recording, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import dispatch, note_absent_recordings
from ivr.people.user_admin import create_user
from ivr.quality.recordings import ABSENT_AFTER
from ivr.telephony import dial_flow
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_telephony import SimulatorTelephony
from tests.e2e.conftest import HOTLINE_NUMBER, Phone

PASSWORD = "correct horse battery"


@pytest.fixture
def floor(app, hotline, monkeypatch, tmp_path):
    """The simulator on both sides (webhooks and REST), all agents offline, recordings kept under tmp."""
    phone = Phone(app)
    hotline.telephony = SimulatorTelephony(phone.simulator)
    monkeypatch.setattr(hotline, "settings", hotline.settings.with_overrides(recordings_dir=tmp_path / "rec"))
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="offline"))
    return phone


def agent_named(hotline, name):
    with hotline.sessions() as session:
        return session.scalar(select(Agent).where(Agent.name == name))


def answered_billing_call(floor, hotline):
    """A billing caller waits, the dispatcher gives them 陈静, they talk; returns the call's result."""
    with hotline.sessions() as session, session.begin():
        session.execute(
            update(Agent)
            .where(Agent.name == "陈静")
            .values(state="available", idle_since=utcnow() - timedelta(minutes=1))
        )
    call = floor.simulator.start_call(
        "+8613800000001", HOTLINE_NUMBER, ScriptedCaller(["1", "0"], max_queue_loops=50)
    )
    assert call.run_until_waiting(), "the caller should be holding in the billing queue"
    assert len(dispatch(hotline)) == 1
    result = call.run()
    assert not result.errors, result.errors
    return result


def recordings_of(hotline, call_sid):
    with hotline.sessions() as session:
        return session.scalars(select(Recording).where(Recording.call_sid == call_sid)).all()


def test_the_agent_calls_recording_is_stored_with_its_agent(floor, hotline):
    result = answered_billing_call(floor, hotline)
    chen = agent_named(hotline, "陈静")
    [sid] = result.recordings
    [recording] = recordings_of(hotline, result.call_sid)
    assert recording.recording_sid == sid and recording.url == floor.simulator.recording_url(sid)
    assert recording.status == "completed" and recording.channels == 2 and recording.duration_seconds > 0
    assert recording.agent_id == chen.id
    with hotline.sessions() as session:
        started = session.scalar(select(Call.started_at).where(Call.call_sid == result.call_sid))
    assert recording.started_at == started
    assert note_absent_recordings(hotline, utcnow() + ABSENT_AFTER * 2) == 0, "it came: not absent"


def test_a_recording_callback_that_never_comes_leaves_an_absent_row(floor, hotline, monkeypatch):
    monkeypatch.setattr(dial_flow, "recording_callback", lambda *args, **kwargs: None)  # Twilio lost it
    result = answered_billing_call(floor, hotline)
    assert recordings_of(hotline, result.call_sid) == []
    assert note_absent_recordings(hotline, utcnow() + ABSENT_AFTER + timedelta(minutes=1)) == 1
    [absent] = recordings_of(hotline, result.call_sid)
    assert absent.status == "absent" and absent.agent_id == agent_named(hotline, "陈静").id
    assert absent.recording_sid is None and absent.error


def test_the_recording_plays_for_quality_and_its_agent_but_not_another_agent(floor, hotline, app):
    result = answered_billing_call(floor, hotline)
    [recording] = recordings_of(hotline, result.call_sid)
    chen, other = agent_named(hotline, "陈静"), agent_named(hotline, "Emily Wu")
    app.config["SECRET_KEY"] = "test-secret-key"
    heard = {}
    people = [("auditor", "quality", None), ("chen", "agent", chen.id), ("emily", "agent", other.id)]
    for username, role, agent_id in people:
        with unit_of_work(hotline.sessions) as session:
            create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
        client = app.test_client()
        csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', client.get("/login").get_data(True))
        form = {"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)}
        assert client.post("/login", data=form).status_code == 302
        with client.get(f"/recordings/{recording.id}/audio") as response:
            heard[username] = (response.status_code, response.mimetype, response.get_data()[:4])
    assert heard["auditor"] == (200, "audio/wav", b"RIFF")
    assert heard["chen"] == (200, "audio/wav", b"RIFF")
    assert heard["emily"][0] == 403
    with hotline.sessions() as session:
        logged = session.scalars(select(PlaybackLog).order_by(PlaybackLog.id)).all()
    assert [(row.recording_id, row.call_sid) for row in logged] == [(recording.id, result.call_sid)] * 2
