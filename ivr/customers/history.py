"""What the customer page shows: the account, its numbers, and what happened on them (newest first).

Calls are found by the caller's number (calls.from_number), work orders by the account or a number,
call-backs (callback_jobs.phone) and survey scores (survey_responses.phone) by a number: all indexed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.customers.sync import numbers_of
from ivr.db.models import (
    Call,
    CallbackAttempt,
    CallbackJob,
    Customer,
    ServiceCompletion,
    SurveyResponse,
    WorkOrder,
)

MAX_ROWS = 50  # of each kind; the newest


@dataclass(frozen=True)
class Callback:
    """A satisfaction call-back planned for one of the customer's numbers, with its tries."""

    job: CallbackJob
    service_type: str
    attempts: list[CallbackAttempt]


@dataclass(frozen=True)
class CustomerFile:
    """The customer and their calls, work orders, call-backs and survey answers."""

    customer: Customer
    numbers: list[str]
    calls: list[Call]
    orders: list[WorkOrder]
    callbacks: list[Callback]
    surveys: list[SurveyResponse]


def customer_file(session: Session, customer_id: int) -> CustomerFile | None:
    """Everything the customer page shows, or None when there is no such customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    numbers = numbers_of(session, customer.id)
    calls = session.scalars(
        select(Call).where(Call.from_number.in_(numbers)).order_by(Call.started_at.desc()).limit(MAX_ROWS)
    )
    orders = session.scalars(
        select(WorkOrder)
        .where(or_(WorkOrder.customer_id == customer.id, WorkOrder.caller_number.in_(numbers)))
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
        .limit(MAX_ROWS)
    )
    surveys = session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.phone.in_(numbers))
        .order_by(SurveyResponse.called_at.desc())
        .limit(MAX_ROWS)
    )
    return CustomerFile(
        customer, numbers, list(calls), list(orders), _callbacks(session, numbers), list(surveys)
    )


def _callbacks(session: Session, numbers: list[str]) -> list[Callback]:
    rows = session.execute(
        select(CallbackJob, ServiceCompletion.service_type)
        .join(ServiceCompletion, ServiceCompletion.id == CallbackJob.completion_id)
        .where(CallbackJob.phone.in_(numbers))
        .order_by(CallbackJob.created_at.desc(), CallbackJob.id.desc())
        .limit(MAX_ROWS)
    ).all()
    jobs = {job.id: Callback(job, service_type, []) for job, service_type in rows}
    if jobs:
        attempts = session.scalars(
            select(CallbackAttempt).where(CallbackAttempt.job_id.in_(jobs)).order_by(CallbackAttempt.number)
        )
        for attempt in attempts:
            jobs[attempt.job_id].attempts.append(attempt)
    return list(jobs.values())
