"""A desk's queue: its open work orders by due time (none last), a page at a time, each with its urgency.

`desk_queue` is the one query the desk pages run (and the benchmark times): keyset pages on the index
(desk, due_at), so the thousandth page costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from ivr.db.models import Customer, User, WorkOrder
from ivr.work_orders import lifecycle

# Written out, not a bound parameter, so the planner may use the open orders' partial index (migration 0018).
OPEN = WorkOrder.stage != literal_column(f"'{lifecycle.CLOSED}'")
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
    # Two reads, each one range of an index in its order: the orders with a due time past the cursor, then
    # (if the page is not full) those without one. One query with "NULLS LAST" and an OR in the cursor
    # made the databases read the desk's index from its start on every page.
    wanted = limit + 1  # one more says whether a next page exists
    rows: list[QueueRow] = []
    if after is None or after.due_at is not None:
        past = (
            [] if after is None else [tuple_(WorkOrder.due_at, WorkOrder.id) > tuple_(after.due_at, after.id)]
        )
        rows = _rows(session, desk, [WorkOrder.due_at.is_not(None), *past], wanted)
    if len(rows) < wanted:
        past = [] if after is None or after.due_at is not None else [WorkOrder.id > after.id]
        rows += _rows(session, desk, [WorkOrder.due_at.is_(None), *past], wanted - len(rows))
    page = rows[:limit]
    more = len(rows) > limit and page
    return QueuePage(page, After(page[-1].due_at, page[-1].id) if more else None)


def _rows(session: Session, desk: str, where: list[ColumnElement[bool]], limit: int) -> list[QueueRow]:
    # The page's orders first, alone, by (due_at, id): the open orders' index in its own order, read no
    # further than the page (PostgreSQL takes "due_at IS NULL" for no ordering, so "by id" alone would be
    # sorted; with the joins inside, a low row estimate made it join and sort the whole desk instead).
    chosen = (
        select(WorkOrder)
        .where(_desk_is(desk), OPEN, *where)
        .order_by(WorkOrder.due_at, WorkOrder.id)
        .limit(limit)
        .subquery()
    )
    order = aliased(WorkOrder, chosen)
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
        .order_by(order.due_at, order.id)
    )
    return [
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
        .where(OPEN)  # the open orders' partial index
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
