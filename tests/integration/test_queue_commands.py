"""run.py queues sync against a Twilio-compatible REST server, and run.py report storm."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ivr.db.session import unit_of_work
from ivr.queueing.storm import set_storm
from ivr.telephony.base import QUEUE_DEFAULT_SIZE, QUEUE_MAX_SIZE
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport
from run import cli
from tests.helpers import new_call_sid


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def test_queues_sync_creates_and_grows_the_queues_through_the_rest_api(env, app, monkeypatch, settings):
    sim = Simulator(FlaskTransport(app), auth_token=settings.twilio_auth_token, voice_url="http://x/voice")
    with serve_in_thread(create_rest_app(sim)) as url:
        monkeypatch.setenv("IVR_TELEPHONY", "twilio")
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", sim.account_sid)
        monkeypatch.setenv("TWILIO_API_BASE_URL", url)
        monkeypatch.setenv("IVR_PUBLIC_BASE_URL", "https://hotline.example.com")
        calm = CliRunner().invoke(cli, ["queues", "sync"])
        assert calm.exit_code == 0, calm.output
        assert f"general                  created  MaxSize {QUEUE_DEFAULT_SIZE}" in calm.output
        assert f"safety                   created  MaxSize {QUEUE_MAX_SIZE}" in calm.output
        stormy = CliRunner().invoke(cli, ["queues", "sync", "--storm"])
        assert stormy.exit_code == 0, stormy.output
        assert f"general                  resized  MaxSize {QUEUE_MAX_SIZE}" in stormy.output
    assert ("update", "general", QUEUE_MAX_SIZE) in sim.queue_changes


def test_queues_sync_without_twilio_says_so(env):
    result = CliRunner().invoke(cli, ["queues", "sync"])
    assert result.exit_code == 1 and "not twilio" in result.output


def test_report_storm_counts_the_callers_since_storm_mode_went_on(env, twilio):
    off = CliRunner().invoke(cli, ["report", "storm"])
    assert off.exit_code == 1 and "storm mode is off" in off.output
    with unit_of_work(env.sessions) as session:
        set_storm(session, True, who="boss")
    sid = new_call_sid()
    twilio.post("/voice/incoming", call_sid=sid)
    result = CliRunner().invoke(cli, ["report", "storm"])
    assert result.exit_code == 0, result.output
    assert "still on the line                    1" in result.output
    assert "no caller has left yet" in result.output
    twilio.post("/voice/status", {"CallStatus": "completed", "CallDuration": "20"}, call_sid=sid)
    result = CliRunner().invoke(cli, ["report", "storm"])
    assert "other                                1" in result.output  # no announcement playing: not news
    assert "left with an announcement or a booked call-back: 0% of 1" in result.output
