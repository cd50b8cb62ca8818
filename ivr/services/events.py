"""Call events: every webhook appends one; the call record is projected from them.

`apply_event` is used both live and when the spool is replayed, so a call whose webhooks arrived
while the database was down ends up with exactly the record it would have had. It is the hot path
of every webhook, so it writes with at most one conflict-ignoring INSERT and one UPDATE, never a
read first: the unique event key makes Twilio's retries a no-op.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, Customer, utcnow
from ivr.services.work_orders import open_work_order

EMERGENCY_ON_SITE = timedelta(hours=1)  # DOMAIN: a crew on site within 1 hour
CALLBACK_REPLY = timedelta(hours=1)  # DOMAIN: a question not answered now is handed on within 1 hour


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


def apply_event(session: Session, event: EventRecord, *, replayed: bool = False) -> bool:
    """Append the event and update the call record; False if it was already there (a retry)."""
    at = datetime.fromisoformat(event.at)
    row = {
        "key": event.key,
        "call_sid": event.call_sid,
        "kind": event.kind,
        "at": at,
        "data": event.data,
        "recorded_at": utcnow(),
        "replayed": replayed,
    }
    if not _insert_ignoring_duplicates(session, CallEvent.__table__, row):  # type: ignore[arg-type]
        return False
    project = _PROJECTIONS.get(event.kind)
    if project is not None:
        project(session, event, at)
    return True


def call_inputs(session: Session, call_sid: str) -> list[dict[str, Any]]:
    """The keys and phrases a caller gave, in order, with the node and what came of each."""
    events = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_sid == call_sid, CallEvent.kind.in_(("menu.turn", "call.rescued")))
        .order_by(CallEvent.at, CallEvent.id)
    )
    inputs = []
    for event in events:
        data = event.data
        reason = data.get("reason") if event.kind == "menu.turn" else "rescued"
        given = {k: data[k] for k in ("digits", "speech", "choice") if data.get(k)}
        inputs.append({"node": data.get("node"), "reason": reason, **given})
    return inputs


def call_path(session: Session, call_sid: str) -> list[str]:
    """The menu nodes a call went through, in order."""
    events = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_sid == call_sid, CallEvent.kind.in_(("call.started", "menu.turn")))
        .order_by(CallEvent.at, CallEvent.id)
    )
    return [node for event in events for node in event.data.get("visited", [])]


# ---------------------------------------------------------------- writing


def _insert_ignoring_duplicates(session: Session, table: Table, row: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True if the row is new."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing()
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _update_call(session: Session, event: EventRecord, at: datetime, **values: Any) -> None:
    """Update the call's record, creating it first if this is the first event seen for the call."""
    statement = update(Call).where(Call.call_sid == event.call_sid).values(updated_at=utcnow(), **values)
    if session.execute(statement).rowcount:  # type: ignore[attr-defined]
        return
    _create_call(session, event, at)
    session.execute(statement)


def _create_call(session: Session, event: EventRecord, at: datetime) -> None:
    # Whichever event comes first creates the record: an unknown CallSid, or a spool replayed
    # from the middle of a call, still gives a complete record.
    data = event.data
    caller = str(data.get("from", ""))
    customer = select(Customer.id).where(Customer.phone == caller).order_by(Customer.id).limit(1)
    row = {
        "call_sid": event.call_sid,
        "from_number": caller,
        "to_number": str(data.get("to", "")),
        "started_at": at,
        "language": str(data.get("language") or "zh-CN"),
        "menu_version": data.get("menu_version"),
        "customer_id": customer.scalar_subquery() if caller else None,
        "emergency": False,
        "updated_at": utcnow(),
    }
    _insert_ignoring_duplicates(session, Call.__table__, row)  # type: ignore[arg-type]


# ---------------------------------------------------------------- projections, one per kind


def _started(session: Session, event: EventRecord, at: datetime) -> None:
    _update_call(
        session,
        event,
        at,
        started_at=case((Call.started_at > at, at), else_=Call.started_at),
        menu_version=func.coalesce(Call.menu_version, event.data.get("menu_version")),
    )


def _turn(session: Session, event: EventRecord, at: datetime) -> None:
    data = event.data
    values: dict[str, Any] = {"language": data.get("language") or Call.language}
    if data.get("intent"):
        values["intent"] = data["intent"]
    if data.get("menu_version"):
        values["menu_version"] = func.coalesce(Call.menu_version, data["menu_version"])
    _update_call(session, event, at, **values)


def _queued(session: Session, event: EventRecord, at: datetime) -> None:
    data = event.data
    values: dict[str, Any] = {
        "queue": data.get("queue"),
        "priority": data.get("priority"),
        "outcome": "queued",
    }
    if data.get("intent"):
        values["intent"] = data["intent"]
    if data.get("complaint_class"):
        values["complaint_class"] = data["complaint_class"]
    if data.get("reply_within_hours"):
        values["reply_due_at"] = at + timedelta(hours=int(data["reply_within_hours"]))
    if data.get("emergency"):
        values["emergency"] = True
    _update_call(session, event, at, **values)
    if data.get("emergency"):
        _open_emergency_order(session, event, at)


def _open_emergency_order(session: Session, event: EventRecord, at: datetime) -> None:
    caller = str(event.data.get("from", ""))
    customer = session.scalar(select(Customer).where(Customer.phone == caller).order_by(Customer.id).limit(1))
    open_work_order(
        session,
        kind="gas_leak",
        emergency=True,
        caller_number=caller,
        customer=customer,
        call_sid=event.call_sid,
        source_key=f"emergency:{event.call_sid}",  # one emergency order per call, however it got there
        promised_by=at + EMERGENCY_ON_SITE,
        description="Gas leak reported on the hotline",
        created_at=at,
    )


_QUEUE_OUTCOMES = {
    "bridged": "answered",
    "hangup": "abandoned",
    "leave": "left-queue",
    "redirected": "redirected",
}


def _queue_left(session: Session, event: EventRecord, at: datetime) -> None:
    result = str(event.data.get("result", ""))
    outcome = _QUEUE_OUTCOMES.get(result, f"queue-{result or 'error'}")
    _update_call(session, event, at, queue_seconds=_int(event.data.get("queue_time")), outcome=outcome)


def _dialled(session: Session, event: EventRecord, at: datetime) -> None:
    status = event.data.get("status", "")
    outcome = "duty-engineer-answered" if status == "completed" else f"dial-{status or 'failed'}"
    _update_call(session, event, at, outcome=outcome)


def _callback_noted(session: Session, event: EventRecord, at: datetime) -> None:
    due = func.coalesce(Call.reply_due_at, at + CALLBACK_REPLY)
    _update_call(session, event, at, outcome="callback-owed", reply_due_at=due)


def _status(session: Session, event: EventRecord, at: datetime) -> None:
    status = event.data.get("status", "")
    if status not in ("completed", "busy", "failed", "no-answer", "canceled"):
        return  # ringing / in-progress updates do not close the record
    outcome = case(
        (Call.outcome.is_(None), "ended-in-menu"), (Call.outcome == "queued", "abandoned"), else_=Call.outcome
    )
    duration = _int(event.data.get("duration"))
    _update_call(session, event, at, status=status, ended_at=at, duration_seconds=duration, outcome=outcome)


def _rescued(session: Session, event: EventRecord, at: datetime) -> None:
    _update_call(session, event, at, outcome=func.coalesce(Call.outcome, "rescued"))


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
