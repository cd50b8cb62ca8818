"""Everything the work order's page shows, read in one place (ivr/work_orders/order_pages.py renders it).

The order, its customer and owner, the calls attached to it, its deadlines and its history."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import (
    AuditItem,
    Call,
    CallDisposition,
    Customer,
    User,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderTimer,
)
from ivr.work_orders import lifecycle
from ivr.work_orders.cases import history
from ivr.work_orders.orders import find_work_order
from ivr.work_orders.timers import timers_of


@dataclass(frozen=True)
class AttachedCall:
    """A call kept with the order: how it is attached, its record (if the hotline has one), its audit item."""

    call_sid: str
    how: str  # opened (the call that opened it), attached (a disposition), answer_call (click-to-call)
    call: Call | None = None
    audit_item_id: int | None = None
    status: str = ""  # a click-to-call's last status


@dataclass(frozen=True)
class OrderRecord:
    """A work order with all the page shows."""

    order: WorkOrder
    customer: Customer | None
    owner: str | None
    allowed_next: tuple[str, ...]
    events: list[WorkOrderEvent]
    users: dict[int, str]  # who acted, by user id
    calls: list[AttachedCall] = field(default_factory=list)
    timers: list[WorkOrderTimer] = field(default_factory=list)

    @property
    def is_closed(self) -> bool:
        """Only reopening is allowed."""
        return self.order.stage == lifecycle.CLOSED


def order_record(session: Session, number: str) -> OrderRecord | None:
    """The page's record of work order `number` (None: no such order)."""
    order = find_work_order(session, number)
    if order is None:
        return None
    customer = session.get(Customer, order.customer_id) if order.customer_id is not None else None
    events = history(session, order)
    user_ids = {event.by_user_id for event in events if event.by_user_id is not None}
    if order.owner_user_id is not None:
        user_ids.add(order.owner_user_id)
    rows = session.execute(select(User.id, User.username).where(User.id.in_(user_ids)))
    users = {user_id: username for user_id, username in rows}
    return OrderRecord(
        order=order,
        customer=customer,
        owner=users.get(order.owner_user_id) if order.owner_user_id is not None else None,
        allowed_next=lifecycle.allowed_next(order.stage),
        events=events,
        users=users,
        calls=_attached_calls(session, order, events),
        timers=timers_of(session, order),
    )


def _attached_calls(session: Session, order: WorkOrder, events: list[WorkOrderEvent]) -> list[AttachedCall]:
    found: dict[str, tuple[str, str]] = {}  # call sid -> (how, last status), first attachment wins
    if order.call_sid:
        found[order.call_sid] = ("opened", "")
    dispositions = select(CallDisposition.call_sid).where(CallDisposition.work_order_number == order.number)
    for sid in session.scalars(dispositions.order_by(CallDisposition.id)):
        found.setdefault(sid, ("attached", ""))
    for event in events:
        sid = str(event.data.get("call_sid") or "")
        if not sid:
            continue
        if event.kind == "answer_call":
            found.setdefault(sid, ("answer_call", "placed"))
        elif event.kind == "answer_call_status" and sid in found:
            found[sid] = (found[sid][0], f"{event.data.get('leg')}: {event.data.get('status')}")
    audited = select(AuditItem.call_sid, AuditItem.id).where(AuditItem.call_sid.in_(list(found)))
    audit_items = {sid: item_id for sid, item_id in session.execute(audited.order_by(AuditItem.id))}  # latest
    records = {
        call.call_sid: call for call in session.scalars(select(Call).where(Call.call_sid.in_(list(found))))
    }
    return [
        AttachedCall(sid, how, records.get(sid), audit_items.get(sid), status)
        for sid, (how, status) in found.items()
    ]
