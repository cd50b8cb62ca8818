"""A complaint's notice naming the reply's due time in words: today, tomorrow or a date, in the desk's zone.

Shared by a live call (menu_turns.py) and the console's trial call, so that both say the same.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls.flow import Enqueue, Said, Turn
from ivr.configuration.menus.schema import QueueNode
from ivr.db.models import utcnow
from ivr.work_orders.menu_orders import COMPLAINT_CLASSES, Promise, promised_reply


def with_promise(
    said: tuple[Said, ...], node: QueueNode, language: str, promised: Promise, now: datetime
) -> tuple[Said, ...]:
    """The shipped complaint notice ("within 4 hours") replaced by its variant saying the due time; `now`
    and the due time in naive UTC. A menu's own notice prompt is left as it is."""
    notice = f"complaint_{node.complaint_class}_notice"
    if notice not in node.prompts:
        return said
    zone = ZoneInfo(promised.timezone)
    due = promised.due_at.replace(tzinfo=UTC).astimezone(zone)
    today = now.replace(tzinfo=UTC).astimezone(zone).date()
    when = {today: "today", today + timedelta(days=1): "tomorrow"}.get(due.date(), "on")
    values = (
        ("month", str(due.month)),
        ("day", str(due.day)),
        ("hour", str(due.hour)),
        ("minute", f"{due.minute:02d}"),
    )
    timed = Said(f"{notice}_{when}", language, values)
    return tuple(timed if item == Said(notice, language) else item for item in said)


def with_promise_now(sessions: sessionmaker[Session], turn: Turn) -> Turn:
    """The turn as a live complaint caller would hear it now, under the live rules (the trial call)."""
    then = turn.then
    if not isinstance(then, Enqueue) or then.node.emergency:
        return turn
    work_class = COMPLAINT_CLASSES.get(then.node.complaint_class or "")
    if work_class is None:
        return turn
    now = utcnow()
    with sessions() as session:
        promised = promised_reply(session, work_class, now)
    if promised is None:
        return turn
    return replace(turn, said=with_promise(turn.said, then.node, then.state.language, promised, now))
