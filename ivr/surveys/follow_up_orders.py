"""A low satisfaction score opens a follow-up work order for the employee's manager (or reopens it).

One work order per survey response (its source key), opened at the first low score, handed to the desk
whose lead manages the employee; a later low score of the same response adds a note, or reopens the order
when it was already answered or closed. docs/work-orders.md, "Closing the loop".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, ServiceCompletion, SurveyResponse, WorkOrder
from ivr.work_orders import cases, lifecycle
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.field_completions import SOURCE as WORK_ORDER_SOURCE

FOLLOW_UP_CLASS = "service_complaint"  # the customer is unhappy with the service: a complaint to check
SURVEY = cases.Actor("survey")


def source_key(response_id: int) -> str:
    """The follow-up order's idempotence key: one per survey response."""
    return f"survey-response:{response_id}"


def manager_desk(session: Session, completion: ServiceCompletion) -> str:
    """The desk whose lead manages the employee: the desk of the work order the completion came from, else
    the desk the live deadline rules give service complaints (the complaints desk by default)."""
    if completion.source == WORK_ORDER_SOURCE:
        desk = session.scalar(select(WorkOrder.desk).where(WorkOrder.number == completion.external_id))
        if desk:
            return desk
    return live_deadlines(session).classes[FOLLOW_UP_CLASS].desk


def describe(response: SurveyResponse, completion: ServiceCompletion, low: str) -> str:
    """The follow-up order's description: the survey response, the work surveyed and who did it."""
    answers = (
        f"attitude {response.attitude if response.attitude is not None else '-'}, "
        f"ability {response.ability if response.ability is not None else '-'}, "
        f"on time {_yes_no(response.on_time)}, charged {_yes_no(response.charged)}"
    )
    comment = "recorded" if response.comment_recording_sid else "none"
    return (
        f"Low satisfaction score ({low}) for {completion.employee}: follow-up by their manager.\n"
        f"Survey response #{response.id}, called back {response.called_at:%Y-%m-%d %H:%M} UTC: {answers}; "
        f"spoken comment: {comment}.\n"
        f"Work surveyed: {completion.service_type} ({completion.source} {completion.external_id}), "
        f"completed {completion.completed_at:%Y-%m-%d %H:%M} UTC."
    )


def follow_up_order(session: Session, response: SurveyResponse, low: str, *, now: datetime) -> WorkOrder:
    """Open the response's follow-up order and hand it to the manager's desk; when it exists, note the new
    low score (or reopen it if it was answered or closed already)."""
    completion = session.get(ServiceCompletion, response.completion_id)
    assert completion is not None  # a response always belongs to a completion (foreign key)
    key = source_key(response.id)
    order = session.scalar(select(WorkOrder).where(WorkOrder.source_key == key))
    if order is None:
        desk = manager_desk(session, completion)
        customer = session.scalar(select(Customer).where(Customer.with_number(response.phone)))
        order = cases.open_case(
            session,
            work_class=FOLLOW_UP_CLASS,
            caller_number=response.phone,
            actor=SURVEY,
            source_key=key,
            description=describe(response, completion, low),
            customer=customer,
            desk=desk,
            now=now,
        )
        reason = f"low satisfaction score ({low}): to the manager of {completion.employee}"
        return cases.hand_over(session, number=order.number, desk=desk, reason=reason, actor=SURVEY, now=now)
    note = f"low satisfaction score now {low} (survey response #{response.id})"
    if order.stage in (lifecycle.ANSWERED, lifecycle.CLOSED):
        return cases.reopen(session, number=order.number, actor=SURVEY, reason=note, now=now)
    return cases.add_note(session, number=order.number, note=note, actor=SURVEY, now=now)


def _yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "no")
