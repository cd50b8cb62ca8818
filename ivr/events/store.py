"""Call events: every webhook appends one; the call record is projected from them.

`apply_event` is used both live and when the spool is replayed, so a call whose webhooks arrived
while the database was down ends up with exactly the record it would have had. It is the hot path
of every webhook, so it writes with at most one conflict-ignoring INSERT and one UPDATE, never a
read first: the unique event key makes Twilio's retries a no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Table, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, Customer, utcnow
from ivr.events import kinds
from ivr.events.kinds import EventRecord as EventRecord  # the record and its key, re-exported for writers
from ivr.events.kinds import event_key as event_key
from ivr.events.statements import Bound, FastStatement
from ivr.quality import recordings
from ivr.queueing import queue_entries
from ivr.work_orders.gas_leak import open_gas_leak_order
from ivr.work_orders.menu_orders import open_complaint_order, open_message_order

CALLBACK_REPLY = timedelta(hours=1)  # DOMAIN: a question not answered now is handed on within 1 hour


def new_event(
    call_sid: str, kind: str, key: str, data: dict[str, Any], at: datetime | None = None
) -> EventRecord:
    """An event record stamped with the arrival time."""
    return EventRecord(key=key, call_sid=call_sid, kind=kind, at=(at or utcnow()).isoformat(), data=data)


@dataclass(frozen=True)
class ReadyEvent:
    """An event with its INSERT bound: built before the writer's turn, so that the turn stays short."""

    event: EventRecord
    at: datetime
    insert: Bound


def ready_event(dialect: Dialect, event: EventRecord, *, replayed: bool = False) -> ReadyEvent:
    """The event's row, typed and bound for this database."""
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
    return ReadyEvent(event, at, _event_insert(dialect).bind(dialect, row))


def apply_event(connection: Connection, event: EventRecord, *, replayed: bool = False) -> bool:
    """Append the event and update the call record; False if it was already there (a retry). A replayed
    event also takes the step its webhook could not take with the database away (`_REPLAY_STEPS`)."""
    ready = ready_event(connection.dialect, event, replayed=replayed)
    if not apply_ready(connection, ready):
        return False
    owed = _REPLAY_STEPS.get(event.kind) if replayed else None
    if owed is not None:
        owed(connection, event, ready.at)
    return True


def apply_ready(connection: Connection, ready: ReadyEvent) -> bool:
    """apply_event for an event made ready beforehand."""
    if ready.insert.run(connection).fetchone() is None:  # the unique key was there: a retry
        return False
    record = ready.event
    project = _PROJECTIONS.get(record.kind)
    if project is not None:
        project(connection, record.call_sid, kinds.parse(record), ready.at)
    return True


def call_inputs(session: Session, call_sid: str) -> list[dict[str, Any]]:
    """The keys and phrases a caller gave, in order, with the node and what came of each."""
    events = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_sid == call_sid, CallEvent.kind.in_(("menu.turn", "call.rescued")))
        .order_by(CallEvent.at, CallEvent.id)
    )
    inputs = []
    for row in events:
        event = kinds.parse_data(row.kind, row.data)
        said: tuple[str | None, ...]  # digits, speech, the rescue's choice
        if isinstance(event, kinds.MenuTurn):
            said, reason = (event.digits, event.speech, None), event.reason
        elif isinstance(event, kinds.CallRescued):
            said, reason = (event.digits, event.speech, event.choice), "rescued"
        else:
            continue
        given = {k: v for k, v in zip(("digits", "speech", "choice"), said, strict=True) if v}
        inputs.append({"node": event.node, "reason": reason, **given})
    return inputs


def call_path(session: Session, call_sid: str) -> list[str]:
    """The menu nodes a call went through, in order."""
    events = session.scalars(
        select(CallEvent)
        .where(CallEvent.call_sid == call_sid, CallEvent.kind.in_(("call.started", "menu.turn")))
        .order_by(CallEvent.at, CallEvent.id)
    )
    path: list[str] = []
    for row in events:
        turn = kinds.parse_data(row.kind, row.data)
        if isinstance(turn, kinds.CallStarted | kinds.MenuTurn):
            path += turn.visited
    return path


# ---------------------------------------------------------------- writing
# Statements are built once and executed with parameters: building them per webhook cost more than
# running them. Each UPDATE is keyed by :sid and leaves columns alone where its parameter is NULL.

_calls: Table = Call.__table__  # type: ignore[assignment]
_c = _calls.c


def _param(name: str, type_: Any) -> Any:
    return bindparam(name, type_=type_)


def _update(**columns: Any) -> Any:
    return (
        update(_calls).where(_c.call_sid == bindparam("sid")).values(updated_at=bindparam("now"), **columns)
    )


_AT = _param("at", DateTime())
_UPDATES = {
    "call.started": _update(
        started_at=case((_c.started_at > _AT, _AT), else_=_c.started_at),
        menu_version=func.coalesce(_c.menu_version, _param("menu_version", Integer())),
    ),
    "menu.turn": _update(
        language=func.coalesce(_param("language", String()), _c.language),
        intent=func.coalesce(_param("intent", String()), _c.intent),
        menu_version=func.coalesce(_c.menu_version, _param("menu_version", Integer())),
    ),
    "call.queued": _update(
        queue=_param("queue", String()),
        priority=_param("priority", Integer()),
        outcome="queued",
        intent=func.coalesce(_param("intent", String()), _c.intent),
        complaint_class=func.coalesce(_param("complaint_class", String()), _c.complaint_class),
        reply_due_at=func.coalesce(_param("reply_due_at", DateTime()), _c.reply_due_at),
        emergency=or_(_param("emergency", Boolean()), _c.emergency),
    ),
    "queue.left": _update(
        queue_seconds=_param("queue_seconds", Integer()), outcome=_param("outcome", String())
    ),
    "dial.result": _update(outcome=_param("outcome", String())),
    "callback.noted": _update(
        outcome="callback-owed",
        reply_due_at=func.coalesce(_c.reply_due_at, _param("reply_due_at", DateTime())),
    ),
    "call.status": _update(
        status=_param("status", String()),
        ended_at=_AT,
        duration_seconds=_param("duration", Integer()),
        outcome=case(
            (_c.outcome.is_(None), "ended-in-menu"), (_c.outcome == "queued", "abandoned"), else_=_c.outcome
        ),
    ),
    "call.rescued": _update(outcome=func.coalesce(_c.outcome, "rescued")),
}
_FAST_UPDATES = {kind: FastStatement(statement) for kind, statement in _UPDATES.items()}
_INSERTS: dict[tuple[str, str], FastStatement] = {}


def _event_insert(dialect: Dialect) -> FastStatement:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id into call_events: a row back only if it is new."""
    statement = _INSERTS.get((dialect.name, "call_events"))
    if statement is None:
        flavour = postgresql if dialect.name == "postgresql" else sqlite
        # RETURNING tells a new row from a skipped one on every driver (psycopg reports rowcount -1 here).
        events: Table = CallEvent.__table__  # type: ignore[assignment]
        inserting = flavour.insert(events).on_conflict_do_nothing().returning(events.c.id)
        statement = _INSERTS[(dialect.name, "call_events")] = FastStatement(inserting)
    return statement


def _update_call(
    connection: Connection, call_sid: str, event: kinds.Event, at: datetime, values: dict[str, Any]
) -> None:
    """Update the call's record, creating it first if this is the first event seen for the call."""
    statement = _FAST_UPDATES[event.kind]
    params = {"sid": call_sid, "now": utcnow(), "at": at, **values}
    if statement.execute(connection, params).rowcount:
        return
    _create_call(connection, call_sid, event, at)
    statement.execute(connection, params)


def _create_call(connection: Connection, call_sid: str, event: kinds.Event, at: datetime) -> bool:
    # Whichever event comes first creates the record: an unknown CallSid, or a spool replayed
    # from the middle of a call, still gives a complete record.
    language, menu_version = _menu_facts(event)
    row = {
        "call_sid": call_sid,
        "from_number": event.from_,
        "caller": event.from_,
        "to_number": event.to,
        "started_at": at,
        "language": language or "zh-CN",
        "menu_version": menu_version,
        "emergency": False,
        "updated_at": utcnow(),
    }
    name = connection.dialect.name
    statement = _INSERTS.get((name, "new-call"))
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        # The customer is matched by any of their numbers inside the INSERT: one statement, not two.
        customer = select(Customer.id).where(Customer.with_number(bindparam("caller"))).scalar_subquery()
        inserting = dialect.insert(_calls).values(customer_id=customer).on_conflict_do_nothing()
        statement = _INSERTS[(name, "new-call")] = FastStatement(inserting.returning(_c.id))
    return statement.execute(connection, row).fetchone() is not None


def _menu_facts(event: kinds.Event) -> tuple[str | None, int | None]:
    """The caller's language and the menu version, for the kinds of event that know them."""
    if isinstance(event, kinds.CallStarted | kinds.MenuTurn):
        return event.language, event.menu_version
    if isinstance(event, kinds.CallQueued | kinds.CallRescued):
        return event.language, None
    return None, None


# ---------------------------------------------------------------- projections, one per kind


def _started(connection: Connection, call_sid: str, event: kinds.CallStarted, at: datetime) -> None:
    if not _create_call(connection, call_sid, event, at):  # another event of the call came first
        _update_call(connection, call_sid, event, at, {"menu_version": event.menu_version})


def _turn(connection: Connection, call_sid: str, event: kinds.MenuTurn, at: datetime) -> None:
    values = {"language": event.language, "intent": event.intent, "menu_version": event.menu_version}
    _update_call(connection, call_sid, event, at, values)


def _queued(connection: Connection, call_sid: str, event: kinds.CallQueued, at: datetime) -> None:
    values = {
        "queue": event.queue,
        "priority": event.priority,
        "intent": event.intent,
        "complaint_class": event.complaint_class,
        "reply_due_at": _reply_due_at(event, at),
        "emergency": event.emergency,
    }
    _update_call(connection, call_sid, event, at, values)
    queue_entries.enqueue(connection, call_sid, event, at)


def _reply_due_at(event: kinds.CallQueued, at: datetime) -> datetime | None:
    """A complaint's reply as the caller was told it (the deadline rules'), else the menu's hours."""
    if event.reply_due_at:
        return datetime.fromisoformat(event.reply_due_at)
    hours = event.reply_within_hours
    return at + timedelta(hours=hours) if hours else None


def _owed_queued_order(connection: Connection, record: EventRecord, at: datetime) -> None:
    """Replay only: the gas-leak or complaint order a spooled `call.queued` is owed. Live, the use case that
    queues the caller opens it (ivr/calls/call_orders.py); its events spooled, it could not."""
    event = kinds.parse(record)
    if not (isinstance(event, kinds.CallQueued) and (event.emergency or event.complaint_class)):
        return
    session = Session(bind=connection)  # rare, and never on a webhook's path: the ORM
    if event.emergency:
        open_gas_leak_order(session, call_sid=record.call_sid, caller=event.from_, reported_at=at)
    else:
        told = datetime.fromisoformat(event.reply_due_at) if event.reply_due_at else None
        order = open_complaint_order(
            session,
            call_sid=record.call_sid,
            caller=event.from_,
            complaint_class=event.complaint_class or "service",
            reported_at=at,
            promised_by=told,
        )
        if told is None and order.promised_by is not None:
            # The caller heard the menu's hours (the rules were away): the record keeps the order's due time.
            session.execute(
                update(Call).where(Call.call_sid == record.call_sid).values(reply_due_at=order.promised_by)
            )
    session.flush()
    session.close()


def _owed_message_order(connection: Connection, record: EventRecord, at: datetime) -> None:
    """Replay only: the enquiry order of an after-hours message whose event was spooled (storm messages
    are the storm's call-backs, not orders)."""
    event = kinds.parse(record)
    if not isinstance(event, kinds.Voicemail) or event.storm:
        return
    session = Session(bind=connection)
    open_message_order(
        session,
        call_sid=record.call_sid,
        caller=event.from_,
        recording_url=event.recording_url,
        recording_sid=event.recording_sid,
        left_at=at,
    )
    session.flush()
    session.close()


_QUEUE_OUTCOMES = {
    "bridged": "answered",
    "hangup": "abandoned",
    "leave": "left-queue",
    "redirected": "redirected",
}


def _queue_left(connection: Connection, call_sid: str, event: kinds.QueueLeft, at: datetime) -> None:
    result = event.result
    outcome = _QUEUE_OUTCOMES.get(result, f"queue-{result or 'error'}")
    if result == "hangup":
        queue_entries.left(connection, call_sid, "abandoned", at)
    elif result == "leave" and event.emergency:
        queue_entries.left(connection, call_sid, "duty", at)
    values = {"queue_seconds": _int(event.queue_time), "outcome": outcome}
    _update_call(connection, call_sid, event, at, values)


def _dialled(connection: Connection, call_sid: str, event: kinds.DialResult, at: datetime) -> None:
    status = event.status
    outcome = "duty-engineer-answered" if status == "completed" else f"dial-{status or 'failed'}"
    _update_call(connection, call_sid, event, at, {"outcome": outcome})


def _callback_noted(connection: Connection, call_sid: str, event: kinds.CallbackNoted, at: datetime) -> None:
    _update_call(connection, call_sid, event, at, {"reply_due_at": at + CALLBACK_REPLY})


def _status(connection: Connection, call_sid: str, event: kinds.CallStatus, at: datetime) -> None:
    status = event.status
    if status not in ("completed", "busy", "failed", "no-answer", "canceled"):
        return  # ringing / in-progress updates do not close the record
    _update_call(connection, call_sid, event, at, {"status": status, "duration": _int(event.duration)})
    queue_entries.left(connection, call_sid, "abandoned", at)  # the call is over: nobody to route


def _rescued(connection: Connection, call_sid: str, event: kinds.CallRescued, at: datetime) -> None:
    _update_call(connection, call_sid, event, at, {})
    if event.choice == "2":  # a gas leak, on the duty line now: not for an agent's offer
        queue_entries.left(connection, call_sid, "duty", at)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_PROJECTIONS: dict[str, Callable[[Connection, str, Any, datetime], None]] = {
    "call.started": _started,
    "menu.turn": _turn,
    "call.queued": _queued,
    "queue.left": _queue_left,
    "dial.result": _dialled,
    "callback.noted": _callback_noted,
    "call.status": _status,
    "call.rescued": _rescued,
    "recording": recordings.project_recording,  # the Dial's recording callback -> recordings
}
# Steps a use case takes after writing its events, owed when the events were spooled instead
_REPLAY_STEPS: dict[str, Callable[[Connection, EventRecord, datetime], None]] = {
    "call.queued": _owed_queued_order,  # a gas-leak or complaint caller's work order
    "voicemail": _owed_message_order,  # an after-hours message's enquiry order
}
