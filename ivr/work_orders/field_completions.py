"""A closed field work order becomes the service completion the satisfaction call-backs draw from.

Only the database models are imported (no surveys module: the surveys reach down to work orders for the
follow-up of a low score, so this way round would be a cycle). The draw normalises the phone and applies
the policy's share of the service type; docs/work-orders.md, "Closing the loop".
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import CallbackCandidate, Customer, ServiceCompletion, User, WorkOrder, WorkOrderEvent

SOURCE = "work_order"  # ServiceCompletion.source; the external id is the order's number

# The classes whose work is done in the field (a crew on site), and the call-back policy's service type
# each becomes. Enquiries, account business and service complaints are desk work: no completion.
FIELD_SERVICE_TYPES = {
    "fault_repair": "free_repair",  # "paid_repair" when the field result charged an amount
    "meter_fault": "free_repair",
    "gas_leak": "leak_repair",
    "installation": "small_installation",
    "quality_complaint": "free_repair",  # the crew comes back to put the work right
    "safety_complaint": "safety_inspection",  # a crew on site within 1 h
}
PAID_REPAIR = "paid_repair"


def service_type_of(work_class: str, result: dict[str, Any]) -> str | None:
    """The policy's service type of a closed order (None: not field work). The field result may name it
    (`service_type`, e.g. appliance_install_repair for an own-brand appliance), else a charge makes a
    repair paid."""
    default = FIELD_SERVICE_TYPES.get(work_class)
    if default is None:
        return None
    named = result.get("service_type")
    if isinstance(named, str) and named.replace("_", "").isalnum() and named.islower() and len(named) <= 50:
        return named
    if work_class == "fault_repair" and amount_of(result) > 0:
        return PAID_REPAIR
    return default


def amount_of(result: dict[str, Any]) -> Decimal:
    """The amount the field result says was charged (0 when none or not a usable amount)."""
    value = result.get("amount_charged")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        return Decimal("0")
    return amount if amount.is_finite() and 0 <= amount < Decimal("10000000000") else Decimal("0")


def record_completion(session: Session, order: WorkOrder, *, now: datetime) -> ServiceCompletion | None:
    """The completion of a field order that has just closed (None for desk work). Once per order: a
    reopened order closed again refreshes its completion while no draw has decided it yet (the call-back
    asks about the final work), and leaves it alone after."""
    last_result = session.scalar(
        select(WorkOrderEvent)
        .where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.to_stage == "handled")
        .order_by(WorkOrderEvent.id.desc())
        .limit(1)
    )
    result = dict(last_result.data or {}) if last_result is not None else {}
    service_type = service_type_of(order.work_class, result)
    if service_type is None:
        return None
    completion = session.scalar(
        select(ServiceCompletion).where(
            ServiceCompletion.source == SOURCE, ServiceCompletion.external_id == order.number
        )
    )
    if completion is not None:
        decided = session.scalar(
            select(CallbackCandidate.id).where(CallbackCandidate.completion_id == completion.id)
        )
        if decided is not None:
            return completion
    # Everything read before the row is added: a read would otherwise flush a half-filled completion.
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    employee = _employee(session, order, last_result)[:100]
    if completion is None:
        completion = ServiceCompletion(source=SOURCE, external_id=order.number)
        session.add(completion)
    completion.service_type = service_type
    completion.completed_at = order.completed_at or now
    completion.customer_phone = (order.caller_number or (customer.phone if customer else ""))[:40]
    completion.customer_language = customer.language if customer else "zh-CN"
    completion.employee = employee
    completion.amount_charged = amount_of(result)
    session.flush()
    return completion


def _employee(session: Session, order: WorkOrder, last_result: WorkOrderEvent | None) -> str:
    # Who recorded the field result did the work (or speaks for the crew); else the order's owner.
    if last_result is not None and last_result.actor:
        return last_result.actor
    if order.owner_user_id is not None:
        owner = session.get(User, order.owner_user_id)
        if owner is not None:
            return owner.username
    return order.desk or "field crew"
