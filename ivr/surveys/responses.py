"""The satisfaction survey in the database: one response per answered call-back, kept answer by answer.

The customer is marked with the call-back date, a follow-up case is made for a low score, and the try's
outcome is kept. The questions and how a key becomes an answer are here too; the webhooks are
ivr/surveys/survey_views.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.db.models import (
    CallbackAttempt,
    CallbackJob,
    Customer,
    FollowUpCase,
    ServiceCompletion,
    SurveyResponse,
    utcnow,
)
from ivr.surveys.attempts import MACHINES, attempt_finished
from ivr.surveys.due import CallingRules
from ivr.surveys.follow_up_orders import follow_up_order

LOW_SCORE = 6  # a score of this or lower opens a follow-up case


@dataclass(frozen=True)
class Question:
    """One survey question: its prompt, the SurveyResponse column it fills, and its kind of answer."""

    prompt: str
    field: str
    kind: str  # score (1-10) or yes_no


QUESTIONS = (
    Question("survey_attitude", "attitude", "score"),
    Question("survey_ability", "ability", "score"),
    Question("survey_on_time", "on_time", "yes_no"),
    Question("survey_charged", "charged", "yes_no"),
)


def parse_answer(question: Question, digits: str) -> int | bool | None:
    """The answer the keys give, or None when they are not a valid answer.

    Scores: 1 to 9 are their key, 10 is "1 then 0" (a lone 0 is refused: it could mean 0 or 10)."""
    if question.kind == "score":
        if digits == "10":
            return 10
        return int(digits) if len(digits) == 1 and digits in "123456789" else None
    return {"1": True, "2": False}.get(digits)


def outcome_of(response: SurveyResponse | None) -> str | None:
    """completed (every question answered), partial (some), refused (a person answered, gave none)."""
    if response is None:
        return None
    given = [getattr(response, q.field) is not None for q in QUESTIONS]
    if all(given):
        return "completed"
    return "partial" if any(given) else "refused"


@dataclass(frozen=True)
class SurveyCall:
    """What the call needs to speak: the job's language, service type and when it was completed."""

    job_id: int
    language: str
    service_type: str
    completed_at: datetime


def survey_call(session: Session, job_id: int) -> SurveyCall | None:
    """The job as the survey call sees it, or None for an unknown job."""
    row = session.execute(
        select(CallbackJob.language, ServiceCompletion.service_type, ServiceCompletion.completed_at)
        .join(ServiceCompletion, ServiceCompletion.id == CallbackJob.completion_id)
        .where(CallbackJob.id == job_id)
    ).first()
    return SurveyCall(job_id, row[0], row[1], row[2]) if row else None


def note_machine(session: Session, job_id: int, call_sid: str, answered_by: str) -> None:
    """An answering machine (or fax) took the call: kept on the try, so its end counts as not answered."""
    session.execute(
        update(CallbackAttempt)
        .where(CallbackAttempt.job_id == job_id, CallbackAttempt.call_sid == call_sid)
        .values(answered_by=answered_by[:30])
        .execution_options(synchronize_session=False)
    )


def begin(session: Session, job_id: int, call_sid: str, timezone: str, now: datetime | None = None) -> bool:
    """A person answered: the response row (once per call, Twilio may retry) and the customer marked
    with the call-back date. False when the job is unknown or another call of it was answered already."""
    now = now or utcnow()
    job = session.get(CallbackJob, job_id)
    if job is None:
        return False
    existing = session.scalar(select(SurveyResponse).where(SurveyResponse.job_id == job_id))
    if existing is not None:
        return existing.call_sid == call_sid
    try:
        with session.begin_nested():
            session.add(
                SurveyResponse(
                    job_id=job_id,
                    completion_id=job.completion_id,
                    call_sid=call_sid[:64],
                    phone=job.phone,
                    language=job.language,
                    called_at=now,
                )
            )
    except IntegrityError:  # a concurrent retry of the same webhook stored it first
        return True
    local_day = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()
    mark_called_back(session, job.phone, local_day)
    return True


def mark_called_back(session: Session, phone: str, day: date) -> None:
    """The customer account with this number carries the date of its last call-back."""
    session.execute(
        update(Customer)
        .where(Customer.with_number(phone))
        .values(last_called_back_on=day)
        .execution_options(synchronize_session=False)
    )


def _response(session: Session, job_id: int, call_sid: str) -> SurveyResponse | None:
    return session.scalar(
        select(SurveyResponse).where(SurveyResponse.job_id == job_id, SurveyResponse.call_sid == call_sid)
    )


def save_answer(
    session: Session, job_id: int, call_sid: str, question: Question, value: int | bool
) -> SurveyResponse | None:
    """Keep one answer at once (a hang-up later loses nothing); a low score opens the follow-up case."""
    response = _response(session, job_id, call_sid)
    if response is None:
        return None
    setattr(response, question.field, value)
    session.flush()
    if question.kind == "score":
        _follow_up(session, response)
    return response


def _follow_up(session: Session, response: SurveyResponse) -> None:
    low = [
        f"{name} {score}"
        for name, score in (("attitude", response.attitude), ("ability", response.ability))
        if score is not None and score <= LOW_SCORE
    ]
    if not low:
        return
    reason = ", ".join(low)
    case = session.scalar(select(FollowUpCase).where(FollowUpCase.response_id == response.id))
    if case is None:
        session.add(FollowUpCase(response_id=response.id, reason=reason, status="open"))
    elif case.status == "open" and case.reason != reason:
        case.reason = reason
    else:
        return  # nothing new for the follow-up
    session.flush()
    follow_up_order(session, response, reason, now=utcnow())  # the manager's work order


def count_invalid(session: Session, job_id: int, call_sid: str) -> None:
    """One more answer that was not valid (or silence)."""
    session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.job_id == job_id, SurveyResponse.call_sid == call_sid)
        .values(invalid_answers=SurveyResponse.invalid_answers + 1)
        .execution_options(synchronize_session=False)
    )


def decline(session: Session, job_id: int, call_sid: str) -> None:
    """The customer chose not to take part."""
    response = _response(session, job_id, call_sid)
    if response is not None:
        response.refused = True


def save_comment(
    session: Session, job_id: int, call_sid: str, recording_sid: str, url: str, seconds: int
) -> bool:
    """The spoken comment's recording (from the Record action or its status callback: either may come)."""
    response = _response(session, job_id, call_sid)
    if response is None or not recording_sid:
        return False
    response.comment_recording_sid = recording_sid[:64]
    response.comment_recording_url = url[:500] or response.comment_recording_url
    response.comment_seconds = max(seconds, response.comment_seconds or 0)
    return True


FINAL_CALL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


def call_ended(
    session: Session,
    job_id: int,
    call_sid: str,
    call_status: str,
    answered_by: str | None,
    rules: CallingRules,
    now: datetime | None = None,
) -> CallbackJob | None:
    """The status callback's end of a try: the survey's outcome when a person answered, else the call's
    status (a machine is never an answer), passed on to attempt_finished. None: nothing to do."""
    if call_status not in FINAL_CALL_STATUSES:
        return None  # ringing, in-progress: the call is not over
    now = now or utcnow()
    stored = session.scalar(
        select(CallbackAttempt.answered_by).where(
            CallbackAttempt.job_id == job_id, CallbackAttempt.call_sid == call_sid
        )
    )
    answered_by = stored or answered_by
    machine = (answered_by or "").startswith(MACHINES)
    response = None if machine else _response(session, job_id, call_sid)
    if response is not None:
        response.finished_at = response.finished_at or now
        outcome = outcome_of(response) or "refused"
    elif call_status == "completed":
        # Answered, but no survey started: a machine, or our start webhook never ran (try again).
        outcome = "no-answer" if machine else "failed"
    else:
        outcome = call_status
    return attempt_finished(session, job_id, outcome, answered_by, rules=rules, call_sid=call_sid, now=now)


def close_lost_tries(session: Session, rules: CallingRules, now: datetime, hours: int = 2) -> int:
    """Tries whose end was never reported (a status callback lost while the database was away): closed
    from what the survey kept, as if the call had ended, so the job is not stuck in `dialling`."""
    lost = session.execute(
        select(CallbackAttempt.job_id, CallbackAttempt.call_sid).where(
            CallbackAttempt.finished_at.is_(None), CallbackAttempt.placed_at < now - timedelta(hours=hours)
        )
    ).all()
    closed = 0
    for job_id, call_sid in lost:
        status = "completed" if _response(session, job_id, call_sid) is not None else "failed"
        closed += call_ended(session, job_id, call_sid, status, None, rules, now) is not None
    return closed
