"""Call events as written: the record a webhook appends or spools, and one frozen dataclass per kind.

Write: `CallQueued(from_=caller, queue="general", ...).record(call_sid=sid, request_id=rid)` is the
EventRecord to append or spool; read: `parse(record)` gives the typed event back (EventDataError, naming
the field, if its data does not fit).
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import NoneType
from typing import Any, ClassVar

from ivr.db.models import utcnow


@dataclass(frozen=True)
class EventRecord:
    """One webhook's worth of facts, ready to be written (or spooled)."""

    key: str
    call_sid: str
    kind: str
    at: str  # ISO time the webhook arrived (naive UTC)
    data: dict[str, Any] = field(default_factory=dict)
    # The typed event the record was made from, so the projection need not parse `data` back; not stored.
    event: Event | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> str:
        stored = {
            "at": self.at,
            "call_sid": self.call_sid,
            "data": self.data,
            "key": self.key,
            "kind": self.kind,
        }
        return json.dumps(stored, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EventRecord:
        return cls(**json.loads(text))


def event_key(call_sid: str, kind: str, request_id: str) -> str:
    """The same request retried by Twilio gives the same key; any other request a new one.

    `request_id` names the request: Twilio's I-Twilio-Idempotency-Token, or else its X-Twilio-Signature,
    an HMAC of the URL and every parameter, so equal exactly when the request is the same."""
    basis = f"{kind}|{request_id}"
    return f"{call_sid[:40]}:{kind}:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


class EventDataError(ValueError):
    """An event's data does not fit its kind: an unknown kind, or a field of the wrong type."""


# ---------------------------------------------------------------- how a field is stored


def _stored_as(key: str, default: Any) -> Any:
    """A field whose JSON key is not its Python name (Twilio's parameter names)."""
    return field(default=default, metadata={"key": key})


def _left_out(default: Any) -> Any:
    """A field left out of the stored data while it holds its default (as the webhooks always wrote it)."""
    return field(default=default, metadata={"left_out": True})


@dataclass(frozen=True)
class _Field:
    """How one field is stored and checked."""

    name: str
    key: str  # in the stored JSON
    default: Any
    left_out: bool  # absent from the JSON while it holds its default
    types: tuple[type, ...]  # the value's accepted classes
    items: tuple[type, ...] | None  # for a tuple field: its items' classes
    expected: str  # the type, for messages


def _fields_of(cls: type) -> tuple[_Field, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        _field_of(cls, item.name, hints[item.name], item.default, dict(item.metadata)) for item in fields(cls)
    )


def _field_of(cls: type, name: str, hint: Any, default: Any, metadata: dict[str, Any]) -> _Field:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    accepted: list[type] = []
    items = None
    for option in options:
        if typing.get_origin(option) is tuple:  # tuple[T, ...]: JSON gives it back as a list
            items = tuple(arg for arg in typing.get_args(option) if arg is not Ellipsis)
            accepted += [tuple, list]
        elif isinstance(option, type):
            accepted.append(option)
        else:
            raise TypeError(f"{cls.__name__}.{name}: no check for {option!r}")
    key = metadata.get("key", name.rstrip("_"))  # from_ is stored as "from", as_ as "as"
    expected = hint.__name__ if isinstance(hint, type) else str(hint).replace("NoneType", "None")
    return _Field(name, key, default, bool(metadata.get("left_out")), tuple(accepted), items, expected)


# ---------------------------------------------------------------- the kinds


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """What every call event holds: the caller's and the called number, as Twilio gave them."""

    kind: ClassVar[str]
    from_: str = ""
    to: str = ""

    def __post_init__(self) -> None:
        for spec in _FIELDS[self.__class__]:
            value = getattr(self, spec.name)
            kind = value.__class__
            if kind not in spec.types:  # exact classes: a bool is no int here, as in the stored JSON
                self._refuse(spec, value)
            elif spec.items is not None and kind is not NoneType:
                if any(item.__class__ not in spec.items for item in value):
                    self._refuse(spec, value)
                if kind is list:
                    object.__setattr__(self, spec.name, tuple(value))

    def _refuse(self, spec: _Field, value: Any) -> None:
        shown = repr(value)[:60]
        raise EventDataError(
            f"{self.kind}: field {spec.key!r} must be {spec.expected}, not {type(value).__name__} {shown}"
        )

    def data(self) -> dict[str, Any]:
        """The event's stored data (JSON-ready)."""
        data: dict[str, Any] = {}
        for spec in _FIELDS[type(self)]:
            value = getattr(self, spec.name)
            if spec.left_out and value == spec.default:
                continue
            data[spec.key] = list(value) if value.__class__ is tuple else value
        return data

    def record(self, *, call_sid: str, request_id: str, at: datetime | None = None) -> EventRecord:
        """The record to write, keyed by the request (a retry gives the same key), stamped `at` or now."""
        stamp = (at or utcnow()).isoformat()
        return EventRecord(
            event_key(call_sid, self.kind, request_id), call_sid, self.kind, stamp, self.data(), self
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(Event):
    """A new call heard the greeting and the live menu's first node."""

    kind: ClassVar[str] = "call.started"
    menu_version: int | None = None
    language: str | None = None
    visited: tuple[str, ...] = ()
    announcements: tuple[int, ...] = _left_out(())  # the announcements heard with the greeting


@dataclass(frozen=True, slots=True, kw_only=True)
class AnnouncementsPlayed(Event):
    """The announcements heard again, after the caller chose another language."""

    kind: ClassVar[str] = "announcements.played"
    announcements: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuTurn(Event):
    """The caller answered a menu node (keys, speech or silence) and the menu moved on."""

    kind: ClassVar[str] = "menu.turn"
    node: str = ""
    step: int = 0
    digits: str = ""
    speech: str = ""
    reason: str = ""
    visited: tuple[str, ...] = ()
    language: str | None = None
    intent: str | None = None
    menu_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued(Event):
    """The caller joined a queue (from the menu, a rescue, or back after the duty engineer's line failed)."""

    kind: ClassVar[str] = "call.queued"
    queue: str | None = None
    intent: str | None = None
    priority: int | None = None
    emergency: bool = False
    complaint_class: str | None = None
    reply_within_hours: int | None = None
    node: str | None = None
    language: str | None = None
    callback_after: str | None = None  # ISO time (naive UTC): after hours, a call-back when the group opens
    rescued: bool = _left_out(False)
    # ISO time (naive UTC): a complaint's reply as the caller was told it, from the deadline rules
    reply_due_at: str | None = _left_out(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueWait(Event):
    """The waiting caller's queue fetched its wait document."""

    kind: ClassVar[str] = "queue.wait"
    queue: str = ""
    position: int | None = None
    queue_time: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueLeft(Event):
    """The caller left Twilio's queue (Enqueue's action), and why."""

    kind: ClassVar[str] = "queue.left"
    queue: str = ""
    result: str = ""
    queue_time: str = ""  # seconds, as Twilio's QueueTime gave them
    emergency: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFullHold(Event):
    """No queue could take the caller and no call-back could be booked: held, then tried again."""

    kind: ClassVar[str] = "queue.full_hold"
    queue: str = ""
    result: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackNoted(Event):
    """A reply is owed to a caller who left without being answered (queues full, or a storm message)."""

    kind: ClassVar[str] = "callback.noted"
    queue: str = ""
    result: str = ""
    booked: str = _left_out("")  # "booked" or "joined" (a call-back already owed to the number)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackBooked(Event):
    """A waiting caller accepted the call-back offer."""

    kind: ClassVar[str] = "callback.booked"
    entry: int | None = None
    as_: str = ""  # "booked" or "joined"


@dataclass(frozen=True, slots=True, kw_only=True)
class StormChoice(Event):
    """The caller's answer to the storm offer."""

    kind: ClassVar[str] = "storm.choice"
    digits: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Voicemail(Event):
    """A message recorded after hours, or in storm mode, as Twilio's Record reported it."""

    kind: ClassVar[str] = "voicemail"
    recording_url: str = _stored_as("RecordingUrl", "")
    recording_sid: str = _stored_as("RecordingSid", "")
    recording_duration: str = _stored_as("RecordingDuration", "")
    storm: bool = _left_out(False)


@dataclass(frozen=True, slots=True, kw_only=True)
class DialResult(Event):
    """The duty engineer's line was dialled: how it ended."""

    kind: ClassVar[str] = "dial.result"
    status: str = ""
    attempt: int | None = None
    duration: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStatus(Event):
    """Twilio's status callback for the call (a final status closes the record)."""

    kind: ClassVar[str] = "call.status"
    status: str = ""
    duration: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRescued(Event):
    """A webhook failed (or Twilio used the fallback URL) and the caller was rescued; or their choice then."""

    kind: ClassVar[str] = "call.rescued"
    error: str | None = _left_out(None)
    url: str | None = _left_out(None)
    choice: str | None = _left_out(None)  # the rescue question's answer: 2 a gas leak
    node: str | None = _left_out(None)
    language: str | None = _left_out(None)
    digits: str | None = _left_out(None)
    speech: str | None = _left_out(None)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOffered(Event):
    """The dispatcher redirected the caller to be connected to an agent."""

    kind: ClassVar[str] = "agent.offered"
    agent_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentResult(Event):
    """The Dial to an agent ended."""

    kind: ClassVar[str] = "agent.result"
    status: str = ""
    agent_id: int | None = None
    duration: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingReported(Event):
    """Twilio's recording status callback for an agent call."""

    kind: ClassVar[str] = "recording"
    recording_sid: str = _stored_as("RecordingSid", "")
    recording_url: str = _stored_as("RecordingUrl", "")
    recording_duration: str = _stored_as("RecordingDuration", "")
    recording_status: str = _stored_as("RecordingStatus", "")
    recording_channels: str = _stored_as("RecordingChannels", "")
    error_code: str = _stored_as("ErrorCode", "")  # why a recording failed
    agent_id: str = ""  # as the callback URL carried it


KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        CallStarted,
        AnnouncementsPlayed,
        MenuTurn,
        CallQueued,
        QueueWait,
        QueueLeft,
        QueueFullHold,
        CallbackNoted,
        CallbackBooked,
        StormChoice,
        Voicemail,
        DialResult,
        CallStatus,
        CallRescued,
        AgentOffered,
        AgentResult,
        RecordingReported,
    )
}
_EVERY: list[type[Event]] = [Event, *KINDS.values()]
_FIELDS: dict[type, tuple[_Field, ...]] = {cls: _fields_of(cls) for cls in _EVERY}


# ---------------------------------------------------------------- reading


def parse(record: EventRecord) -> Event:
    """The typed event of a record (live, spooled or stored); EventDataError if its data does not fit."""
    if record.event is not None and record.event.kind == record.kind:
        return record.event
    return parse_data(record.kind, record.data)


def parse_data(kind: str, data: Any) -> Event:
    """The typed event of a kind and its stored data: unknown keys are ignored, missing ones default."""
    cls = KINDS.get(kind)
    if cls is None:
        raise EventDataError(f"unknown event kind {kind!r}")
    if not isinstance(data, dict):
        raise EventDataError(f"{kind}: data must be an object, not {type(data).__name__}")
    return cls(**{spec.name: data[spec.key] for spec in _FIELDS[cls] if spec.key in data})
