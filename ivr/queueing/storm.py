"""Storm mode's state and rules: the switch (logged), and a waiting caller's offer of a call-back or message.

The offer is a call-back or a voice message instead of a long wait. The gas-leak path never comes here: a
safety caller (emergency queue) is never offered anything but a person. How a call's greeting speaks storm
mode and the announcements (the gas-leak key first) is the calls' own: ivr/calls/announced_greeting.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ivr.configuration.announcements import STORM_SWITCH
from ivr.configuration.change_log import log_change
from ivr.db.models import QueueEntry, Switch, utcnow
from ivr.queueing.queue_entries import book_callback

# A caller leaving a message is not called back before it is done: longer than the longest message.
MESSAGE_GRACE = timedelta(seconds=150)
MESSAGE_MAX_SECONDS = 120


# ---------------------------------------------------------------- the switch


@dataclass(frozen=True)
class StormState:
    """The storm switch: on or off, who set it and when (None: never set)."""

    on: bool
    set_by: str | None = None
    set_at: datetime | None = None


def storm_state(session: Session) -> StormState:
    """The switch as stored (off when it was never set)."""
    row = session.get(Switch, STORM_SWITCH)
    return StormState(row.on, row.set_by, row.set_at) if row is not None else StormState(False)


def set_storm(session: Session, on: bool, *, who: str, now: datetime | None = None) -> bool:
    """Turn storm mode on or off; False (and nothing logged) when it already was so."""
    now = now or utcnow()
    _ensure_switch(session)
    row = session.get(Switch, STORM_SWITCH, with_for_update=True)
    assert row is not None
    if row.on == on:
        return False
    before = _describe(row)
    row.on, row.set_by, row.set_at = on, who, now
    session.flush()
    log_change(
        session, who, "storm", "on" if on else "off", STORM_SWITCH, before=before, after=_describe(row)
    )
    return True


def _ensure_switch(session: Session) -> None:
    # Two people switching at once both find the row afterwards: the insert ignores a row already there.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(Switch)
        .values(name=STORM_SWITCH, on=False, set_by="system", set_at=utcnow())
        .on_conflict_do_nothing()
    )


def _describe(row: Switch) -> dict[str, Any]:
    return {"on": row.on, "set_by": row.set_by, "set_at": row.set_at.isoformat() if row.set_at else None}


# ---------------------------------------------------------------- waiting callers


def offer_due(entry: QueueEntry, estimate: float | None, storm: bool, threshold_seconds: int) -> bool:
    """Storm mode, a non-safety caller, not offered anything yet, and a wait over the threshold (or no
    agent able to take the call at all: the wait is unknown, so long)."""
    if not storm or entry.emergency or entry.callback_offered:
        return False
    return estimate is None or estimate > threshold_seconds


def mark_offered(session: Session, entry_id: int) -> bool:
    """Note the offer once (True if this request made it): the caller is not asked on every re-fetch."""
    result = session.execute(
        update(QueueEntry)
        .where(
            QueueEntry.id == entry_id, QueueEntry.callback_offered.is_(False), QueueEntry.emergency.is_(False)
        )
        .values(callback_offered=True)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def book_message(
    session: Session, entry_id: int, call_sid: str, number: str, now: datetime | None = None
) -> bool:
    """The caller chose a voice message: a call-back is owed from now on (their place kept), not placed
    before the message is done. False when the caller is no longer waiting (an agent is ringing)."""
    now = now or utcnow()
    entry = session.get(QueueEntry, entry_id)
    if entry is None or entry.call_sid != call_sid:
        return False
    # A number already owed a call-back is owed one: this request joins it (the earlier place is kept).
    return bool(book_callback(session, entry_id, number, callback_after=now + MESSAGE_GRACE))


def message_owed(session: Session, call_sid: str) -> bool:
    """True when the caller who just left the queue booked a message (their entry awaits a call-back)."""
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    return entry is not None and not entry.emergency and entry.status in ("callback", "joined")


def message_left(session: Session, call_sid: str, now: datetime | None = None) -> str | None:
    """The message is done: the call-back may be placed as soon as an agent is free. Returns the queue."""
    now = now or utcnow()
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    if entry is not None and entry.status == "joined":
        return entry.queue  # the owed call-back it joined keeps its own timing
    if entry is None or entry.status != "callback":
        return None
    if entry.callback_after is not None and entry.callback_after > now:
        entry.callback_after = now
    return entry.queue
