"""Call-back jobs as people see and handle them: the filtered list, and a supervisor's retry and cancel.

The filtered, paged list with each job's tries, and the two things a supervisor may do to a job, retry (queue
a given-up job again now) and cancel (with a reason), each a conditional update logged in the change log in
the same transaction (docs/callbacks.md, "The jobs page"). No Flask: the pages and the CLI call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import CallbackAttempt, CallbackJob, ChangeLog, DoNotCall, ServiceCompletion
from ivr.surveys.due import CallingRules, next_callable

STATUSES = ("queued", "dialling", "completed", "partial", "refused", "unreachable", "expired", "cancelled")
OPEN = ("queued", "dialling")
RETRYABLE = ("unreachable", "expired", "cancelled")  # nobody was reached, or a person stopped it
CANCELLABLE = ("queued",)
CHANGE_KIND = "callback_job"
MAX_REASON = 500
PER_PAGE = 50

# Why each status refuses an action: what the person reads.
_NO_RETRY = {
    "queued": "已在队列中，到时自动拨打 / it is queued already: it is placed when due",
    "dialling": "正在拨打 / a call is under way now: wait for it to end",
    "completed": "客户已完成回访 / the customer answered this call-back: it is not placed again",
    "partial": "客户已接听回访 / the customer answered this call-back (in part): it is not placed again",
    "refused": "客户已拒绝回访 / the customer declined this call-back: it is not placed again",
}
_NO_CANCEL = {
    "dialling": "正在拨打，不能取消 / a call is under way now: cancel it once the call has ended",
    "completed": "客户已完成回访，不能取消 / the customer answered this call-back: nothing to cancel",
    "partial": "客户已接听回访，不能取消 / the customer answered this call-back: nothing to cancel",
    "refused": "客户已拒绝回访，不能取消 / the customer declined this call-back: it is over",
    "unreachable": "已结束（未接通），不能取消 / it is over already (unreachable)",
    "expired": "已结束（过期），不能取消 / it is over already (expired)",
    "cancelled": "已取消 / it is cancelled already",
}


class JobRefused(Exception):
    """An action the job's state does not allow (or no such job); `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 409):
        self.message, self.status = message, status
        super().__init__(message)


@dataclass(frozen=True)
class JobFilter:
    """What the list shows: by status, by the local day it is (was) due, by service type; a page of it."""

    status: str | None = None
    due_from: date | None = None
    due_to: date | None = None  # inclusive
    service_type: str | None = None
    page: int = 1


@dataclass(frozen=True)
class Attempt:
    """One placed call of a job."""

    number: int
    call_sid: str
    placed_at: datetime
    outcome: str | None
    answered_by: str | None
    finished_at: datetime | None


@dataclass
class JobRow:
    """A job with what the list shows of its completion, and its tries."""

    id: int
    status: str
    phone: str
    language: str
    service_type: str
    employee: str
    completed_at: datetime
    due_at: datetime
    latest_at: datetime
    attempts: int
    last_outcome: str | None
    finished_at: datetime | None
    tries: list[Attempt] = field(default_factory=list)

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELLABLE

    @property
    def why_no_retry(self) -> str:
        """Why the job cannot be retried now ('' when it can)."""
        return "" if self.can_retry else _NO_RETRY.get(self.status, self.status)

    @property
    def why_no_cancel(self) -> str:
        """Why the job cannot be cancelled now ('' when it can)."""
        return "" if self.can_cancel else _NO_CANCEL.get(self.status, self.status)


@dataclass(frozen=True)
class JobPage:
    """One page of the filtered list."""

    rows: list[JobRow]
    total: int
    page: int
    pages: int


def _utc(day: date, moment: time, timezone: str) -> datetime:
    """A local day and clock time as naive UTC."""
    return datetime.combine(day, moment, tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)


def _local_day(moment: datetime, rules: CallingRules) -> date:
    """The local date of a naive-UTC moment."""
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(rules.timezone)).date()


def _columns() -> Any:
    return select(
        CallbackJob.id,
        CallbackJob.status,
        CallbackJob.phone,
        CallbackJob.language,
        ServiceCompletion.service_type,
        ServiceCompletion.employee,
        ServiceCompletion.completed_at,
        CallbackJob.due_at,
        CallbackJob.latest_at,
        CallbackJob.attempts,
        CallbackJob.last_outcome,
        CallbackJob.finished_at,
    ).join(ServiceCompletion, ServiceCompletion.id == CallbackJob.completion_id)


def _attempts(session: Session, job_ids: list[int]) -> dict[int, list[Attempt]]:
    found: dict[int, list[Attempt]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    rows = session.scalars(
        select(CallbackAttempt)
        .where(CallbackAttempt.job_id.in_(job_ids))
        .order_by(CallbackAttempt.job_id, CallbackAttempt.number)
    )
    for row in rows:
        found[row.job_id].append(
            Attempt(row.number, row.call_sid, row.placed_at, row.outcome, row.answered_by, row.finished_at)
        )
    return found


def list_jobs(session: Session, wanted: JobFilter, *, timezone: str, per_page: int = PER_PAGE) -> JobPage:
    """The jobs matching `wanted`, soonest due first, one page of them with their tries."""
    conditions: list[Any] = []
    if wanted.status:
        conditions.append(CallbackJob.status == wanted.status)
    if wanted.service_type:
        conditions.append(ServiceCompletion.service_type == wanted.service_type)
    if wanted.due_from:
        conditions.append(CallbackJob.due_at >= _utc(wanted.due_from, time(0), timezone))
    if wanted.due_to:
        conditions.append(CallbackJob.due_at < _utc(wanted.due_to + timedelta(days=1), time(0), timezone))
    total = (
        session.scalar(
            select(func.count())
            .select_from(CallbackJob)
            .join(ServiceCompletion, ServiceCompletion.id == CallbackJob.completion_id)
            .where(*conditions)
        )
        or 0
    )
    pages = max(1, -(-total // per_page))
    page = min(max(1, wanted.page), pages)
    query = _columns().where(*conditions).order_by(CallbackJob.due_at.desc(), CallbackJob.id.desc())
    rows = [JobRow(*row) for row in session.execute(query.limit(per_page).offset((page - 1) * per_page))]
    tries = _attempts(session, [row.id for row in rows])
    for row in rows:
        row.tries = tries[row.id]
    return JobPage(rows, total, page, pages)


def job_row(session: Session, job_id: int) -> JobRow | None:
    """One job with its tries, or None."""
    found = session.execute(_columns().where(CallbackJob.id == job_id)).first()
    if found is None:
        return None
    row = JobRow(*found)
    row.tries = _attempts(session, [job_id])[job_id]
    return row


def job_changes(session: Session, job_id: int) -> list[ChangeLog]:
    """What people did to the job (retries, cancellations), oldest first."""
    return list(
        session.scalars(
            select(ChangeLog)
            .where(ChangeLog.kind == CHANGE_KIND, ChangeLog.subject == subject_of(job_id))
            .order_by(ChangeLog.id)
        )
    )


def service_types(session: Session) -> list[str]:
    """The service types that have call-back jobs (for the filter)."""
    return list(
        session.scalars(
            select(ServiceCompletion.service_type)
            .join(CallbackJob, CallbackJob.completion_id == ServiceCompletion.id)
            .distinct()
            .order_by(ServiceCompletion.service_type)
        )
    )


def subject_of(job_id: int) -> str:
    """The change log's subject for a job."""
    return f"job {job_id}"


def _state(job: CallbackJob) -> dict[str, Any]:
    return {
        "status": job.status,
        "due_at": job.due_at.isoformat(),
        "latest_at": job.latest_at.isoformat(),
        "attempts": job.attempts,
        "last_outcome": job.last_outcome,
    }


def _job(session: Session, job_id: int) -> CallbackJob:
    job = session.get(CallbackJob, job_id, populate_existing=True)
    if job is None:
        raise JobRefused(f"没有此回访任务 / there is no call-back job {job_id}", 404)
    return job


def _set(session: Session, job: CallbackJob, seen: str, **values: Any) -> None:
    """Change the job only if it is still in the state the decision was made on (a dialler may claim it)."""
    changed = session.execute(
        update(CallbackJob)
        .where(CallbackJob.id == job.id, CallbackJob.status == seen)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not changed:
        raise JobRefused("任务刚被改变，请刷新 / the job changed at this moment (a call may have started)")
    session.refresh(job)


def retry_job(
    session: Session, job_id: int, *, who: str, rules: CallingRules, now: datetime, note: str = ""
) -> CallbackJob:
    """Queue a given-up job again (unreachable, expired, cancelled): due now, or when the calling window
    next opens, until the window closes on the calling day after. Its tries so far still count, so a job
    that used its 3 gets one more. Refused when the customer answered or declined, when a call is under
    way, when the number went on the do-not-call list, or while another call-back of the number is open.
    Flushes; the caller commits."""
    note = note.strip()
    if len(note) > MAX_REASON:
        raise JobRefused(f"说明太长 / the note is over {MAX_REASON} characters", 422)
    job = _job(session, job_id)
    if job.status not in RETRYABLE:
        raise JobRefused(_NO_RETRY.get(job.status, f"cannot be retried while {job.status}"))
    if session.scalar(select(DoNotCall.id).where(DoNotCall.phone == job.phone)) is not None:
        raise JobRefused(f"{job.phone} 在不回访名单上 / {job.phone} is on the do-not-call list")
    other = session.scalar(
        select(CallbackJob.id).where(
            CallbackJob.phone == job.phone, CallbackJob.status.in_(OPEN), CallbackJob.id != job.id
        )
    )
    if other is not None:
        raise JobRefused(f"此号码已有待拨回访（任务 {other}）/ job {other} will call this number already")
    due = next_callable(now, rules)
    day_after = _local_day(due, rules) + timedelta(days=1)
    next_day = next_callable(_utc(day_after, rules.start, rules.timezone), rules)
    latest = _utc(_local_day(next_day, rules), rules.end, rules.timezone)
    before = _state(job)
    outcome = f"retried by {who}" + (f": {note}" if note else "")
    _set(
        session,
        job,
        job.status,
        status="queued",
        due_at=due,
        latest_at=latest,
        claimed_at=None,
        finished_at=None,
        last_outcome=outcome[:100],
    )
    after = _state(job) | {"note": note}
    log_change(session, who, CHANGE_KIND, "retry", subject_of(job.id), before=before, after=after)
    return job


def cancel_job(session: Session, job_id: int, *, who: str, reason: str, now: datetime) -> CallbackJob:
    """Cancel a queued job, saying why (required): it is never placed. Refused once a call is under way
    or the job is over. Flushes; the caller commits."""
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise JobRefused(f"请填写取消原因 / reason: say why, in 1 to {MAX_REASON} characters", 422)
    job = _job(session, job_id)
    if job.status not in CANCELLABLE:
        raise JobRefused(_NO_CANCEL.get(job.status, f"cannot be cancelled while {job.status}"))
    before = _state(job)
    _set(
        session,
        job,
        "queued",
        status="cancelled",
        finished_at=now,
        claimed_at=None,
        last_outcome=f"cancelled by {who}: {reason}"[:100],
    )
    after = _state(job) | {"reason": reason}
    log_change(session, who, CHANGE_KIND, "cancel", subject_of(job.id), before=before, after=after)
    return job
