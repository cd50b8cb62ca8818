"""The Twilio simulator, driven against a tiny Flask app that checks every signature."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

from ivr.telephony.base import TelephonyError
from ivr.telephony.callers import InteractiveCaller, ScriptedCaller, parse_action
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import FlaskTransport

TOKEN = "test-auth-token"
BASE = "https://hotline.example"
CALLER = "+8613800000001"
HOTLINE = "+864000000000"

Doc = str | Callable[[dict[str, str]], "str | Response"]


@dataclass
class Seen:
    """One webhook request as the test app received it."""

    path: str
    values: dict[str, str]
    headers: dict[str, str]


def make_app(docs: dict[str, Doc]) -> Flask:
    """A webhook server answering `docs[path]`; refuses any request with a bad signature."""
    app = Flask(__name__)
    app.config["SEEN"] = seen = []
    validator = RequestValidator(TOKEN)

    @app.route("/<path:name>", methods=["GET", "POST"])
    def serve(name: str):
        form = request.form.to_dict() if request.method == "POST" else {}
        # The query exactly as sent (request.url would decode %3A, %2C...), as ivr.calls.signature does.
        query = request.query_string.decode("latin-1")
        url = request.host_url.rstrip("/") + request.path + (f"?{query}" if query else "")
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        values = form if request.method == "POST" else request.args.to_dict()
        seen.append(Seen(name, values, dict(request.headers)))
        doc = docs[name]
        body = doc if isinstance(doc, str | Response) else doc(values)
        if isinstance(body, Response):
            return body
        document = f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'
        return Response(document, mimetype="text/xml")

    return app


def seen(app: Flask, path: str) -> list[Seen]:
    """Requests the app received at `path`."""
    return [s for s in app.config["SEEN"] if s.path == path]


def make_sim(app: Flask, **options) -> Simulator:
    """A simulator whose number points at the app's /voice."""
    options.setdefault("voice_url", f"{BASE}/voice")
    return Simulator(FlaskTransport(app), auth_token=TOKEN, seed=7, **options)


MENU = (
    '<Gather numDigits="1" action="/menu"><Say language="zh-CN">燃气请按1</Say></Gather><Say>No input</Say>'
)


def menu_choice(values: dict[str, str]) -> str:
    return f"<Say>You chose {values.get('Digits') or values.get('SpeechResult')}</Say>"


# ----- requests and signatures -------------------------------------------------------------


def test_every_request_is_signed_and_carries_twilio_parameters():
    app = make_app({"voice": MENU, "menu": menu_choice, "status": ""})
    sim = make_sim(app, status_callback_url=f"{BASE}/status?tenant=gas")
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["1"]))

    assert result.errors == []
    assert [s.path for s in app.config["SEEN"]] == ["voice", "menu", "status"]
    validator = RequestValidator(TOKEN)
    for sent in result.requests:
        signature = sent.headers["X-Twilio-Signature"]
        assert validator.validate(sent.url, sent.params, signature)
        assert not RequestValidator("another-token").validate(sent.url, sent.params, signature)
        assert sent.headers["I-Twilio-Idempotency-Token"]
    first = seen(app, "voice")[0].values
    assert re.fullmatch(r"CA[0-9a-f]{32}", first["CallSid"])
    assert first["CallSid"] == result.call_sid
    assert re.fullmatch(r"AC[0-9a-f]{32}", first["AccountSid"])
    assert (first["From"], first["To"]) == (CALLER, HOTLINE)
    assert (first["Caller"], first["Called"]) == (CALLER, HOTLINE)
    assert (first["Direction"], first["ApiVersion"]) == ("inbound", "2010-04-01")
    assert first["CallStatus"] == "ringing"
    assert seen(app, "menu")[0].values["CallStatus"] == "in-progress"
    assert "You chose 1" in result.spoken()


def test_unsigned_or_wrongly_signed_requests_are_refused_by_the_test_app():
    # Guards the guard: the app really checks signatures, so the other tests prove something.
    app = make_app({"voice": "<Say>hi</Say>"})
    client = app.test_client()
    assert client.post(f"{BASE}/voice", data={"CallSid": "CA1"}).status_code == 403
    sim = Simulator(FlaskTransport(app), auth_token="wrong-token", voice_url=f"{BASE}/voice")
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [11200]
    assert result.ended_by == "error"


def test_get_method_sends_parameters_in_the_signed_query_string():
    app = make_app({"voice": '<Redirect method="GET">/next?step=2</Redirect>', "next": "<Say>got it</Say>"})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    request_next = seen(app, "next")[0]
    assert request_next.values["step"] == "2"
    assert request_next.values["CallSid"] == result.call_sid
    assert result.said() == ["got it"]


# ----- Gather ------------------------------------------------------------------------------


def test_gather_digits_go_to_the_action_url():
    app = make_app({"voice": MENU, "menu": menu_choice})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["1"]))
    assert seen(app, "menu")[0].values["Digits"] == "1"
    assert result.said() == ["燃气请按1", "You chose 1"]
    assert result.transcript[1].language == "zh-CN"
    assert result.ended_by == "document-end"


def test_gather_speech_gives_speech_result_and_confidence():
    voice = (
        '<Gather input="dtmf speech" action="/menu" language="zh-CN" hints="燃气,暖气">'
        "<Say>请说</Say></Gather>"
    )
    app = make_app({"voice": voice, "menu": menu_choice})
    make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["speech:燃气泄漏"]))
    values = seen(app, "menu")[0].values
    assert values["SpeechResult"] == "燃气泄漏"
    assert 0 < float(values["Confidence"]) <= 1
    assert "Digits" not in values


@pytest.mark.parametrize("item", ["silence", "speech:hello"])
def test_no_usable_input_falls_through_to_the_next_verb(item):
    # Speech at a dtmf-only Gather is not heard: the same as silence.
    app = make_app({"voice": MENU, "menu": menu_choice})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller([item]))
    assert seen(app, "menu") == []
    assert result.said() == ["燃气请按1", "No input"]
    assert result.entries("input")[0].detail["type"] == "silence"


def test_action_on_empty_result_posts_the_action_without_input():
    app = make_app({"voice": '<Gather actionOnEmptyResult="true" action="/menu"/>', "menu": "<Hangup/>"})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["silence"]))
    assert "Digits" not in seen(app, "menu")[0].values
    assert result.ended_by == "hangup-verb"


def test_finish_on_key_ends_the_digits_and_is_not_included():
    app = make_app({"voice": '<Gather action="/menu"/>', "menu": menu_choice})
    make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["123#"]))
    values = seen(app, "menu")[0].values
    assert values["Digits"] == "123"
    assert values["FinishedOnKey"] == "#"


def test_num_digits_stops_collecting_and_custom_finish_key():
    app = make_app(
        {
            "voice": '<Gather numDigits="2" action="/menu"/>',
            "menu": "<Redirect>/again</Redirect>",
            "again": '<Gather finishOnKey="*" action="/last"/>',
            "last": "",
        }
    )
    make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["1234", "56*"]))
    assert seen(app, "menu")[0].values["Digits"] == "12"
    assert seen(app, "last")[0].values["Digits"] == "56"


def test_gather_without_action_posts_back_to_the_same_document():
    docs = {"voice": lambda v: menu_choice(v) if "Digits" in v else '<Gather numDigits="1"/>'}
    app = make_app(docs)
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["7"]))
    assert [s.path for s in app.config["SEEN"]] == ["voice", "voice"]
    assert result.said() == ["You chose 7"]


def test_barge_in_cuts_the_nested_prompts_short():
    voice = (
        '<Gather numDigits="1" action="/menu"><Say>first</Say><Pause length="2"/><Say>second</Say></Gather>'
    )
    app = make_app({"voice": voice, "menu": menu_choice})
    interrupted = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["!5"]))
    assert interrupted.said() == ["first", "You chose 5"]
    assert interrupted.entries("say")[0].detail.get("interrupted") is True
    listened = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["5"]))
    assert listened.said() == ["first", "second", "You chose 5"]
    assert [e.kind for e in listened.transcript[:4]] == ["gather", "say", "pause", "say"]


def test_hangup_at_a_gather_and_exhausted_script_end_the_call():
    app = make_app({"voice": MENU + "<Say>never</Say>", "menu": menu_choice})
    for script in (["hangup"], []):
        result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(script))
        assert result.ended_by == "caller-hangup"
        assert "never" not in result.said()


# ----- Enqueue -----------------------------------------------------------------------------


QUEUE = '<Enqueue waitUrl="/wait" action="/queue-done">safety</Enqueue><Say>after queue</Say>'


def test_enqueue_wait_loop_reports_queue_position_and_hangup():
    app = make_app(
        {
            "voice": QUEUE,
            "wait": lambda v: f"<Say>You are number {v['QueuePosition']}</Say><Play>/hold.mp3</Play>",
            "queue-done": "<Say>ignored</Say>",
        }
    )
    sim = make_sim(app)
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(max_queue_loops=2))

    waits = [s.values for s in seen(app, "wait")]
    assert len(waits) == 3  # the first fetch plus max_queue_loops re-fetches
    for values in waits:
        assert values["QueuePosition"] == "1"
        assert values["CurrentQueueSize"] == "1"
        assert re.fullmatch(r"QU[0-9a-f]{32}", values["QueueSid"])
        assert values["AvgQueueTime"] == "0"
    times = [int(v["QueueTime"]) for v in waits]
    assert times[0] == 0 and times[0] < times[1] < times[2]
    done = seen(app, "queue-done")[0].values
    assert done["QueueResult"] == "hangup"
    assert done["QueueSid"] == waits[0]["QueueSid"]
    assert result.ended_by == "caller-hangup"
    assert result.queue_results == ["hangup"]
    assert result.final_queue == "safety"
    assert "ignored" not in result.said() and "after queue" not in result.said()
    assert result.entries("play")[0].url == f"{BASE}/hold.mp3"
    assert result.summary().startswith("queued in 'safety' (position 1)")
    assert sim.queues["safety"] == []


def test_second_caller_sees_position_two_and_average_wait():
    app = make_app({"voice": QUEUE, "wait": '<Pause length="10"/>', "queue-done": ""})
    sim = make_sim(app)
    first = sim.start_call(CALLER, HOTLINE, ScriptedCaller(max_queue_loops=0))
    assert first.run_until_waiting()
    second = sim.start_call("+8613900000002", HOTLINE, ScriptedCaller(max_queue_loops=0))
    assert second.run_until_waiting()
    assert seen(app, "wait")[-1].values["QueuePosition"] == "2"
    assert seen(app, "wait")[-1].values["CurrentQueueSize"] == "2"
    first.run()
    assert sim.queues["safety"] == [second]
    second.run()
    assert sim.queues["safety"] == []
    assert sim.average_wait("safety") > 0


def test_leave_in_the_wait_document_posts_the_action_with_leave():
    app = make_app(
        {
            "voice": QUEUE,
            "wait": '<Gather numDigits="1" action="/wait-choice"><Say>Press 0 for voicemail</Say></Gather>',
            "wait-choice": lambda v: "<Leave/>" if v.get("Digits") == "0" else "<Say>keep holding</Say>",
            "queue-done": lambda v: f"<Say>left with {v['QueueResult']}</Say>",
        }
    )
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["5", "0"]))
    done = seen(app, "queue-done")[0].values
    assert done["QueueResult"] == "leave"
    assert int(done["QueueTime"]) > 0
    menu = "Press 0 for voicemail"
    assert result.said() == [menu, "keep holding", menu, "left with leave"]
    assert result.queue_results == ["leave"]
    assert result.entries("leave")[0].text == "safety"


def test_leave_without_action_continues_after_enqueue():
    voice = '<Enqueue waitUrl="/wait">safety</Enqueue><Say>after queue</Say>'
    app = make_app({"voice": voice, "wait": "<Leave/>"})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.said() == ["after queue"]


def test_redirect_of_a_queued_live_call_pulls_it_out_of_the_queue():
    app = make_app(
        {
            "voice": QUEUE,
            "wait": "<Say>please hold</Say>",
            "queue-done": "<Say>ignored</Say>",
            "agent": "<Say>agent ready</Say><Hangup/>",
        }
    )
    sim = make_sim(app)
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller())
    assert call.run_until_waiting() is True
    assert call.live and sim.queues["safety"] == [call]
    sim.redirect(call.sid, f"{BASE}/agent")
    result = call.run()
    assert seen(app, "queue-done")[0].values["QueueResult"] == "redirected"
    assert seen(app, "agent")[0].values["CallSid"] == call.sid
    assert result.said() == ["please hold", "agent ready"]
    assert result.queue_results == ["redirected"]
    assert result.ended_by == "hangup-verb"
    assert sim.queues["safety"] == []
    with pytest.raises(Exception, match="not in progress"):
        sim.redirect(call.sid, f"{BASE}/agent")


def test_dial_queue_bridges_the_longest_waiting_caller():
    app = make_app(
        {
            "voice": QUEUE,
            "wait": "<Say>please hold</Say>",
            "queue-done": lambda v: f"<Say>bridged {v['QueueResult']}</Say>",
            "agent": '<Dial action="/agent-done"><Queue url="/whisper">safety</Queue></Dial>',
            "whisper": "<Say>connecting you now</Say>",
            "agent-done": "",
        }
    )
    sim = make_sim(app)
    caller = sim.start_call(CALLER, HOTLINE, ScriptedCaller())
    assert caller.run_until_waiting()
    agent = sim.start_call("+8613900000009", HOTLINE, ScriptedCaller(), voice_url=f"{BASE}/agent").run()
    done = seen(app, "agent-done")[0].values
    assert done["DialCallStatus"] == "completed"
    assert done["DequeuedCallSid"] == caller.sid
    assert agent.dialled == ["queue:safety"]
    result = caller.run()
    assert result.queue_results == ["bridged"]
    assert result.said() == ["please hold", "connecting you now", "bridged bridged"]
    assert seen(app, "whisper")[0].values["DequeingCallSid"] == agent.call_sid


def test_rest_hangup_of_a_queued_call():
    app = make_app({"voice": QUEUE, "wait": "<Say>hold</Say>", "queue-done": "", "status": ""})
    sim = make_sim(app, status_callback_url=f"{BASE}/status")
    call = sim.start_call(CALLER, HOTLINE, ScriptedCaller())
    call.run_until_waiting()
    sim.hangup(call.sid)
    result = call.run()
    assert result.ended_by == "api"
    assert result.queue_results == ["hangup"]
    assert seen(app, "status")[0].values["CallStatus"] == "completed"


# ----- Dial, Record, Reject, status callback ----------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "answered"),
    [
        ("answer", "completed", True),
        ("busy", "busy", False),
        ("no-answer", "no-answer", False),
        ("failed", "failed", False),
    ],
)
def test_dial_outcomes_reach_the_action_url(outcome, status, answered):
    engineer = "+8613800000000"
    app = make_app(
        {
            "voice": f'<Dial action="/dialled" timeout="20"><Number>{engineer}</Number></Dial><Say>no</Say>',
            "dialled": lambda v: f"<Say>{v['DialCallStatus']}</Say>",
        }
    )
    sim = make_sim(app, dial_endpoints={engineer: (outcome, 42)})
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    values = seen(app, "dialled")[0].values
    assert values["DialCallStatus"] == status
    assert re.fullmatch(r"CA[0-9a-f]{32}", values["DialCallSid"])
    assert (values.get("DialCallDuration") == "42") is answered
    assert result.dialled == [engineer]
    assert result.said() == [status]
    assert result.summary().startswith(f"dialled {engineer} ({status})")


def test_dial_without_action_continues_the_document_and_bare_numbers_dial():
    app = make_app({"voice": "<Dial>+8613800000000</Dial><Say>after dial</Say>"})
    sim = make_sim(app, dial_endpoints={"+8613800000000": "busy"})
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.dialled == ["+8613800000000"]
    assert result.said() == ["after dial"]


def test_recorded_dial_posts_the_recording_status_callback():
    app = make_app(
        {
            "voice": (
                '<Dial record="record-from-answer-dual" recordingStatusCallback="/recording" '
                'action="/dialled">'
                "<Number>+8613800000000</Number><Client>engineer-7</Client></Dial>"
            ),
            "dialled": "<Hangup/>",
            "recording": "",
        }
    )
    sim = make_sim(app, dial_endpoints={"+8613800000000": "no-answer", "client:engineer-7": ("answer", 12)})
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    recording = seen(app, "recording")[0].values
    assert recording["RecordingChannels"] == "2"
    assert recording["RecordingStatus"] == "completed"
    assert recording["RecordingSource"] == "DialVerb"
    assert recording["RecordingDuration"] == "12"
    assert recording["RecordingUrl"].endswith(f"/Recordings/{recording['RecordingSid']}")
    assert re.fullmatch(r"RE[0-9a-f]{32}", recording["RecordingSid"])
    assert seen(app, "dialled")[0].values["RecordingSid"] == recording["RecordingSid"]
    assert result.dialled == ["+8613800000000", "client:engineer-7"]
    audio = sim.recording_audio(recording["RecordingSid"])
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    # The recording callback is Twilio's own, sent after the action was answered.
    purposes = [r.purpose for r in result.requests]
    assert purposes.index("recording-status") > purposes.index("dial-action")


def test_record_posts_recording_to_action_and_empty_recording_falls_through():
    app = make_app(
        {
            "voice": '<Say>Speak</Say><Record maxLength="30" action="/recorded"/><Say>nothing recorded</Say>',
            "recorded": lambda v: f"<Say>got {v['RecordingDuration']} seconds</Say>",
        }
    )
    sim = make_sim(app)
    spoken = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["record:12"]))
    values = seen(app, "recorded")[0].values
    assert values["RecordingDuration"] == "12"
    assert values["Digits"] == "#"
    assert sim.recording_audio(values["RecordingSid"])[:4] == b"RIFF"
    assert spoken.said()[-1] == "got 12 seconds"
    silent = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["silence"]))
    assert silent.said()[-1] == "nothing recorded"
    assert len(seen(app, "recorded")) == 1


def test_status_callback_reports_completed_and_simulated_duration():
    app = make_app({"voice": '<Pause length="7"/><Hangup/><Say>never</Say>', "status": ""})
    result = make_sim(app, status_callback_url=f"{BASE}/status").place_call(CALLER, HOTLINE, ScriptedCaller())
    values = seen(app, "status")[0].values
    assert values["CallStatus"] == "completed"
    assert values["CallDuration"] == "7"
    assert result.duration == 7
    assert result.ended_by == "hangup-verb"
    assert result.said() == []


def test_reject_before_answering_ends_busy_with_no_duration():
    app = make_app({"voice": '<Reject reason="busy"/>', "status": ""})
    result = make_sim(app, status_callback_url=f"{BASE}/status").place_call(CALLER, HOTLINE, ScriptedCaller())
    values = seen(app, "status")[0].values
    assert (values["CallStatus"], values["CallDuration"]) == ("busy", "0")
    assert result.ended_by == "reject"


# ----- Dial: child-leg status callbacks, endpoints that change --------------------------------

ENGINEER = "+8613800000000"
ALL_EVENTS = 'statusCallbackEvent="initiated ringing answered completed"'


def test_dial_number_status_callbacks_report_the_child_leg_before_the_action():
    voice = (
        f'<Dial action="/dialled" callerId="{HOTLINE}">'
        f'<Number {ALL_EVENTS} statusCallback="/leg?who=engineer">{ENGINEER}</Number></Dial>'
    )
    app = make_app({"voice": voice, "dialled": "<Say>done</Say>", "leg": ""})
    sim = make_sim(app, dial_endpoints={ENGINEER: ("answer", 42)})
    result = sim.place_call(CALLER, "+864000000009", ScriptedCaller())

    assert result.errors == []
    assert [s.path for s in app.config["SEEN"]] == ["voice", "leg", "leg", "leg", "leg", "dialled"]
    legs = [s.values for s in seen(app, "leg")]
    assert [v["CallStatus"] for v in legs] == ["initiated", "ringing", "in-progress", "completed"]
    assert [v["SequenceNumber"] for v in legs] == ["0", "1", "2", "3"]
    child = legs[0]["CallSid"]
    assert re.fullmatch(r"CA[0-9a-f]{32}", child) and child != result.call_sid
    assert seen(app, "dialled")[0].values["DialCallSid"] == child
    for values in legs:
        assert values["CallSid"] == child
        assert values["ParentCallSid"] == result.call_sid
        assert values["Direction"] == "outbound-dial"
        assert (values["From"], values["Caller"]) == (HOTLINE, HOTLINE)  # the Dial's callerId
        assert (values["To"], values["Called"], values["ToCountry"]) == (ENGINEER, ENGINEER, "CN")
        assert values["CallbackSource"] == "call-progress-events"
        assert values["AccountSid"] == sim.account_sid
    assert [v.get("CallDuration") for v in legs] == [None, None, None, "42"]
    times = [parsedate_to_datetime(v["Timestamp"]) for v in legs]
    assert times == sorted(times) and (times[3] - times[2]).total_seconds() == 42
    leg_requests = [r for r in result.requests if r.purpose.startswith("dial-status")]
    assert {r.url for r in leg_requests} == {f"{BASE}/leg?who=engineer"}
    assert [r.purpose for r in leg_requests] == [
        "dial-status-initiated",
        "dial-status-ringing",
        "dial-status-answered",
        "dial-status-completed",
    ]


def test_client_and_number_legs_report_unanswered_outcomes_with_their_own_method():
    voice = (
        '<Dial action="/dialled" timeout="20">'
        '<Client statusCallback="/leg" statusCallbackMethod="GET">agent-chenjing</Client>'
        f'<Number statusCallbackEvent="initiated,completed" statusCallback="/leg">{ENGINEER}</Number></Dial>'
    )
    app = make_app({"voice": voice, "dialled": "", "leg": ""})
    sim = make_sim(app, dial_endpoints={"agent-chenjing": "no-answer", ENGINEER: "busy"})
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())

    legs = [(s.values["To"], s.values["CallStatus"], s.values["SequenceNumber"]) for s in seen(app, "leg")]
    # Time order: both legs start, the busy number gives up after seconds, the client at the timeout.
    assert legs == [
        (ENGINEER, "initiated", "0"),
        (ENGINEER, "busy", "1"),
        ("client:agent-chenjing", "no-answer", "0"),  # only "completed" by default
    ]
    client_leg = [r for r in result.requests if r.purpose == "dial-status-completed"][-1]
    assert client_leg.method == "GET" and "CallSid=" in client_leg.url
    assert all(s.values["CallDuration"] == "0" for s in seen(app, "leg") if "CallDuration" in s.values)
    assert seen(app, "dialled")[0].values["DialCallStatus"] == "no-answer"
    assert app.config["SEEN"][-1].path == "dialled"
    assert result.entries("dial")[0].detail["legs"] == {
        "client:agent-chenjing": "no-answer",
        ENGINEER: "busy",
    }


def test_when_one_leg_answers_the_other_ringing_legs_are_canceled():
    voice = (
        f'<Dial action="/dialled"><Number {ALL_EVENTS} statusCallback="/leg">{ENGINEER}</Number>'
        '<Client statusCallback="/leg">agent-a</Client>'
        f'<Client {ALL_EVENTS} statusCallback="/leg">agent-b</Client></Dial>'
    )
    app = make_app({"voice": voice, "dialled": "", "leg": ""})
    sim = make_sim(
        app, dial_endpoints={ENGINEER: "no-answer", "client:agent-a": "busy", "agent-b": ("answer", 9)}
    )
    sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    completed = {
        s.values["To"]: s.values["CallStatus"] for s in seen(app, "leg") if "CallDuration" in s.values
    }
    assert completed == {ENGINEER: "canceled", "client:agent-a": "busy", "client:agent-b": "completed"}
    answered = [s.values for s in seen(app, "leg") if s.values["CallStatus"] == "in-progress"]
    assert [v["To"] for v in answered] == ["client:agent-b"]
    assert seen(app, "dialled")[0].values["DialCallSid"] == answered[0]["CallSid"]
    # The answered leg completes last, after its talk time.
    assert seen(app, "leg")[-1].values["CallStatus"] == "completed"


def test_failing_leg_callbacks_are_recorded_but_do_not_change_the_call():
    voice = (
        f'<Dial action="/dialled"><Number {ALL_EVENTS} statusCallback="/leg">{ENGINEER}</Number></Dial>'
        "<Say>not reached</Say>"
    )
    app = make_app(
        {"voice": voice, "dialled": "<Say>after the dial</Say>", "leg": Response("<Hangup/>", status=500)}
    )
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [11200] * 4
    assert {e.url for e in result.errors} == {f"{BASE}/leg"}
    assert result.said() == ["after the dial"]
    assert result.ended_by == "document-end"


def test_recorded_dial_reports_the_recording_in_the_completed_leg_callback():
    voice = (
        '<Dial record="record-from-answer" action="/dialled">'
        f'<Number statusCallback="/leg">{ENGINEER}</Number></Dial>'
    )
    app = make_app({"voice": voice, "dialled": "", "leg": ""})
    make_sim(app, dial_endpoints={ENGINEER: ("answer", 12)}).place_call(CALLER, HOTLINE, ScriptedCaller())
    (leg,) = [s.values for s in seen(app, "leg")]
    action = seen(app, "dialled")[0].values
    assert (leg["CallStatus"], leg["CallDuration"], leg["RecordingDuration"]) == ("completed", "12", "12")
    assert leg["RecordingSid"] == action["RecordingSid"]


def test_endpoint_sequences_are_used_one_per_dial_attempt_and_the_last_repeats():
    voice = f'<Dial action="/dialled" timeout="10">{ENGINEER}</Dial>'

    def dialled(values: dict[str, str]) -> str:
        if values["DialCallStatus"] == "completed":
            return "<Say>connected</Say>"
        return f"<Say>{values['DialCallStatus']}, trying again</Say><Redirect>/voice</Redirect>"

    app = make_app({"voice": voice, "dialled": dialled})
    sim = make_sim(app, dial_endpoints={ENGINEER: ["no-answer", "busy", ("answer", 20)]})
    assert sim.endpoint(ENGINEER) == ("no-answer", 30)  # a peek, not an attempt
    first = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert first.said() == ["no-answer, trying again", "busy, trying again", "connected"]
    assert [e.detail["duration"] for e in first.entries("dial")] == [0, 0, 20]
    second = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert second.said() == ["connected"]  # the last item repeats
    assert sim.dial_attempts(ENGINEER) == 4
    # Outbound REST calls are dial attempts too.
    sim.set_endpoint("+8613900000000", ("busy", "answer"))
    sim.create_call(to="+8613900000000", from_=HOTLINE, url=f"{BASE}/voice")
    sim.create_call(to="+8613900000000", from_=HOTLINE, url=f"{BASE}/voice")
    assert [c.outcome for c in sim.pending_calls()] == ["busy", "answer"]


def test_set_endpoint_changes_an_endpoint_in_the_middle_of_a_call():
    voice = '<Dial action="/dialled"><Client>agent-chenjing</Client></Dial>'
    statuses: list[str] = []

    def dialled(values: dict[str, str]) -> str:
        statuses.append(values["DialCallStatus"])
        if len(statuses) == 1:
            sim.set_endpoint("client:agent-chenjing", "busy")  # the agent takes another call
            return "<Redirect>/voice</Redirect>"
        return "<Say>agent busy</Say>"

    app = make_app({"voice": voice, "dialled": dialled})
    sim = make_sim(app)
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert statuses == ["completed", "busy"]
    assert result.said() == ["agent busy"]
    sim.set_endpoint("agent-chenjing", ["failed", "answer"])  # the bare identity replaces the other spelling
    assert sim.dial_endpoints == {"agent-chenjing": ["failed", "answer"]}
    assert sim.endpoint("client:agent-chenjing") == ("failed", sim.talk_seconds)


@pytest.mark.parametrize("setting", ["ringing", [], ["answer", "maybe"], [("answer", "long")], 42])
def test_bad_endpoint_settings_are_refused(setting):
    app = make_app({})
    with pytest.raises(ValueError, match=re.escape(ENGINEER)):
        make_sim(app, dial_endpoints={ENGINEER: setting})
    with pytest.raises(ValueError):
        make_sim(app).set_endpoint(ENGINEER, setting)


# ----- Gather in the wait document -------------------------------------------------------------------


def test_keys_pressed_during_the_wait_document_run_the_gather_action_inside_the_queue():
    queued: list[bool] = []

    def wait_choice(values: dict[str, str]) -> str:
        queued.append(any(c.sid == values["CallSid"] for c in sim.queues["safety"]))
        if values["Digits"] == "1":
            return "<Say>We will call you back. Keep holding meanwhile.</Say>"
        return "<Say>Leaving the queue</Say><Leave/>"

    app = make_app(
        {
            "voice": QUEUE,
            "wait": lambda v: (
                f'<Gather numDigits="1" action="/wait-choice"><Say>Position {v["QueuePosition"]}. '
                "Press 1 for a call back, 2 for voicemail</Say></Gather>"
            ),
            "wait-choice": wait_choice,
            "queue-done": lambda v: f"<Say>left with {v['QueueResult']}</Say>",
        }
    )
    sim = make_sim(app)
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["1", "2"]))

    # The Gather action takes over, but the caller stays queued: the waitUrl is fetched again when
    # the action's TwiML runs out, and the Enqueue action is requested only when <Leave/> runs.
    paths = [s.path for s in app.config["SEEN"]]
    assert paths == ["voice", "wait", "wait-choice", "wait", "wait-choice", "queue-done"]
    assert queued == [True, True]
    assert [s.values["Digits"] for s in seen(app, "wait-choice")] == ["1", "2"]
    waits = [int(s.values["QueueTime"]) for s in seen(app, "wait")]
    assert waits[0] < waits[1]
    assert seen(app, "queue-done")[0].values["QueueResult"] == "leave"
    menu = "Position 1. Press 1 for a call back, 2 for voicemail"
    assert result.said() == [
        menu,
        "We will call you back. Keep holding meanwhile.",
        menu,
        "Leaving the queue",
        "left with leave",
    ]
    assert result.queue_results == ["leave"]
    assert sim.queues["safety"] == []


@pytest.mark.parametrize(
    ("action_twiml", "queue_result", "codes"),
    [
        ("<Say>bye</Say><Hangup/>", "hangup", []),
        (f"<Dial>{ENGINEER}</Dial>", "error", [12200]),  # only the wait verbs: the caller is still queued
    ],
)
def test_gather_action_in_the_wait_document_may_end_the_queue_only_like_the_wait_document(
    action_twiml, queue_result, codes
):
    app = make_app(
        {
            "voice": QUEUE,
            "wait": '<Gather numDigits="1" action="/wait-choice"><Say>Press 9</Say></Gather>',
            "wait-choice": action_twiml,
            "queue-done": "",
        }
    )
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(["9"]))
    assert result.queue_results == [queue_result]
    assert [e.code for e in result.errors] == codes
    assert [s.path for s in app.config["SEEN"]] == ["voice", "wait", "wait-choice", "queue-done"]


# ----- what Twilio would reject ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("<Speak>hello</Speak>", 12200),  # unknown verb
        ('<Say colour="red">hello</Say>', 12200),  # unknown attribute
        ("<Gather><Gather/></Gather>", 12200),  # Gather inside Gather
        ("<Gather><Dial>+8613800000000</Dial></Gather>", 12200),  # Dial inside Gather
        ("<Dial><Say>hi</Say></Dial>", 12200),  # verb where a noun belongs
        ("<Number>+8613800000000</Number>", 12200),  # noun outside its verb
        ("<Pause>5</Pause>", 12200),  # text in an empty verb
        ("<Say>unclosed", 12100),  # not well-formed
        (Response("<Say>hi</Say>", mimetype="text/xml"), 12200),  # root is not <Response>
        (Response('{"say": "hi"}', mimetype="application/json"), 12300),  # not TwiML
        ("<Say>" + "x" * 70000 + "</Say>", 11750),  # over 64 kB
    ],
)
def test_documents_twilio_would_reject_end_the_call_with_an_application_error(answer, code):
    app = make_app({"voice": answer, "status": ""})
    result = make_sim(app, status_callback_url=f"{BASE}/status").place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [code]
    assert result.errors[0].url == f"{BASE}/voice"
    assert result.ended_by == "error"
    assert "application error" in result.said()[-1]
    assert seen(app, "status")[0].values["CallStatus"] == "completed"


def test_wait_document_may_only_use_wait_verbs():
    app = make_app({"voice": QUEUE, "wait": "<Dial>+8613800000000</Dial>", "queue-done": "<Say>out</Say>"})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [12200]
    assert "not allowed" in result.errors[0].message
    assert result.errors[0].url == f"{BASE}/wait"
    # the caller leaves the queue with QueueResult=error and the action's TwiML runs
    assert result.queue_results == ["error"]
    assert seen(app, "queue-done")[0].values["QueueResult"] == "error"
    assert result.said()[-1] == "out"


def test_a_dead_wait_url_and_action_reach_the_numbers_hosted_fallback():
    from ivr.telephony.twilio_hosted import echo_url

    app = make_app({"voice": QUEUE, "wait": Response("", status=503), "queue-done": Response("", status=502)})
    sim = make_sim(app, fallback_url=f"{BASE}/fallback")  # the app's own fallback: not asked for this number
    hosted = echo_url(f"<Response><Say>hosted</Say><Dial>{ENGINEER}</Dial></Response>")
    number = sim.numbers.provision(HOTLINE, voice_url=f"{BASE}/voice")
    sim.numbers.update(number.sid, voice_fallback_url=hosted, voice_fallback_method="GET")
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [11200, 11200]
    assert result.queue_results == ["error"]
    fallback = [r for r in result.requests if r.purpose == "fallback"]
    assert len(fallback) == 1 and fallback[0].method == "GET" and fallback[0].url.startswith(hosted)
    assert fallback[0].params["ErrorUrl"] == f"{BASE}/queue-done"
    assert result.dialled == [ENGINEER] and "hosted" in result.said()
    assert not seen(app, "fallback")


def test_a_wait_url_that_fails_without_an_action_goes_on_below_the_enqueue():
    enqueue = '<Enqueue waitUrl="/wait">q</Enqueue><Say>after queue</Say>'
    app = make_app({"voice": enqueue, "wait": Response("", status=500)})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.queue_results == ["error"] and result.said()[-1] == "after queue"


def test_phone_number_updates_are_checked_like_twilio():
    from ivr.telephony.simulator import SimulatorError

    sim = make_sim(make_app({}))
    bare = sim.numbers.provision("+864000000001")
    with pytest.raises(SimulatorError) as refused:
        sim.numbers.update(bare.sid, voice_fallback_url="https://twimlets.com/echo?Twiml=x")
    assert refused.value.code == 21405
    with pytest.raises(SimulatorError) as unknown:
        sim.numbers.update("PN" + "0" * 32, voice_url=f"{BASE}/voice")
    assert unknown.value.status == 404


def test_http_error_uses_the_fallback_url():
    app = make_app(
        {
            "voice": MENU,
            "menu": Response("boom", status=500),
            "fallback": lambda v: f"<Say>Sorry, error {v['ErrorCode']}</Say>",
        }
    )
    result = make_sim(app, fallback_url=f"{BASE}/fallback").place_call(CALLER, HOTLINE, ScriptedCaller(["1"]))
    values = seen(app, "fallback")[0].values
    assert values["ErrorCode"] == "11200"
    assert values["ErrorUrl"] == f"{BASE}/menu"
    assert values["CallSid"] == result.call_sid
    assert result.said()[-1] == "Sorry, error 11200"
    assert [e.code for e in result.errors] == [11200]
    assert result.ended_by == "document-end"


def test_failing_fallback_ends_the_call():
    app = make_app({"voice": Response("", status=503), "fallback": Response("", status=500)})
    result = make_sim(app, fallback_url=f"{BASE}/fallback").place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [11200, 11200]
    assert result.ended_by == "error"


def test_transport_exception_is_a_connection_failure():
    app = make_app({})  # every request raises KeyError inside the app
    app.testing = True  # ...and the test client propagates it
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert [e.code for e in result.errors] == [11205]


def test_http_redirects_are_followed_like_twilio():
    app = make_app(
        {
            "voice": Response("", status=302, headers={"Location": "/moved"}),
            "moved": "<Say>moved here</Say>",
        }
    )
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.said() == ["moved here"]
    assert seen(app, "moved")[0].values["CallSid"] == result.call_sid  # GET with the parameters


def test_plain_text_is_read_out_and_unsimulated_verbs_are_reported():
    app = make_app({"voice": Response("你好", mimetype="text/plain")})
    assert make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller()).said() == ["你好"]
    app = make_app({"voice": "<Connect><Stream url='wss://x'/></Connect>"})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.errors[0].code == 0 and "does not play" in result.errors[0].message


def test_ssml_inside_say_is_accepted():
    app = make_app({"voice": '<Say voice="Polly.Zhiyu" language="cmn-CN">您好<break time="1s"/>再见</Say>'})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller())
    assert result.errors == []
    assert result.transcript[0].voice == "Polly.Zhiyu"
    assert result.said() == ["您好再见"]


# ----- retries, REST side, callers -------------------------------------------------------------


def test_retry_every_request_sends_identical_duplicates():
    app = make_app({"voice": MENU, "menu": menu_choice, "status": ""})
    sim = make_sim(app, retry_every_request=True, status_callback_url=f"{BASE}/status")
    result = sim.place_call(CALLER, HOTLINE, ScriptedCaller(["1"]))
    paths = [s.path for s in app.config["SEEN"]]
    assert paths == ["voice", "voice", "menu", "menu", "status", "status"]
    for first, second in zip(app.config["SEEN"][::2], app.config["SEEN"][1::2], strict=True):
        assert first.values == second.values
        assert first.headers["I-Twilio-Idempotency-Token"] == second.headers["I-Twilio-Idempotency-Token"]
        assert first.headers["X-Twilio-Signature"] == second.headers["X-Twilio-Signature"]
    tokens = {s.headers["I-Twilio-Idempotency-Token"] for s in app.config["SEEN"]}
    assert len(tokens) == 3
    assert len(result.requests) == 6
    assert result.said() == ["燃气请按1", "You chose 1"]


def test_simulator_telephony_places_outbound_calls_with_machine_detection():
    app = make_app(
        {
            "outbound": lambda v: f'<Say>answered by {v["AnsweredBy"]}</Say><Gather action="/ack"/>',
            "ack": "<Say>thanks</Say>",
            "outbound-status": "",
        }
    )
    sim = make_sim(app)
    sim.callee_for("+8613900000000", ScriptedCaller(["1"]), answered_by="machine_start")
    sim.callee_for("+8613900000001", ScriptedCaller(), outcome="busy")
    telephony = SimulatorTelephony(sim)
    sid = telephony.create_call(
        to="+8613900000000",
        from_=HOTLINE,
        url=f"{BASE}/outbound",
        status_callback=f"{BASE}/outbound-status",
        machine_detection=True,
    )
    busy_sid = telephony.create_call(
        to="+8613900000001", from_=HOTLINE, url=f"{BASE}/outbound", status_callback=f"{BASE}/outbound-status"
    )
    assert [c.sid for c in sim.pending_calls()] == [sid, busy_sid]
    answered, busy = sim.run_pending_calls()
    first = seen(app, "outbound")[0].values
    assert (first["CallSid"], first["Direction"]) == (sid, "outbound-api")
    assert first["AnsweredBy"] == "machine_start"
    assert answered.said() == ["answered by machine_start", "thanks"]
    statuses = [(s.values["CallSid"], s.values["CallStatus"]) for s in seen(app, "outbound-status")]
    assert statuses == [(sid, "in-progress"), (sid, "completed"), (busy_sid, "busy")]
    assert busy.status == "busy" and busy.transcript == []
    with pytest.raises(TelephonyError) as error:
        telephony.redirect_call("CA" + "0" * 32, f"{BASE}/ack")
    assert error.value.status == 404
    with pytest.raises(TelephonyError):
        telephony.fetch_recording("RE" + "0" * 32)


def test_scripted_caller_rejects_unknown_items():
    with pytest.raises(ValueError):
        ScriptedCaller(["press one"])
    assert parse_action("!12#").barge_in is True
    assert parse_action("speech:你好").value == "你好"


def test_interactive_caller_reads_keys_speech_and_hangup():
    app = make_app(
        {
            "voice": '<Gather input="dtmf speech" action="/menu"><Say>Speak or press</Say></Gather>',
            "menu": lambda v: f"<Say>heard {v.get('SpeechResult') or v.get('Digits')}</Say>" + MENU,
        }
    )
    answers = iter(["what?", "s:燃气泄漏", "q"])
    printed: list[str] = []
    caller = InteractiveCaller(input_fn=lambda _prompt: next(answers), output_fn=printed.append)
    result = make_sim(app).place_call(CALLER, HOTLINE, caller)
    assert result.said() == ["Speak or press", "heard 燃气泄漏", "燃气请按1"]
    assert result.ended_by == "caller-hangup"
    assert sum("Speak or press" in line for line in printed) == 1  # shown once, before asking
    assert any("not understood" in line for line in printed)
    assert any(line.startswith("[say zh-CN] 燃气请按1") for line in printed)


def test_summary_is_a_readable_one_liner():
    app = make_app({"voice": QUEUE, "wait": "<Say>hold</Say>", "queue-done": ""})
    result = make_sim(app).place_call(CALLER, HOTLINE, ScriptedCaller(max_queue_loops=0))
    assert result.summary() == f"queued in 'safety' (position 1); caller hung up after {result.duration} s"
