"""The gas-leak work order of a call: a crew on site within the hour, one order per call."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, WorkOrder
from ivr.work_orders.orders import open_work_order

EMERGENCY_ON_SITE = timedelta(hours=1)  # DOMAIN: a crew on site within 1 hour


def gas_leak_source_key(call_sid: str) -> str:
    """One emergency order per call, however the caller reached the safety queue (and however often)."""
    return f"emergency:{call_sid}"


def open_gas_leak_order(session: Session, *, call_sid: str, caller: str, reported_at: datetime) -> WorkOrder:
    """Open the call's gas-leak order (the customer matched by the caller's number), or return it if open."""
    customer = session.scalar(select(Customer).where(Customer.with_number(caller)))
    return open_work_order(
        session,
        kind="gas_leak",
        emergency=True,
        caller_number=caller,
        customer=customer,
        call_sid=call_sid,
        source_key=gas_leak_source_key(call_sid),
        promised_by=reported_at + EMERGENCY_ON_SITE,
        description="Gas leak reported on the hotline",
        created_at=reported_at,
    )
