"""How callers left since storm mode went on: an announcement, a booked call-back, an agent, or otherwise.

In a storm most callers should need no agent: the news first, the call-back offer at once. The share is
computed from the call records and their events (docs/console-announcements.md, "Storm mode measured"):
- **call-back**: the call's queue entry holds a call-back number (booked at the offer, as a storm message,
  after hours, or because no queue could take the caller);
- **announcement**: the caller heard an announcement and hung up without joining a queue;
- **agent**: an agent answered; **other**: anything else (gave up in the queue, left in the menu...).
Gas-leak callers are counted apart: they must reach a person, so they are not in the share. Callers still
on the line are counted apart too, until their call ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Call, CallEvent, QueueEntry

_HEARD_KINDS = ("call.started", "announcements.played")  # the events naming the announcements a call heard


@dataclass(frozen=True)
class StormOutcomes:
    """Counts of callers since `since`, by how they left."""

    since: datetime
    announcement: int = 0
    callback: int = 0
    agent: int = 0
    other: int = 0
    gas_leak: int = 0
    on_the_line: int = 0

    @property
    def left(self) -> int:
        """Non-safety callers whose call has ended."""
        return self.announcement + self.callback + self.agent + self.other

    @property
    def no_agent_share(self) -> float | None:
        """The share of them who left with an announcement or a booked call-back (None: nobody yet)."""
        return (self.announcement + self.callback) / self.left if self.left else None


def storm_outcomes(session: Session, since: datetime) -> StormOutcomes:
    """How the callers whose call started at or after `since` (naive UTC) left."""
    started = select(Call.call_sid).where(Call.started_at >= since)
    calls = session.execute(
        select(Call.call_sid, Call.emergency, Call.queue, Call.outcome, Call.status).where(
            Call.started_at >= since
        )
    ).all()
    booked = set(
        session.scalars(
            select(QueueEntry.call_sid).where(
                QueueEntry.call_sid.in_(started), QueueEntry.callback_number.is_not(None)
            )
        )
    )
    heard = {
        sid
        for sid, data in session.execute(
            select(CallEvent.call_sid, CallEvent.data).where(
                CallEvent.call_sid.in_(started), CallEvent.kind.in_(_HEARD_KINDS)
            )
        )
        if isinstance(data, dict) and data.get("announcements")
    }
    counts = dict.fromkeys(("announcement", "callback", "agent", "other", "gas_leak", "on_the_line"), 0)
    for sid, emergency, queue, outcome, status in calls:
        if emergency:
            kind = "gas_leak"
        elif sid in booked:
            kind = "callback"
        elif status is None:
            kind = "on_the_line"
        elif outcome == "answered":
            kind = "agent"
        elif sid in heard and queue is None:
            kind = "announcement"
        else:
            kind = "other"
        counts[kind] += 1
    return StormOutcomes(since, **counts)
