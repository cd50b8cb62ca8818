"""The follow-up cases of low satisfaction scores: listed for supervisors, closed once with a note."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import FollowUpCase, ServiceCompletion, SurveyResponse, utcnow

NOTE_MAX = 2000  # characters of a follow-up case's closing note


@dataclass(frozen=True)
class FollowUp:
    """A follow-up case with what the supervisor needs to act on it."""

    case_id: int
    status: str
    reason: str
    note: str
    closed_by: str | None
    closed_at: datetime | None
    created_at: datetime
    response_id: int
    employee: str
    service_type: str
    completed_at: datetime
    called_at: datetime
    phone: str
    attitude: int | None
    ability: int | None
    has_comment: bool


class FollowUpRefused(Exception):
    """A close that cannot be done: no such case (404) or no usable note (400)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def follow_ups(session: Session, *, closed_limit: int = 50) -> list[FollowUp]:
    """Every open case (oldest first: it has waited longest), then the most recently closed ones."""
    query = (
        select(FollowUpCase, SurveyResponse, ServiceCompletion.employee, ServiceCompletion.service_type)
        .join(SurveyResponse, SurveyResponse.id == FollowUpCase.response_id)
        .join(ServiceCompletion, ServiceCompletion.id == SurveyResponse.completion_id)
        .add_columns(ServiceCompletion.completed_at)
    )
    opened = session.execute(
        query.where(FollowUpCase.status == "open").order_by(FollowUpCase.created_at, FollowUpCase.id)
    ).all()
    closed = session.execute(
        query.where(FollowUpCase.status != "open")
        .order_by(FollowUpCase.closed_at.desc(), FollowUpCase.id.desc())
        .limit(closed_limit)
    ).all()
    return [
        FollowUp(
            case_id=case.id,
            status=case.status,
            reason=case.reason,
            note=case.note,
            closed_by=case.closed_by,
            closed_at=case.closed_at,
            created_at=case.created_at,
            response_id=response.id,
            employee=employee,
            service_type=service_type,
            completed_at=completed_at,
            called_at=response.called_at,
            phone=response.phone,
            attitude=response.attitude,
            ability=response.ability,
            has_comment=bool(response.comment_recording_sid),
        )
        for case, response, employee, service_type, completed_at in [*opened, *closed]
    ]


@dataclass(frozen=True)
class Closing:
    """The outcome of closing a case: closed now, or found already closed (by whom, when)."""

    case_id: int
    closed_now: bool
    closed_by: str | None
    closed_at: datetime | None


def close_follow_up(
    session: Session, *, case_id: int, note: str, who: str, now: datetime | None = None
) -> Closing:
    """Close an open case with the supervisor's note, in the change log too; a closed case stays closed."""
    note = (note or "").strip()
    if not note:
        raise FollowUpRefused(400, "请填写处理说明 / Write what was done: a note is required to close a case")
    if len(note) > NOTE_MAX:
        raise FollowUpRefused(400, f"处理说明过长 / The note is too long (at most {NOTE_MAX} characters)")
    now = now or utcnow()
    # One conditional UPDATE: of two supervisors closing the same case at once, exactly one closes it.
    changed = session.execute(
        update(FollowUpCase)
        .where(FollowUpCase.id == case_id, FollowUpCase.status == "open")
        .values(status="closed", note=note, closed_by=who, closed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    case = session.get(FollowUpCase, case_id, populate_existing=True)
    if case is None:
        raise FollowUpRefused(404, f"没有此跟进单 / There is no follow-up case {case_id}")
    if not changed:
        return Closing(case_id, False, case.closed_by, case.closed_at)
    employee = session.scalar(
        select(ServiceCompletion.employee)
        .join(SurveyResponse, SurveyResponse.completion_id == ServiceCompletion.id)
        .where(SurveyResponse.id == case.response_id)
    )
    log_change(
        session,
        who,
        "follow_up",
        "close",
        f"follow-up case {case_id} ({employee}: {case.reason})",
        before={"status": "open"},
        after={"status": "closed", "note": note},
    )
    return Closing(case_id, True, who, now)
