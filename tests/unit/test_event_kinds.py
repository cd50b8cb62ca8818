"""Typed call events: every kind survives the spool's JSON, old payloads parse, a wrong type is refused."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import datetime
from types import NoneType, UnionType

import pytest

from ivr.events import kinds
from ivr.events.kinds import EventDataError, EventRecord

AT = datetime(2026, 3, 10, 4, 5, 6, 789)


def _sample(hint: typing.Any, name: str) -> typing.Any:
    """A value of the field's type that is not its default, so a field dropped on the way would show."""
    if typing.get_origin(hint) in (typing.Union, UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not NoneType)
    if typing.get_origin(hint) is tuple:
        return ("menu", "billing") if typing.get_args(hint)[0] is str else (3, 4)
    return {str: f"{name}-value", int: 7, bool: True}[hint]


def _filled(cls: type[kinds.Event]) -> kinds.Event:
    hints = typing.get_type_hints(cls)
    return cls(**{item.name: _sample(hints[item.name], item.name) for item in dataclasses.fields(cls)})


@pytest.mark.parametrize("cls", list(kinds.KINDS.values()), ids=list(kinds.KINDS))
def test_every_kind_round_trips_through_the_spools_json(cls):
    event = _filled(cls)
    record = event.record(call_sid="CA" + "1" * 32, request_id="signature", at=AT)
    spooled = EventRecord.from_json(record.to_json())
    assert spooled == record and spooled.event is None, "the file holds the data, not the object"
    assert kinds.parse(spooled) == event
    assert kinds.parse(spooled).kind == record.kind == cls.kind
    assert (spooled.at, spooled.key) == (AT.isoformat(), record.key)


@pytest.mark.parametrize("cls", list(kinds.KINDS.values()), ids=list(kinds.KINDS))
def test_every_kind_round_trips_with_its_defaults(cls):
    record = cls().record(call_sid="CA" + "2" * 32, request_id="token", at=AT)
    assert kinds.parse(EventRecord.from_json(record.to_json())) == cls()


def test_the_record_is_keyed_by_the_request_as_before():
    first = kinds.CallStatus(status="completed").record(call_sid="CA1", request_id="token-1")
    retried = kinds.CallStatus(status="completed").record(call_sid="CA1", request_id="token-1")
    other = kinds.CallStatus(status="completed").record(call_sid="CA1", request_id="token-2")
    assert first.key == retried.key == kinds.event_key("CA1", "call.status", "token-1") != other.key


# Payloads exactly as the webhooks (ivr/calls/views.py and connect.py) write them before typed events.
CALLER = {"from": "+8613800000001", "to": "+864008888888"}
TODAYS_PAYLOADS = [
    ("call.started", {"menu_version": 3, "language": "zh-CN", "visited": ["root"]}),
    ("call.started", {"menu_version": 3, "language": "en-US", "visited": ["root"], "announcements": [1, 2]}),
    ("announcements.played", {"announcements": [4]}),
    (
        "menu.turn",
        {
            "node": "root",
            "step": 2,
            "digits": "1",
            "speech": "",
            "reason": "chosen",
            "visited": ["root", "gas"],
            "language": "zh-CN",
            "intent": None,
            "menu_version": 3,
        },
    ),
    (
        "call.queued",
        {
            "queue": "safety",
            "intent": "safety",
            "priority": 10,
            "emergency": True,
            "complaint_class": None,
            "reply_within_hours": 24,
            "node": "gas",
            "language": "zh-CN",
            "callback_after": None,
        },
    ),
    ("queue.wait", {"queue": "general", "position": 2, "queue_time": 30}),
    ("queue.left", {"queue": "general", "result": "hangup", "queue_time": "31", "emergency": False}),
    ("callback.noted", {"queue": "general", "result": "queue-full", "booked": "joined"}),
    ("callback.noted", {"queue": "", "result": "storm-message"}),
    ("queue.full_hold", {"queue": "general", "result": "error"}),
    ("storm.choice", {"digits": "2"}),
    (
        "voicemail",
        {"RecordingUrl": "https://api.twilio.com/r", "RecordingSid": "RE1", "RecordingDuration": "9"},
    ),
    (
        "voicemail",
        {"RecordingUrl": "", "RecordingSid": "", "RecordingDuration": "", "storm": True},
    ),
    ("dial.result", {"status": "no-answer", "attempt": 1, "duration": ""}),
    ("call.status", {"status": "completed", "duration": "100"}),
    ("call.rescued", {"error": "11200", "url": "https://hotline.example/voice/step?n=root"}),
    ("call.rescued", {"choice": "2"}),
    (
        "call.rescued",
        {"node": "root", "error": "KeyError", "language": "zh-CN", "digits": "1", "speech": ""},
    ),
    ("agent.offered", {"agent_id": None}),
    ("agent.result", {"status": "completed", "agent_id": 3, "duration": "60"}),
    (
        "recording",
        {
            "RecordingSid": "RE2",
            "RecordingUrl": "https://api.twilio.com/r2",
            "RecordingDuration": "9",
            "RecordingStatus": "completed",
            "RecordingChannels": "2",
            "ErrorCode": "",
            "agent_id": "3",
        },
    ),
    ("callback.booked", {"entry": 12, "as": "booked"}),
]


@pytest.mark.parametrize(("kind", "payload"), TODAYS_PAYLOADS, ids=[kind for kind, _ in TODAYS_PAYLOADS])
def test_a_payload_as_the_webhooks_wrote_it_parses_and_is_written_the_same(kind, payload):
    stored = CALLER | payload
    event = kinds.parse_data(kind, stored)
    assert event.kind == kind and event.from_ == CALLER["from"] and event.to == CALLER["to"]
    assert event.data() == stored, "the same JSON as before"
    written = event.record(call_sid="CA3", request_id="r", at=AT).to_json()
    assert json.loads(written)["data"] == stored


def test_the_requeue_and_rescue_payloads_without_a_menu_node_parse():
    requeued = {"queue": "safety", "intent": "safety", "priority": 10, "emergency": True, "language": "en-US"}
    event = kinds.parse_data("call.queued", CALLER | requeued)
    assert isinstance(event, kinds.CallQueued)
    assert (event.queue, event.priority, event.emergency, event.node, event.rescued) == (
        "safety",
        10,
        True,
        None,
        False,
    )
    rescued = {"queue": "general", "intent": "agent", "priority": 5, "emergency": False, "rescued": True}
    assert kinds.parse_data("call.queued", CALLER | rescued).rescued is True  # type: ignore[attr-defined]


def test_a_spool_file_written_before_typed_events_replays():
    text = (
        '{"at": "2026-03-09T20:00:00.123456", "call_sid": "CA4", "data": {"from": "+8613800000001", '
        '"menu_version": 1, "to": "+864008888888", "language": "zh-CN", "visited": ["root"]}, '
        '"key": "CA4:call.started:abc", "kind": "call.started"}'
    )
    event = kinds.parse(EventRecord.from_json(text))
    assert event == kinds.CallStarted(
        from_="+8613800000001", to="+864008888888", menu_version=1, language="zh-CN", visited=("root",)
    )


def test_unknown_keys_are_ignored_and_missing_ones_take_the_default():
    event = kinds.parse_data("call.status", {"status": "busy", "AnsweredBy": "human"})
    assert event == kinds.CallStatus(status="busy")


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("call.queued", {"reply_within_hours": "not a number"}, "reply_within_hours"),
        ("call.queued", {"emergency": "yes"}, "emergency"),
        ("call.queued", {"priority": True}, "priority"),  # a bool is not a number of the JSON's kind
        ("call.started", {"visited": ["root", 4]}, "visited"),
        ("call.status", {"duration": 12}, "duration"),
        ("callback.booked", {"as": None}, "as"),
        ("call.started", {"from": 8613800000001}, "from"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(kind, payload, field):
    with pytest.raises(EventDataError, match=rf"^{kind}: field '{field}' must be "):
        kinds.parse_data(kind, payload)


def test_a_writer_giving_a_wrong_type_is_refused_too():
    with pytest.raises(EventDataError, match="field 'queue_time' must be str"):
        kinds.QueueLeft(queue_time=31)  # type: ignore[arg-type]


def test_an_unknown_kind_or_data_that_is_no_object_is_refused():
    with pytest.raises(EventDataError, match="unknown event kind 'call.teleported'"):
        kinds.parse_data("call.teleported", {})
    with pytest.raises(EventDataError, match="call.status: data must be an object"):
        kinds.parse_data("call.status", ["completed"])


def test_every_kind_the_projection_knows_has_a_dataclass():
    from ivr.events.store import _PROJECTIONS

    assert set(_PROJECTIONS) <= set(kinds.KINDS)
