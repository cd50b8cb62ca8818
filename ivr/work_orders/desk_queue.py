"""A desk's queue: its open work orders by due time (none last), a page at a time, each with its urgency.

`desk_queue` is the one query the desk pages run (and the benchmark times): keyset pages on the index
(desk, due_at), so the thousandth page costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, User, WorkOrder
from ivr.work_orders import lifecycle

NO_DESK = "_none"  # the queue of orders no desk holds yet (not a desk name: those start with a letter)

# How close a deadline is, most urgent first: past the due time, past the warning, before it, none running.
OVERDUE, WARNING, ON_TIME, NO_DEADLINE = "overdue", "warning", "on_time", "no_deadline"


@dataclass(frozen=True)
class After:
    """Where a page ends: the last row's due time (None: no deadline) and id; the next page starts past it."""

    due_at: datetime | None
    id: int

    def text(self) -> str:
        """The cursor as it travels in a URL: `<iso due time or ->.<id>`."""
        return f"{self.due_at.isoformat() if self.due_at else '-'}.{self.id}"

    @classmethod
    def parse(cls, text: str) -> After:
        """Read a cursor made by `text`; ValueError if it is not one."""
        due, _, ident = text.rpartition(".")
        if not ident.isdigit() or len(ident) > 18 or not due:
            raise ValueError(f"not a page cursor: {text!r}")
        return cls(None if due == "-" else datetime.fromisoformat(due), int(ident))


@dataclass(frozen=True)
class QueueRow:
    """One line of a desk's queue."""

    number: str
    work_class: str
    stage: str
    created_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    escalation: str
    owner: str | None
    customer: str | None
    caller_number: str
    emergency: bool
    id: int

    def urgency(self, now: datetime) -> str:
        """overdue / warning / on_time / no_deadline at `now`."""
        return urgency(self.due_at, self.warn_at, now)

    def age(self, now: datetime) -> str:
        """How long ago it was opened: `3d 4h`, `2h 05m`, `12m`."""
        return age_text(now - self.created_at)


@dataclass(frozen=True)
class QueuePage:
    """A page of a desk's queue, and the cursor of the next one (None: this was the last)."""

    rows: list[QueueRow]
    next_after: After | None


@dataclass(frozen=True)
class DeskCount:
    """A desk's open work orders, and how many of them are overdue or past their warning at `now`."""

    desk: str
    open: int
    overdue: int
    warning: int


def desk_queue(session: Session, desk: str, *, limit: int, after: After | None = None) -> QueuePage:
    """The desk's open work orders by due time (no deadline last, then oldest id first), `limit` per page,
    starting past `after`; `desk` NO_DESK is the orders no desk holds yet."""
    order = WorkOrder
    where = [_desk_is(desk), order.stage != lifecycle.CLOSED]
    if after is not None and after.due_at is not None:
        where.append(
            or_(
                order.due_at > after.due_at,
                and_(order.due_at == after.due_at, order.id > after.id),
                order.due_at.is_(None),
            )
        )
    elif after is not None:
        where.append(and_(order.due_at.is_(None), order.id > after.id))
    query = (
        select(
            order.id,
            order.number,
            order.work_class,
            order.stage,
            order.created_at,
            order.due_at,
            order.warn_at,
            order.escalation,
            User.username,
            Customer.name,
            order.caller_number,
            order.emergency,
        )
        .outerjoin(User, User.id == order.owner_user_id)
        .outerjoin(Customer, Customer.id == order.customer_id)
        .where(*where)
        .order_by(order.due_at.asc().nulls_last(), order.id)
        .limit(limit + 1)  # one more says whether a next page exists
    )
    rows = [
        QueueRow(
            number=row.number,
            work_class=row.work_class,
            stage=row.stage,
            created_at=row.created_at,
            due_at=row.due_at,
            warn_at=row.warn_at,
            escalation=row.escalation or "",
            owner=row.username,
            customer=row.name,
            caller_number=row.caller_number,
            emergency=bool(row.emergency),
            id=row.id,
        )
        for row in session.execute(query)
    ]
    page = rows[:limit]
    more = len(rows) > limit and page
    return QueuePage(page, After(page[-1].due_at, page[-1].id) if more else None)


def desk_counts(session: Session, desks: list[str], *, now: datetime) -> list[DeskCount]:
    """Each of `desks` (then any other desk an open order names, then NO_DESK) with its open counts."""
    order = WorkOrder
    query = (
        select(
            order.desk,
            func.count(),
            func.count().filter(order.due_at <= now),
            func.count().filter(order.warn_at <= now, or_(order.due_at.is_(None), order.due_at > now)),
        )
        .where(order.stage != lifecycle.CLOSED)
        .group_by(order.desk)
    )
    found = {
        desk or NO_DESK: DeskCount(desk or NO_DESK, n, late, warned)
        for desk, n, late, warned in session.execute(query)
    }
    named = [*desks, *sorted(d for d in found if d not in desks and d != NO_DESK), NO_DESK]
    return [found.get(desk, DeskCount(desk, 0, 0, 0)) for desk in named]


def urgency(due_at: datetime | None, warn_at: datetime | None, now: datetime) -> str:
    """How close the deadline is at `now`: overdue, warning (past warn_at), on_time, or no_deadline."""
    if due_at is None:
        return NO_DEADLINE
    if now >= due_at:
        return OVERDUE
    if warn_at is not None and now >= warn_at:
        return WARNING
    return ON_TIME


def age_text(span: timedelta) -> str:
    """A timedelta as people read an age: `3d 4h`, `2h 05m`, `12m` (never negative)."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m"


def _desk_is(desk: str) -> ColumnElement[bool]:
    return WorkOrder.desk.is_(None) if desk == NO_DESK else WorkOrder.desk == desk
