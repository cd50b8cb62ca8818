"""The work orders the phone menu opens for a complaint or an after-hours message, and the reply promised.

One order per call (the source key), the customer matched by the caller's number, the desk and the due
times from the live deadline rules (deadline_versions.live_deadlines). See docs/work-orders.md, "Orders the
phone menu opens". The gas-leak order is gas_leak.py's; the fault report's is the menu action's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, WorkOrder
from ivr.work_orders.deadline_rules import DeadlinesDocument, deadline_rule, desk_calendar
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.due_times import due_time
from ivr.work_orders.lifecycle import OPENED
from ivr.work_orders.orders import open_work_order

# The menu's complaint_class -> the work-order class
COMPLAINT_CLASSES = {
    "service": "service_complaint",
    "quality": "quality_complaint",
    "safety": "safety_complaint",
}
MESSAGE_CLASS = "enquiry"  # a message left after hours is owed an answer: a call back when the desk opens
PROMISED_DEADLINE = "answer"  # told to the caller when it runs from the opening; else the first that does


@dataclass(frozen=True)
class Promise:
    """The reply promised to a caller: when (naive UTC, as the database keeps it) on which desk's clock."""

    due_at: datetime
    timezone: str  # the desk's, for saying the time in words


def complaint_source_key(call_sid: str) -> str:
    """One complaint order per call, however often Twilio retries the webhook."""
    return f"complaint:{call_sid}"


def message_source_key(call_sid: str) -> str:
    """One message order per call."""
    return f"message:{call_sid}"


def promise(rules: DeadlinesDocument, work_class: str, opened_at: datetime) -> Promise | None:
    """The deadline the caller is told: the class's answer deadline if it runs from the opening, else its
    first deadline that does; None when no deadline of the class starts at the opening."""
    entry = rules.classes.get(work_class)
    if entry is None:
        return None
    from_opening = [kind for kind, deadline in entry.deadlines.items() if deadline.starts == OPENED]
    if not from_opening:
        return None
    kind = PROMISED_DEADLINE if PROMISED_DEADLINE in from_opening else from_opening[0]
    calendar = desk_calendar(rules, entry.desk)
    return Promise(due_time(deadline_rule(rules, work_class, kind), opened_at, calendar), calendar.timezone)


def promised_reply(session: Session, work_class: str, opened_at: datetime) -> Promise | None:
    """promise() under the live rules."""
    return promise(live_deadlines(session), work_class, opened_at)


def open_complaint_order(
    session: Session,
    *,
    call_sid: str,
    caller: str,
    complaint_class: str,
    reported_at: datetime,
    promised_by: datetime | None = None,
) -> WorkOrder:
    """Open the call's complaint order (or return it); promised_by: the time the caller was told, if any."""
    work_class = COMPLAINT_CLASSES.get(complaint_class, "service_complaint")
    rules = live_deadlines(session)
    if promised_by is None:
        told = promise(rules, work_class, reported_at)
        promised_by = told.due_at if told else None
    return open_work_order(
        session,
        kind="complaint",
        work_class=work_class,
        emergency=work_class == "safety_complaint",
        caller_number=caller,
        customer=_customer(session, caller),
        call_sid=call_sid,
        source_key=complaint_source_key(call_sid),
        promised_by=promised_by,
        desk=_desk(rules, work_class),
        description=f"Complaint ({complaint_class}) taken by the phone menu",
        created_at=reported_at,
    )


def open_message_order(
    session: Session, *, call_sid: str, caller: str, recording_url: str, recording_sid: str, left_at: datetime
) -> WorkOrder:
    """Open the enquiry order of a message left after hours (or return it), the recording linked."""
    rules = live_deadlines(session)
    told = promise(rules, MESSAGE_CLASS, left_at)
    if recording_url or recording_sid:
        description = f"Message left after hours: recording {recording_sid or '-'} {recording_url}".strip()
    else:
        description = "Caller sent to the after-hours message left none: call back"
    return open_work_order(
        session,
        kind="message",
        work_class=MESSAGE_CLASS,
        caller_number=caller,
        customer=_customer(session, caller),
        call_sid=call_sid,
        source_key=message_source_key(call_sid),
        promised_by=told.due_at if told else None,
        desk=_desk(rules, MESSAGE_CLASS),
        description=description,
        created_at=left_at,
    )


def _desk(rules: DeadlinesDocument, work_class: str) -> str | None:
    entry = rules.classes.get(work_class)
    return entry.desk if entry else None


def _customer(session: Session, caller: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.with_number(caller)))
