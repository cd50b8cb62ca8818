"""Call events: every webhook appends one; the call record is projected from them.

`apply_event` is used both live and when the spool is replayed, so a call whose webhooks arrived
while the database was down ends up with exactly the record it would have had.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, Customer, utcnow
from ivr.services.work_orders import open_work_order

EMERGENCY_ON_SITE = timedelta(hours=1)  # DOMAIN: a crew on site within 1 hour


@dataclass(frozen=True)
class EventRecord:
    """One webhook's worth of facts, ready to be written (or spooled)."""

    key: str
    call_sid: str
    kind: str
    at: str  # ISO time the webhook arrived (naive UTC)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EventRecord:
        return cls(**json.loads(text))


def event_key(call_sid: str, kind: str, url: str, params: dict[str, str], token: str = "") -> str:
    """The same request retried by Twilio gives the same key; any other request a new one."""
    if token:
        basis = f"{kind}|{token}"
    else:
        basis = kind + "|" + url + "|" + json.dumps(sorted(params.items()), ensure_ascii=False)
    return f"{call_sid[:40]}:{kind}:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


def new_event(
    call_sid: str, kind: str, key: str, data: dict[str, Any], at: datetime | None = None
) -> EventRecord:
    """An event record stamped with the arrival time."""
    return EventRecord(key=key, call_sid=call_sid, kind=kind, at=(at or utcnow()).isoformat(), data=data)


def already_recorded(session: Session, key: str) -> bool:
    """Whether an event with this key is already stored."""
    return session.scalar(select(CallEvent.id).where(CallEvent.key == key)) is not None


def apply_event(session: Session, event: EventRecord, *, replayed: bool = False) -> bool:
    """Append the event and update the call record; False if it was already there (a retry)."""
    if already_recorded(session, event.key):
        return False
    at = datetime.fromisoformat(event.at)
    session.add(
        CallEvent(
            key=event.key, call_sid=event.call_sid, kind=event.kind, at=at, data=event.data, replayed=replayed
        )
    )
    call = _call_for(session, event, at)
    _PROJECTIONS.get(event.kind, _no_projection)(session, call, event, at)
    session.flush()
    return True


def _call_for(session: Session, event: EventRecord, at: datetime) -> Call:
    call = session.scalar(select(Call).where(Call.call_sid == event.call_sid))
    if call is not None:
        return call
    # The first event seen for a call creates its record, whichever event it is: webhooks
    # replayed from the spool or an unknown CallSid still leave a complete record.
    data = event.data
    caller = str(data.get("from", ""))
    customer = session.scalar(select(Customer).where(Customer.phone == caller).limit(1)) if caller else None
    call = Call(
        call_sid=event.call_sid,
        from_number=caller,
        to_number=str(data.get("to", "")),
        started_at=at,
        language=str(data.get("language", "zh-CN")),
        menu_version=data.get("menu_version"),
        customer_id=customer.id if customer else None,
        inputs=[],
        path=[],
    )
    session.add(call)
    session.flush()
    return call


def _no_projection(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    return None


def _started(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    call.started_at = min(call.started_at, at)
    call.menu_version = call.menu_version or event.data.get("menu_version")
    call.path = [*call.path, *event.data.get("visited", [])]


def _turn(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    data = event.data
    given = {k: v for k, v in (("digits", data.get("digits")), ("speech", data.get("speech"))) if v}
    entry = {"node": data.get("node"), "reason": data.get("reason"), **given}
    call.inputs = [*call.inputs, entry]
    call.path = [*call.path, *data.get("visited", [])]
    call.language = data.get("language", call.language)
    if data.get("intent"):
        call.intent = data["intent"]
    if call.menu_version is None:
        call.menu_version = data.get("menu_version")


def _queued(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    data = event.data
    call.queue = data.get("queue")
    call.intent = data.get("intent") or call.intent
    call.priority = data.get("priority")
    call.outcome = "queued"
    if data.get("complaint_class"):
        call.complaint_class = data["complaint_class"]
    if data.get("reply_within_hours"):
        call.reply_due_at = at + timedelta(hours=int(data["reply_within_hours"]))
    if data.get("emergency") and not call.emergency:
        call.emergency = True
        _open_emergency_order(session, call, event, at)


def _open_emergency_order(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    customer = session.get(Customer, call.customer_id) if call.customer_id else None
    open_work_order(
        session,
        kind="gas_leak",
        emergency=True,
        caller_number=call.from_number,
        customer=customer,
        call_sid=call.call_sid,
        source_key=f"emergency:{call.call_sid}",
        promised_by=at + EMERGENCY_ON_SITE,
        description="Gas leak reported on the hotline",
        created_at=at,
    )


def _queue_left(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    result = event.data.get("result", "")
    call.queue_seconds = _int(event.data.get("queue_time"))
    call.outcome = {
        "bridged": "answered",
        "hangup": "abandoned",
        "leave": "left-queue",
        "redirected": "redirected",
    }.get(result, f"queue-{result or 'error'}")


def _dialled(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    status = event.data.get("status", "")
    call.outcome = "duty-engineer-answered" if status == "completed" else f"dial-{status or 'failed'}"


def _callback_noted(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    call.outcome = "callback-owed"
    call.reply_due_at = call.reply_due_at or at + timedelta(hours=1)


def _status(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    status = event.data.get("status", "")
    if status not in ("completed", "busy", "failed", "no-answer", "canceled"):
        return  # ringing / in-progress updates do not close the record
    call.status = status
    call.ended_at = at
    call.duration_seconds = _int(event.data.get("duration"))
    if call.outcome in (None, "queued"):
        call.outcome = "abandoned" if call.outcome == "queued" else "ended-in-menu"


def _rescued(session: Session, call: Call, event: EventRecord, at: datetime) -> None:
    call.outcome = call.outcome or "rescued"
    given = {k: event.data[k] for k in ("digits", "speech", "choice") if event.data.get(k)}
    entry = {
        "node": event.data.get("node"),
        "reason": "rescued",
        "error": event.data.get("error", ""),
        **given,
    }
    call.inputs = [*call.inputs, entry]


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_PROJECTIONS = {
    "call.started": _started,
    "menu.turn": _turn,
    "call.queued": _queued,
    "queue.left": _queue_left,
    "dial.result": _dialled,
    "callback.noted": _callback_noted,
    "call.status": _status,
    "call.rescued": _rescued,
}
