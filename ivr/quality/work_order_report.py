"""The work-order facts of a report, read from the database.

The deadline timers (when each deadline was due and met: ivr/work_orders/timers.py keeps them), the complaints
taken, the orders open at a moment.

Only the database models are read here (the work-order package reaches the quality package for its pages,
so this way round would be a cycle); the figures are computed by ivr/quality/work_order_figures.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import User, WorkOrder, WorkOrderEvent, WorkOrderTimer
from ivr.quality.work_order_figures import (
    AGE_BUCKETS,
    COMPLAINT_CLASSES,
    MET,
    RUNNING,
    AgeBucket,
    DeadlineFact,
    OrderFact,
    WorkOrderFigures,
    figures,
)

CLOSED, REOPENED = "closed", "reopened"  # the lifecycle's stages that close and reopen an order
NO_DESK, NO_OWNER = "(no desk)", "(no owner)"
CHUNK = 500  # ids per IN list


def work_order_figures(
    session: Session, *, start: datetime, end: datetime, now: datetime
) -> WorkOrderFigures:
    """The figures of the period [start, end) (naive UTC), as things stood at its end (or now, if sooner):
    the deadlines due in it, the complaints taken in it, the orders open at its end."""
    as_of = min(end, now)
    deadlines = _deadlines(session, (WorkOrderTimer.due_at >= start) & (WorkOrderTimer.due_at < end))
    complaint_rows = session.execute(
        select(WorkOrder.id, WorkOrder.work_class, WorkOrder.created_at).where(
            WorkOrder.work_class.in_(COMPLAINT_CLASSES),
            WorkOrder.created_at >= start,
            WorkOrder.created_at < end,
        )
    ).all()
    complaint_ids = [row.id for row in complaint_rows]
    closed = _closed_at(session, complaint_ids, as_of)
    complaints = [
        OrderFact(row.id, row.work_class, row.created_at, closed.get(row.id)) for row in complaint_rows
    ]
    complaint_deadlines = [
        fact
        for ids in _chunks(complaint_ids)
        for fact in _deadlines(session, WorkOrderTimer.work_order_id.in_(ids))
    ]
    result = figures(deadlines, complaints, _open_at(session, as_of), as_of)
    # The period's deadlines give the on-time rates; a complaint's own deadlines (some due after the period)
    # say whether it was closed in time.
    result.closure = figures(complaint_deadlines, complaints, [], as_of).closure
    return result


def live_work_orders(session: Session, *, now: datetime) -> dict[str, Any]:
    """The live board's work orders: open ones per age band and how many are overdue (a running deadline
    past its due time), in one aggregate query."""
    columns = []
    younger_than = now + timedelta(seconds=1)  # the youngest band starts at now
    for label, bound in AGE_BUCKETS:
        older_than = now - bound if bound is not None else datetime.min
        in_band = and_(WorkOrder.created_at > older_than, WorkOrder.created_at <= younger_than)
        overdue = and_(in_band, WorkOrder.due_at < now)
        columns.append(func.sum(case((in_band, 1), else_=0)).label(f"open {label}"))
        columns.append(func.sum(case((overdue, 1), else_=0)).label(f"overdue {label}"))
        younger_than = older_than
    row = session.execute(select(*columns).where(WorkOrder.stage != CLOSED)).one()
    buckets = [
        AgeBucket(label, int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
        for i, (label, _) in enumerate(AGE_BUCKETS)
    ]
    return {
        "open": sum(b.open for b in buckets),
        "overdue": sum(b.overdue for b in buckets),
        "ages": [{"label": b.label, "open": b.open, "overdue": b.overdue} for b in buckets],
    }


def _deadlines(session: Session, where: Any) -> list[DeadlineFact]:
    rows = session.execute(
        select(
            WorkOrderTimer.work_order_id,
            WorkOrderTimer.kind,
            WorkOrderTimer.due_at,
            WorkOrderTimer.done_at,
            WorkOrderTimer.state,
            WorkOrder.work_class,
            WorkOrder.desk,
            User.username,
        )
        .join(WorkOrder, WorkOrder.id == WorkOrderTimer.work_order_id)
        .outerjoin(User, User.id == WorkOrder.owner_user_id)
        .where(where)
    ).all()
    return [
        DeadlineFact(
            work_order_id=row.work_order_id,
            kind=row.kind,
            work_class=row.work_class,
            desk=row.desk or NO_DESK,
            owner=row.username or NO_OWNER,
            due_at=row.due_at,
            done_at=row.done_at,
            state=row.state,
        )
        for row in rows
    ]


def _closed_at(session: Session, ids: Sequence[int], as_of: datetime) -> dict[int, datetime]:
    """When each order was closed, as things stood at `as_of` (absent: open then, or reopened since)."""
    last: dict[int, tuple[str | None, datetime]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(WorkOrderEvent.work_order_id, WorkOrderEvent.to_stage, WorkOrderEvent.at)
            .where(
                WorkOrderEvent.work_order_id.in_(chunk),
                WorkOrderEvent.to_stage.in_((CLOSED, REOPENED)),
                WorkOrderEvent.at <= as_of,
            )
            .order_by(WorkOrderEvent.at, WorkOrderEvent.id)
        )
        for order_id, stage, at in rows:
            last[order_id] = (stage, at)
    return {order_id: at for order_id, (stage, at) in last.items() if stage == CLOSED}


def _open_at(session: Session, as_of: datetime) -> list[tuple[datetime, bool]]:
    """The orders open at `as_of` (taken before, not closed then): (taken at, a deadline overdue then)."""
    # Not closed now, or changed since `as_of` (closed afterwards, or closed, reopened and closed again).
    # Only those changed since need their history read: the others have been in their stage since.
    candidate = (WorkOrder.created_at < as_of) & or_(WorkOrder.stage != CLOSED, WorkOrder.updated_at >= as_of)
    candidates = session.execute(
        select(WorkOrder.id, WorkOrder.created_at, WorkOrder.updated_at >= as_of).where(candidate)
    ).all()
    closed = _closed_at(session, [row[0] for row in candidates if row[2]], as_of)
    # A deadline due before `as_of` and not met by then (met later, or still running).
    not_met_then = or_(
        WorkOrderTimer.state == RUNNING,
        (WorkOrderTimer.state == MET) & or_(WorkOrderTimer.done_at.is_(None), WorkOrderTimer.done_at > as_of),
    )
    overdue = set(
        session.scalars(
            select(WorkOrderTimer.work_order_id)
            .join(WorkOrder, WorkOrder.id == WorkOrderTimer.work_order_id)
            .where(candidate, WorkOrderTimer.due_at < as_of, not_met_then)
            .distinct()
        )
    )
    return [(row[1], row[0] in overdue) for row in candidates if row[0] not in closed]


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for first in range(0, len(ids), CHUNK):
        yield ids[first : first + CHUNK]
