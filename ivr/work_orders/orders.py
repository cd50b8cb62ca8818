"""Work orders: opening them (idempotently), reading them, and appending to their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, WorkOrder, WorkOrderEvent, utcnow
from ivr.work_orders import timers
from ivr.work_orders.lifecycle import CLASS_OF_KIND, OPENED, menu_status
from ivr.work_orders.outbox import queue_delivery

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
    work_class: str | None = None,
    address: str | None = None,
    desk: str | None = None,
    owner_user_id: int | None = None,
    actor: str = "menu",
    notify: bool = True,
) -> WorkOrder:
    """Open a work order, or return the one already opened for `source_key` (a retried webhook)."""
    existing = session.scalar(select(WorkOrder).where(WorkOrder.source_key == source_key))
    if existing is not None:
        return existing
    opened_at = created_at or utcnow()
    order = WorkOrder(
        number=uuid.uuid4().hex[:20],  # replaced by the real number below
        kind=kind,
        work_class=work_class or CLASS_OF_KIND.get(kind, "enquiry"),
        stage=OPENED,
        status=menu_status(OPENED),
        desk=desk,
        owner_user_id=owner_user_id,
        updated_at=opened_at,
        emergency=emergency,
        customer_id=customer.id if customer else None,
        caller_number=caller_number,
        address=address if address is not None else (customer.address if customer else ""),
        description=description,
        call_sid=call_sid,
        source_key=source_key,
        created_at=opened_at,
        promised_by=promised_by,
    )
    session.add(order)
    session.flush()  # the id gives a unique number without a second sequence
    order.number = str(FIRST_NUMBER + order.id)
    data = {"work_class": order.work_class, "kind": kind, "call_sid": call_sid, "desk": desk}
    append_event(
        session,
        order,
        kind="opened",
        actor=actor,
        by_user_id=owner_user_id,
        to_stage=OPENED,
        at=opened_at,
        data=data,
        notify=notify,
    )
    timers.on_stage(session, order, OPENED, opened_at)  # the deadlines counted from the opening start
    return order


def append_event(
    session: Session,
    order: WorkOrder,
    *,
    kind: str,
    actor: str,
    at: datetime,
    by_user_id: int | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    notify: bool = True,
) -> WorkOrderEvent:
    """Append one change to the order's history (never updated afterwards) and owe it to the webhooks."""
    event = WorkOrderEvent(
        work_order_id=order.id,
        at=at,
        by_user_id=by_user_id,
        actor=actor,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason,
        data=data or {},
    )
    session.add(event)
    session.flush()
    if notify:  # the demo's orders are no news to the utility's systems
        on_work_order_event(session, order, event)
    return event


def on_work_order_event(session: Session, order: WorkOrder, event: WorkOrderEvent) -> None:
    """Owe the event to the outgoing webhooks, in the change's transaction (docs/work-orders.md)."""
    queue_delivery(
        session,
        event_id=f"work-order-event:{event.id}",
        work_order_number=order.number,
        kind=f"work_order.{event.kind}",
        body=event_body(order, event),
    )


def event_body(order: WorkOrder, event: WorkOrderEvent) -> dict[str, Any]:
    """An event as the API and the webhooks show it."""
    return {
        "id": event.id,
        "at": event.at.isoformat(timespec="seconds") + "Z",
        "by": event.actor,
        "kind": event.kind,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "reason": event.reason,
        "data": event.data,
        "work_order": order.number,
    }


def find_work_order(session: Session, number: str) -> WorkOrder | None:
    """The work order with this number, if any."""
    return session.scalar(select(WorkOrder).where(WorkOrder.number == number))
