"""Queue entries as the call events project them: a caller enqueued, gone, handed to the duty engineer.

Plain statements on the event's connection, like the rest of the projection (this is the webhook hot path).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, case, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db.models import Customer, QueueEntry, utcnow

if TYPE_CHECKING:
    from ivr.events.kinds import CallQueued

_entries: Table = QueueEntry.__table__  # type: ignore[assignment]
_e = _entries.c
LIVE = ("waiting", "offered")  # a caller on the line, in our queue
# A call-back owed to a number: waiting for its turn, or being placed (offered). One per number: a unique
# index over these (migration 0011); a later request is a `joined` entry naming the owed one.
OWED = ("callback", "offered")

_REQUEUE = (
    update(_entries)
    .where(_e.call_sid == bindparam("sid"), _e.status.in_(("waiting", "offered", "duty")))
    .values(status="waiting", claimed_at=None, agent_id=None, queue=bindparam("q"), priority=bindparam("p"))
)
_LEAVE = update(_entries).where(_e.call_sid == bindparam("sid"), _e.status.in_(LIVE))
_OWED_TO = (_e.callback_number == bindparam("number"), _e.status.in_(OWED))
# The owed entry keeps the earliest place of all the requests that joined it.
_KEEP_EARLIEST = (
    update(_entries)
    .where(*_OWED_TO)
    .values(waiting_since=case((_e.waiting_since > bindparam("at"), bindparam("at")), else_=_e.waiting_since))
    .returning(_e.id)
)
_HAS_ENTRY = select(_e.id).where(_e.call_sid == bindparam("sid"))
_INSERTS: dict[str, Any] = {}


def enqueue(connection: Connection, call_sid: str, queued: CallQueued, at: datetime) -> None:
    """A caller entered a queue: a new entry, or the same entry waiting again (their place kept)."""
    name = connection.dialect.name
    statement = _INSERTS.get(name)
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        customer_class = (
            select(Customer.customer_class)
            .where(Customer.with_number(bindparam("caller_phone")))
            .scalar_subquery()
        )
        statement = _INSERTS[name] = (
            dialect.insert(_entries)
            .values(customer_class=customer_class)
            .on_conflict_do_nothing()
            .returning(_e.id)
        )
    callback_after = queued.callback_after  # after hours: a call-back owed when the group opens again
    row = {
        "call_sid": call_sid,
        "queue": queued.queue or "general",
        "intent": queued.intent or "agent",
        "language": queued.language or "zh-CN",
        "priority": queued.priority or 5,
        "emergency": queued.emergency,
        "caller": queued.from_,
        "caller_phone": queued.from_,
        "status": "callback" if callback_after else "waiting",
        "callback_number": queued.from_ if callback_after else None,
        "callback_after": datetime.fromisoformat(callback_after) if callback_after else None,
        "waiting_since": at,
        "attempts": 0,
        "callback_offered": False,
        "filter": "",
        "step": 0,
    }
    if connection.execute(statement, row).first() is not None:
        return
    if row["callback_number"] and connection.execute(_HAS_ENTRY, {"sid": call_sid}).first() is None:
        # Not this call's entry in the way but the number's owed call-back (ON CONFLICT DO NOTHING covers
        # both unique keys): this request joins it. On PostgreSQL a racing insert waited for the other.
        owed = connection.execute(_KEEP_EARLIEST, {"number": row["callback_number"], "at": at}).scalar()
        if owed is not None:
            joined = {"status": "joined", "joined_entry_id": owed, "ended_at": at, "callback_after": None}
            connection.execute(statement, {**row, **joined})
        return
    connection.execute(_REQUEUE, {"sid": call_sid, "q": row["queue"], "p": row["priority"]})


def book_callback(
    session: Session, entry_id: int, number: str, *, callback_after: datetime | None = None
) -> str:
    """A waiting (non-safety) caller asks to be called back on `number`: their entry becomes the owed
    call-back, or joins the one the number is owed already (which keeps the earlier place of the two).
    Returns 'booked', 'joined', or '' when the caller is no longer waiting. Flushes; the caller commits."""
    waiting = (_e.id == entry_id, _e.status == "waiting", _e.emergency.is_(False))
    other = _entries.alias("owed")
    owed_elsewhere = exists().where(other.c.callback_number == number, other.c.status.in_(OWED))
    booking = (
        update(_entries)
        .where(*waiting, ~owed_elsewhere)
        .values(status="callback", callback_number=number, callback_after=callback_after)
    )
    if session.get_bind().dialect.name != "postgresql":
        # One statement decides: SQLite has one writer at a time, reading the latest data.
        if session.execute(booking).rowcount:  # type: ignore[attr-defined]
            return "booked"
    else:
        try:
            # Two requests of one number may both pass NOT EXISTS; the unique index refuses the second,
            # whose savepoint is rolled back, and it joins the first below.
            with session.begin_nested():
                if session.execute(booking).rowcount:  # type: ignore[attr-defined]
                    return "booked"
        except IntegrityError:
            pass
    since = session.scalar(select(_e.waiting_since).where(*waiting))
    if since is None:
        return ""
    owed = session.execute(_KEEP_EARLIEST, {"number": number, "at": since}).scalar()
    if owed is None:
        return ""  # the owed call-back was settled in between: the caller keeps waiting and may ask again
    session.execute(
        update(_entries)
        .where(*waiting)
        .values(status="joined", joined_entry_id=owed, callback_number=number, ended_at=utcnow())
    )
    return "joined"


def owed_by_call(session: Session, call_sid: str) -> tuple[int | None, str]:
    """The call's entry id, and 'booked'/'joined' when it holds a call-back already ('' otherwise)."""
    row = session.execute(select(_e.id, _e.status).where(_e.call_sid == call_sid)).first()
    if row is None:
        return None, ""
    return row.id, {"callback": "booked", "offered": "", "joined": "joined"}.get(row.status, "")


def left(connection: Connection, call_sid: str, status: str, at: datetime) -> None:
    """A live caller left our queue: hung up (abandoned), or taken to the duty engineer (duty)."""
    connection.execute(_LEAVE.values(status=status, ended_at=at), {"sid": call_sid})


def now() -> datetime:
    """The time the queue runs on (naive UTC)."""
    return utcnow()
