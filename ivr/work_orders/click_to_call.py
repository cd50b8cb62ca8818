"""Click-to-call "answer the customer": ring the user's phone, then the customer, and keep the call.

The customer is rung when the user answers. The call is kept with the work order: an event with its CallSid,
then one per status Twilio reports.

The webhooks that answer the two legs are the calls domain's (ivr/calls/work_order_calls.py); this module
places the call and records what happened, with the session and the telephony passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Customer, User, WorkOrder, WorkOrderEvent, utcnow
from ivr.telephony.base import Telephony
from ivr.work_orders import lifecycle
from ivr.work_orders.cases import Actor, InvalidInput, WorkOrderClosed, WorkOrderNotFound
from ivr.work_orders.orders import append_event, find_work_order

USER_LEG_PATH = "/voice/work-orders/answer-call"  # the user answered: dial the customer
CUSTOMER_LEG_PATH = "/voice/work-orders/answer-call-dialled"  # the <Dial> to the customer ended
STATUS_PATH = "/voice/work-orders/answer-call-status"  # the call's status callback
PLACED, STATUS = "answer_call", "answer_call_status"  # the events' kinds
NO_PHONE = (
    "your user has no phone to ring (it is not linked to an agent with a phone number): call the customer "
    "yourself and record the answer below"
)


@dataclass(frozen=True)
class PlacedAnswerCall:
    """A click-to-call placed: its CallSid, the user's phone it rings first, and the customer's number."""

    call_sid: str
    user_phone: str
    customer_phone: str


def phone_of_user(session: Session, user_id: int | None) -> str | None:
    """The phone that rings for a user: their agent's phone (None: not linked, or the agent has none)."""
    if user_id is None:
        return None
    query = select(Agent.phone).join(User, User.agent_id == Agent.id).where(User.id == user_id)
    return session.scalar(query) or None


def customer_phone(session: Session, order: WorkOrder) -> str:
    """The number the customer is called on: the caller's number, else the customer's phone ("" if none)."""
    if order.caller_number:
        return order.caller_number
    if order.customer_id is not None:
        return session.scalar(select(Customer.phone).where(Customer.id == order.customer_id)) or ""
    return ""


def place_answer_call(
    session: Session,
    *,
    number: str,
    actor: Actor,
    telephony: Telephony,
    base_url: str,
    from_number: str,
    language: str,
    now: datetime | None = None,
) -> PlacedAnswerCall:
    """Ring the user's phone; when they answer, the customer is dialled. Refused (nothing placed or written)
    for an unknown or closed order, a user without a phone, a customer without a number. A TelephonyError
    (Twilio refused or is down) passes through, with nothing written."""
    order = find_work_order(session, number)
    if order is None:
        raise WorkOrderNotFound(number)
    if order.stage == lifecycle.CLOSED:
        raise WorkOrderClosed(number, "calling the customer")
    user_phone = phone_of_user(session, actor.user_id)
    if not user_phone:
        raise InvalidInput("phone", NO_PHONE)
    customer = customer_phone(session, order)
    if not customer:
        raise InvalidInput("customer", "the work order has no number to call the customer on")
    query = urlencode({"o": number, "l": language})
    sid = telephony.create_call(
        to=user_phone,
        from_=from_number,
        url=f"{base_url}{USER_LEG_PATH}?{query}",
        status_callback=f"{base_url}{STATUS_PATH}?{query}",
    )
    data = {"call_sid": sid, "user_phone": user_phone, "customer_phone": customer, "status": "placed"}
    append_event(
        session,
        order,
        kind=PLACED,
        actor=actor.name,
        by_user_id=actor.user_id,
        at=now or utcnow(),
        reason="click-to-call: the user's phone rings first, then the customer",
        data=data,
    )
    return PlacedAnswerCall(sid, user_phone, customer)


def placed_call(session: Session, *, number: str, call_sid: str) -> tuple[WorkOrder, str] | None:
    """The order and the customer's number of a click-to-call this order placed (None: not one of its)."""
    order = find_work_order(session, number)
    if order is None or not call_sid:
        return None
    for event in _events(session, order, PLACED):
        if event.data.get("call_sid") == call_sid:
            return order, str(event.data.get("customer_phone") or "")
    return None


def record_call_status(
    session: Session,
    *,
    number: str,
    call_sid: str,
    leg: str,
    status: str,
    duration: int = 0,
    now: datetime | None = None,
) -> bool:
    """Keep a status of a click-to-call with its order (`leg`: "user" for the call, "customer" for the
    dial); a repeat (Twilio retries) or a call the order did not place is not written. True if written."""
    found = placed_call(session, number=number, call_sid=call_sid)
    if found is None:
        return False
    order, _ = found
    for event in _events(session, order, STATUS):
        if (event.data.get("call_sid"), event.data.get("leg"), event.data.get("status")) == (
            call_sid,
            leg,
            status,
        ):
            return False
    append_event(
        session,
        order,
        kind=STATUS,
        actor="system",
        at=now or utcnow(),
        data={"call_sid": call_sid, "leg": leg, "status": status[:20], "duration": max(0, duration)},
    )
    return True


def _events(session: Session, order: WorkOrder, kind: str) -> list[WorkOrderEvent]:
    query = select(WorkOrderEvent).where(
        WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.kind == kind
    )
    return list(session.scalars(query))
