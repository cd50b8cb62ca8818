"""How a satisfaction call-back's try ended, and what follows: final, queued again, or unreachable.

Both the status webhook (ivr/surveys/responses.py, call_ended) and the placer's settling of a stale claim
(ivr/surveys/jobs.py) end tries here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from ivr.db.models import CallbackAttempt, CallbackJob, utcnow
from ivr.surveys.due import CallingRules, next_retry

MAX_ATTEMPTS = 3  # the first try and up to 2 more
SURVEY_OUTCOMES = ("completed", "partial", "refused")  # a person answered: final
RETRY_OUTCOMES = ("no-answer", "busy", "failed", "canceled")  # nobody answered: try again
MACHINES = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax")


def attempt_finished(
    session: Session,
    job_id: int,
    outcome: str,
    answered_by: str | None,
    *,
    rules: CallingRules,
    call_sid: str | None = None,
    now: datetime | None = None,
) -> CallbackJob | None:
    """Record how the job's current try ended (the status webhook calls this) and decide what follows.

    outcome: a survey result (completed, partial, refused: final) or a call status (no-answer, busy,
    failed, canceled); an answering machine (answered_by machine_*/fax) counts as not answered whatever the
    outcome. Not answered: queued again >= 2 hours later inside the window while fewer than 3 tries were
    made and time is left, else `unreachable`. Returns the job, or None when there is no open try (a
    repeated or late webhook: nothing changes). Flushes; the caller commits.
    """
    if outcome not in SURVEY_OUTCOMES + RETRY_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(SURVEY_OUTCOMES + RETRY_OUTCOMES)}")
    now = now or utcnow()
    query = select(CallbackAttempt.id).where(
        CallbackAttempt.job_id == job_id, CallbackAttempt.finished_at.is_(None)
    )
    if call_sid is not None:
        query = query.where(CallbackAttempt.call_sid == call_sid)
    attempt_id = session.scalar(query.order_by(CallbackAttempt.number.desc()).limit(1))
    if attempt_id is None:
        return None
    # The conditional update decides between two deliveries of the same webhook.
    taken = session.execute(
        update(CallbackAttempt)
        .where(and_(CallbackAttempt.id == attempt_id, CallbackAttempt.finished_at.is_(None)))
        .values(outcome=outcome, answered_by=answered_by, finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        return None
    job = session.get(CallbackJob, job_id, populate_existing=True)
    if job is None:
        return None
    machine = (answered_by or "").startswith(MACHINES)
    job.last_outcome = f"{outcome} ({answered_by})" if machine else outcome
    job.claimed_at = None
    if outcome in SURVEY_OUTCOMES and not machine:
        job.status, job.finished_at = outcome, now
    else:
        retry = next_retry(now, job.latest_at, rules) if job.attempts < MAX_ATTEMPTS else None
        if retry is None:
            job.status, job.finished_at = "unreachable", now
        else:
            job.status, job.due_at = "queued", retry
    session.flush()
    return job
