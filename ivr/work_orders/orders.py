"""Work orders: opening them (idempotently) and reading their status."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, WorkOrder, utcnow

FIRST_NUMBER = 1_000_000  # numbers are keyed by callers: digits only, 7 long for a long while


def open_work_order(
    session: Session,
    *,
    kind: str,
    caller_number: str,
    source_key: str,
    customer: Customer | None = None,
    emergency: bool = False,
    call_sid: str | None = None,
    promised_by: datetime | None = None,
    description: str = "",
    created_at: datetime | None = None,
) -> WorkOrder:
    """Open a work order, or return the one already opened for `source_key` (a retried webhook)."""
    existing = session.scalar(select(WorkOrder).where(WorkOrder.source_key == source_key))
    if existing is not None:
        return existing
    order = WorkOrder(
        number=uuid.uuid4().hex[:20],  # replaced by the real number below
        kind=kind,
        status="open",
        emergency=emergency,
        customer_id=customer.id if customer else None,
        caller_number=caller_number,
        address=customer.address if customer else "",
        description=description,
        call_sid=call_sid,
        source_key=source_key,
        created_at=created_at or utcnow(),
        promised_by=promised_by,
    )
    session.add(order)
    session.flush()  # the id gives a unique number without a second sequence
    order.number = str(FIRST_NUMBER + order.id)
    session.flush()
    return order


def find_work_order(session: Session, number: str) -> WorkOrder | None:
    """The work order with this number, if any."""
    return session.scalar(select(WorkOrder).where(WorkOrder.number == number))
