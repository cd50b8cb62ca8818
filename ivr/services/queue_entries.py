"""Queue entries as the call events project them: a caller enqueued, gone, handed to the duty engineer.

Plain statements on the event's connection, like the rest of the projection (this is the webhook hot path).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ivr.db.models import Customer, QueueEntry, utcnow

_entries: Table = QueueEntry.__table__  # type: ignore[assignment]
_e = _entries.c
LIVE = ("waiting", "offered")  # a caller on the line, in our queue

_REQUEUE = (
    update(_entries)
    .where(_e.call_sid == bindparam("sid"), _e.status.in_(("waiting", "offered", "duty")))
    .values(status="waiting", claimed_at=None, agent_id=None, queue=bindparam("q"), priority=bindparam("p"))
)
_LEAVE = update(_entries).where(_e.call_sid == bindparam("sid"), _e.status.in_(LIVE))
_INSERTS: dict[str, Any] = {}


def enqueue(connection: Connection, call_sid: str, data: dict[str, Any], at: datetime) -> None:
    """A caller entered a queue: a new entry, or the same entry waiting again (their place kept)."""
    name = connection.dialect.name
    statement = _INSERTS.get(name)
    if statement is None:
        dialect = postgresql if name == "postgresql" else sqlite
        customer_class = (
            select(Customer.customer_class)
            .where(Customer.phone == bindparam("caller_phone"))
            .limit(1)
            .scalar_subquery()
        )
        statement = _INSERTS[name] = (
            dialect.insert(_entries)
            .values(customer_class=customer_class)
            .on_conflict_do_nothing()
            .returning(_e.id)
        )
    row = {
        "call_sid": call_sid,
        "queue": data.get("queue") or "general",
        "intent": data.get("intent") or "agent",
        "language": data.get("language") or "zh-CN",
        "priority": int(data.get("priority") or 5),
        "emergency": bool(data.get("emergency")),
        "caller": str(data.get("from", "")),
        "caller_phone": str(data.get("from", "")),
        "status": "callback" if data.get("callback_after") else "waiting",
        "callback_number": str(data.get("from", "")) if data.get("callback_after") else None,
        "callback_after": datetime.fromisoformat(data["callback_after"])
        if data.get("callback_after")
        else None,
        "waiting_since": at,
        "attempts": 0,
        "callback_offered": False,
        "filter": "",
        "step": 0,
    }
    if connection.execute(statement, row).first() is None:
        connection.execute(_REQUEUE, {"sid": call_sid, "q": row["queue"], "p": row["priority"]})


def left(connection: Connection, call_sid: str, status: str, at: datetime) -> None:
    """A live caller left our queue: hung up (abandoned), or taken to the duty engineer (duty)."""
    connection.execute(_LEAVE.values(status=status, ended_at=at), {"sid": call_sid})


def now() -> datetime:
    """The time the queue runs on (naive UTC)."""
    return utcnow()
