"""TwilioTelephony (twilio's own REST client) against the simulator's Twilio-compatible REST server."""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.telephony.base import TelephonyError
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport, HttpTransport
from ivr.telephony.twilio_rest import TwilioTelephony

TOKEN = "integration-auth-token"
BASE = "https://hotline.example"
CALLER = "+8613800000001"
HOTLINE = "+864000000000"
ENGINEER = "+8613800000000"

DOCS = {
    "voice": '<Enqueue waitUrl="/wait" action="/queue-done">safety</Enqueue>',
    "wait": "<Say>please hold</Say>",
    "queue-done": "",
    "agent": "<Say>agent ready</Say><Hangup/>",
    "outbound": '<Gather numDigits="1" action="/ack"><Say>Press 1 to confirm</Say></Gather>',
    "ack": "<Say>confirmed</Say>",
    "status": "",
    "recorded-call": (
        f'<Dial record="record-from-answer-dual" recordingStatusCallback="/recording">{ENGINEER}</Dial>'
    ),
    "recording": "",
}


def webhook_app() -> Flask:
    """Serves DOCS and keeps every request; refuses requests whose signature does not verify."""
    app = Flask(__name__)
    app.config["SEEN"] = seen = []
    validator = RequestValidator(TOKEN)

    @app.post("/<name>")
    def serve(name: str):
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form.to_dict(), signature):
            abort(403)
        seen.append((name, request.form.to_dict()))
        body = f'<?xml version="1.0" encoding="UTF-8"?><Response>{DOCS[name]}</Response>'
        return Response(body, mimetype="text/xml")

    return app


def received(app: Flask, name: str) -> list[dict[str, str]]:
    return [values for path, values in app.config["SEEN"] if path == name]


@pytest.fixture
def hooks() -> Flask:
    return webhook_app()


@pytest.fixture
def sim(hooks: Flask) -> Simulator:
    return Simulator(FlaskTransport(hooks), auth_token=TOKEN, voice_url=f"{BASE}/voice")


@pytest.fixture
def rest_app(sim: Simulator) -> Flask:
    return create_rest_app(sim)


@pytest.fixture
def api_url(rest_app: Flask) -> Iterator[str]:
    """The REST app on a free local port, served from a thread."""
    server = make_server("127.0.0.1", 0, rest_app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def telephony(sim: Simulator, api_url: str) -> Iterator[TwilioTelephony]:
    with TwilioTelephony(sim.account_sid, TOKEN, api_base_url=api_url) as client:
        yield client


def test_redirect_pulls_a_live_queued_call_out_of_the_queue(sim, hooks, rest_app, telephony):
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller())
    assert call.run_until_waiting()

    telephony.redirect_call(call.sid, f"{BASE}/agent")

    # twilio's client really went to the local server, at Twilio's path for a call update.
    path = f"/2010-04-01/Accounts/{sim.account_sid}/Calls/{call.sid}.json"
    assert ("POST", path) in rest_app.config["REST_REQUESTS"]
    result = call.run()
    assert received(hooks, "queue-done")[0]["QueueResult"] == "redirected"
    assert received(hooks, "agent")[0]["CallSid"] == call.sid
    assert result.said() == ["please hold", "agent ready"]
    assert result.ended_by == "hangup-verb"


def test_redirecting_a_finished_call_is_refused(sim, telephony):
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(max_queue_loops=0))
    with pytest.raises(TelephonyError) as error:
        telephony.redirect_call(result.call_sid, f"{BASE}/agent")
    assert (error.value.status, error.value.code) == (400, 21220)
    with pytest.raises(TelephonyError) as unknown:
        telephony.redirect_call("CA" + "f" * 32, f"{BASE}/agent")
    assert (unknown.value.status, unknown.value.code) == (404, 20404)


def test_create_call_with_machine_detection(sim, hooks, rest_app, telephony):
    sim.callee_for("+8613900000000", ScriptedCaller(["1"]), answered_by="machine_start")

    sid = telephony.create_call(
        to="+8613900000000",
        from_=HOTLINE,
        url=f"{BASE}/outbound",
        status_callback=f"{BASE}/status",
        machine_detection=True,
    )

    assert ("POST", f"/2010-04-01/Accounts/{sim.account_sid}/Calls.json") in rest_app.config["REST_REQUESTS"]
    [pending] = sim.pending_calls()
    assert pending.sid == sid
    assert pending.status_events == ("answered", "completed")
    [result] = sim.run_pending_calls()
    outbound = received(hooks, "outbound")[0]
    assert (outbound["CallSid"], outbound["AnsweredBy"]) == (sid, "machine_start")
    assert outbound["Direction"] == "outbound-api"
    assert (outbound["From"], outbound["To"]) == (HOTLINE, "+8613900000000")
    assert received(hooks, "ack")[0]["Digits"] == "1"
    assert [s["CallStatus"] for s in received(hooks, "status")] == ["in-progress", "completed"]
    assert result.said() == ["Press 1 to confirm", "confirmed"]


def test_create_call_without_machine_detection_sends_no_answered_by(sim, hooks, telephony):
    sim.callee_for("+8613900000000", ScriptedCaller(["1"]), answered_by="machine_start")
    telephony.create_call(to="+8613900000000", from_=HOTLINE, url=f"{BASE}/outbound")
    sim.run_pending_calls()
    assert "AnsweredBy" not in received(hooks, "outbound")[0]
    assert received(hooks, "status") == []


def test_fetch_recording_returns_the_wav_bytes(sim, hooks, telephony):
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller(), voice_url=f"{BASE}/recorded-call")
    call.run()
    recording_sid = received(hooks, "recording")[0]["RecordingSid"]

    audio = telephony.fetch_recording(recording_sid)

    assert audio == sim.recording_audio(recording_sid)
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getnchannels() == 2
        assert wav.getframerate() == 8000
    with pytest.raises(TelephonyError) as missing:
        telephony.fetch_recording("RE" + "0" * 32)
    assert missing.value.status == 404


def test_recording_is_also_served_as_mp3(sim, hooks, api_url):
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller(), voice_url=f"{BASE}/recorded-call")
    call.run()
    recording_url = received(hooks, "recording")[0]["RecordingUrl"]
    path = recording_url.split("api.twilio.com", 1)[1]
    response = requests.get(f"{api_url}{path}.mp3", auth=(sim.account_sid, TOKEN), timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert response.content[:2] == b"\xff\xfb"


@pytest.mark.parametrize(("account", "token"), [(None, "wrong-token"), ("AC" + "9" * 32, TOKEN)])
def test_wrong_credentials_raise_telephony_error(sim, api_url, account, token):
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller())
    call.run_until_waiting()
    with TwilioTelephony(account or sim.account_sid, token, api_base_url=api_url) as bad:
        with pytest.raises(TelephonyError) as redirect_error:
            bad.redirect_call(call.sid, f"{BASE}/agent")
        with pytest.raises(TelephonyError) as create_error:
            bad.create_call(to="+8613900000000", from_=HOTLINE, url=f"{BASE}/outbound")
        with pytest.raises(TelephonyError) as fetch_error:
            bad.fetch_recording("RE" + "0" * 32)
    assert redirect_error.value.status == create_error.value.status == fetch_error.value.status == 401
    assert redirect_error.value.code == 20003
    assert sim.pending_calls() == []
    assert call.run().queue_results == ["hangup"]  # never redirected


def test_unreachable_api_raises_telephony_error(sim):
    with TwilioTelephony(sim.account_sid, TOKEN, api_base_url="http://127.0.0.1:9") as offline:
        with pytest.raises(TelephonyError):
            offline.redirect_call("CA" + "0" * 32, f"{BASE}/agent")
        with pytest.raises(TelephonyError):
            offline.fetch_recording("RE" + "0" * 32)


def test_http_transport_signs_requests_a_real_server_can_verify(hooks):
    # Over real HTTP the signed URL includes host and port, exactly as the server sees it.
    with serve_in_thread(hooks) as hooks_url, HttpTransport() as transport:
        sim = Simulator(transport, auth_token=TOKEN, voice_url=f"{hooks_url}/outbound")
        result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["1"]))
    assert result.errors == []
    assert result.said() == ["Press 1 to confirm", "confirmed"]
    assert received(hooks, "ack")[0]["Digits"] == "1"
