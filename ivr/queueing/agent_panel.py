"""What an agent's page and the agent API show: the agent's state and the caller they are connected to.

With the caller come the caller's customer, past calls, open work orders, survey scores and this call's
disposition.

Every read is bounded: by an indexed column (calls.from_number, work_orders.caller_number/customer_id,
survey_responses.phone, call_dispositions.call_sid) and a limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Call, CallDisposition, Customer, ServiceCompletion, SurveyResponse, WorkOrder
from ivr.events.store import call_path
from ivr.queueing.agent_states import REQUESTABLE
from ivr.queueing.dispositions import dispositions_of
from ivr.work_orders.lifecycle import CLOSED

MAX_WORK_ORDERS = 20
MAX_PAST_CALLS = 10
MAX_SURVEYS = 5


def iso(moment: datetime | None) -> str | None:
    """A naive-UTC time as ISO 8601 with a Z, so no reader takes it for local time."""
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def can_request(agent: Agent) -> list[str]:
    """The states the agent may ask for now (their current state left out)."""
    return [
        state for state, allowed in REQUESTABLE.items() if agent.state in allowed and state != agent.state
    ]


def agent_status(agent: Agent) -> dict[str, Any]:
    """The agent and their state, as the page and the API show it."""
    return {
        "id": agent.id,
        "name": agent.name,
        "state": agent.state,
        "reason": agent.state_reason,
        "since": iso(agent.state_since),
        "wrap_up_until": iso(agent.wrap_up_until),
        "can_request": can_request(agent),
    }


def connected_caller(session: Session, agent: Agent) -> dict[str, Any] | None:
    """The caller the agent is ringing for or talking to: the call, its menu path, account, open orders."""
    if not agent.call_sid:
        return None
    call = session.scalar(select(Call).where(Call.call_sid == agent.call_sid))
    if call is None:  # the call's record may still be in the spool while the database catches up
        return {"call_sid": agent.call_sid, **_NO_RECORD}
    customer = _customer_of(session, call)
    numbers = sorted({number for number in (call.from_number, customer.phone if customer else "") if number})
    mine = session.scalar(
        select(CallDisposition).where(
            CallDisposition.call_sid == call.call_sid, CallDisposition.agent_id == agent.id
        )
    )
    return {
        "call_sid": call.call_sid,
        "number": call.from_number,
        "language": call.language,
        "intent": call.intent,
        "queue": call.queue,
        "emergency": call.emergency,
        "started_at": iso(call.started_at),
        "menu_path": call_path(session, call.call_sid),
        "customer": _customer_view(customer) if customer else None,
        "work_orders": [_order_view(order) for order in _open_orders(session, call, customer)],
        "past_calls": _past_calls(session, call, numbers),
        "surveys": _surveys(session, numbers),
        "disposition": disposition_view(mine) if mine else None,
        # Wrap-up does not end until there is one (ivr/queueing/dispositions.py).
        "disposition_needed": mine is None and agent.state == "wrap_up",
    }


def disposition_view(disposition: CallDisposition) -> dict[str, Any]:
    """A recorded disposition, as the page and the API show it."""
    return {
        "call_sid": disposition.call_sid,
        "work_class": disposition.work_class,
        "outcome": disposition.outcome,
        "work_order_number": disposition.work_order_number,
        "notes": disposition.notes,
        "at": iso(disposition.at),
    }


_NO_RECORD: dict[str, Any] = {
    "number": None,
    "language": None,
    "intent": None,
    "queue": None,
    "emergency": False,
    "started_at": None,
    "menu_path": [],
    "customer": None,
    "work_orders": [],
    "past_calls": [],
    "surveys": [],
    "disposition": None,
    "disposition_needed": False,
}


def _customer_of(session: Session, call: Call) -> Customer | None:
    if call.customer_id is not None:
        return session.get(Customer, call.customer_id)
    if not call.from_number:
        return None
    # A customer added after the call started is still found by the caller's number.
    return session.scalar(select(Customer).where(Customer.with_number(call.from_number)))


def _open_orders(session: Session, call: Call, customer: Customer | None) -> list[WorkOrder]:
    # The customer's orders and those opened from this number (a neighbour reporting, a prepaid phone).
    mine = [WorkOrder.caller_number == call.from_number] if call.from_number else []
    if customer is not None:
        mine.append(WorkOrder.customer_id == customer.id)
    if not mine:
        return []
    return list(
        session.scalars(
            select(WorkOrder)
            .where(or_(*mine), WorkOrder.stage != CLOSED)
            .order_by(WorkOrder.emergency.desc(), WorkOrder.created_at.desc(), WorkOrder.id.desc())
            .limit(MAX_WORK_ORDERS)
        )
    )


def _past_calls(session: Session, call: Call, numbers: list[str]) -> list[dict[str, Any]]:
    # The caller's earlier calls from their number or their account's phone (calls.from_number is indexed).
    if not numbers:
        return []
    earlier = list(
        session.scalars(
            select(Call)
            .where(Call.from_number.in_(numbers), Call.call_sid != call.call_sid)
            .order_by(Call.started_at.desc(), Call.id.desc())
            .limit(MAX_PAST_CALLS)
        )
    )
    recorded = dispositions_of(session, [past.call_sid for past in earlier])
    return [
        {
            "call_sid": past.call_sid,
            "started_at": iso(past.started_at),
            "intent": past.intent,
            "outcome": past.outcome,
            "disposition": disposition_view(recorded[past.call_sid]) if past.call_sid in recorded else None,
        }
        for past in earlier
    ]


def _surveys(session: Session, numbers: list[str]) -> list[dict[str, Any]]:
    # Satisfaction call-backs to the caller's number or their account's phone (survey_responses.phone).
    if not numbers:
        return []
    rows = session.execute(
        select(SurveyResponse, ServiceCompletion.service_type)
        .join(ServiceCompletion, ServiceCompletion.id == SurveyResponse.completion_id)
        .where(SurveyResponse.phone.in_(numbers))
        .order_by(SurveyResponse.called_at.desc(), SurveyResponse.id.desc())
        .limit(MAX_SURVEYS)
    ).all()
    return [
        {
            "called_at": iso(response.called_at),
            "service_type": service_type,
            "attitude": response.attitude,
            "ability": response.ability,
            "on_time": response.on_time,
            "charged": response.charged,
            "refused": response.refused,
        }
        for response, service_type in rows
    ]


def _customer_view(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,  # the customer page, /customers/<id>
        "name": customer.name,
        "account_number": customer.account_number,
        "balance": str(customer.balance),
        "address": customer.address,
        "customer_class": customer.customer_class,
        "language": customer.language,
    }


def _order_view(order: WorkOrder) -> dict[str, Any]:
    return {
        "number": order.number,
        "kind": order.kind,
        "status": order.status,
        "work_class": order.work_class,
        "stage": order.stage,
        "due_at": iso(order.due_at),
        "emergency": order.emergency,
        "address": order.address,
        "created_at": iso(order.created_at),
        "promised_by": iso(order.promised_by),
    }
