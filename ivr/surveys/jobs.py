"""Satisfaction call-backs in the database: a job per selected completion, dialled when due until it ends.

A job is claimed and dialled when due, retried when nobody (or a machine) answered, with its final outcome
kept. The timing rules are pure: ivr/surveys/due.py; docs/callbacks.md, "When".

Safety: a job is claimed by a conditional update (`status='queued' AND due_at<=now` -> 'dialling', on
PostgreSQL after SELECT ... FOR UPDATE SKIP LOCKED), one job at a time just before its call is placed, so two
scheduler processes never place the same try. A claim whose placement never got a CallSid (the process died)
is settled after `callback_stale_minutes` by asking the provider which calls it placed to that number since
the claim: one we hold no CallSid for is adopted as the try, otherwise the job goes back to the queue.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.models import (
    CallbackAttempt,
    CallbackCandidate,
    CallbackJob,
    ServiceCompletion,
    utcnow,
)
from ivr.queueing.placed_calls import CLOCK_SKEW, known_call_sids
from ivr.surveys.due import CallingRules, first_due, is_callable, next_retry, parse_window
from ivr.telephony.base import PlacedCall, Telephony, TelephonyError
from ivr.telephony.phones import normalise_phone

log = logging.getLogger(__name__)

_warned_no_telephony = threading.Event()
FINAL_STATUSES = ("completed", "partial", "refused", "unreachable", "expired", "cancelled")


def calling_rules(settings: Settings) -> CallingRules:
    """The calling window, holidays and time zone of the settings."""
    start, end = parse_window(settings.callback_window)
    return CallingRules(start, end, frozenset(settings.callback_holidays), settings.local_timezone)


# ----- jobs from the selection -------------------------------------------------------------------------


@dataclass
class JobsReport:
    """What create_jobs did."""

    created: int = 0
    expired: int = 0  # created already expired: days 3 to 5 were holidays, or over by the time of the draw


def create_jobs(session: Session, rules: CallingRules, now: datetime | None = None) -> JobsReport:
    """A CallbackJob for every selected candidate that has none (running it again adds nothing).

    A completion whose days 3 to 5 are all holidays, or are over already (a late draw), gets an `expired`
    job, so the record says why it was never called. Flushes; the caller commits (two concurrent runs: the
    second fails on the unique candidate, and rolls back whole).
    """
    now = now or utcnow()
    rows = session.execute(
        select(
            CallbackCandidate.id,
            ServiceCompletion.id,
            ServiceCompletion.customer_phone,
            ServiceCompletion.customer_language,
            ServiceCompletion.completed_at,
        )
        .join(ServiceCompletion, ServiceCompletion.id == CallbackCandidate.completion_id)
        .outerjoin(CallbackJob, CallbackJob.candidate_id == CallbackCandidate.id)
        .where(CallbackCandidate.selected.is_(True), CallbackJob.id.is_(None))
        .order_by(CallbackCandidate.id)
    ).all()
    report = JobsReport()
    values = []
    for candidate_id, completion_id, phone, language, completed_at in rows:
        plan = first_due(completed_at, rules)
        row = {
            "candidate_id": candidate_id,
            "completion_id": completion_id,
            "phone": normalise_phone(phone) or phone,
            "language": language,
            "attempts": 0,
            "status": "queued",
            "last_outcome": None,
            "finished_at": None,
            "created_at": now,
        }
        if plan is None:
            row.update(due_at=completed_at, latest_at=completed_at, status="expired")
            row.update(last_outcome="holidays on days 3 to 5", finished_at=now)
        else:
            row.update(due_at=plan.due_at, latest_at=plan.latest_at)
            if plan.latest_at <= now:
                row.update(status="expired", last_outcome="over before the draw", finished_at=now)
        report.expired += row["status"] == "expired"
        values.append(row)
    for start in range(0, len(values), 5000):
        session.execute(insert(CallbackJob), values[start : start + 5000])
    report.created = len(values)
    session.flush()
    return report


def job_counts(session: Session) -> Counter[str]:
    """Jobs by status."""
    return Counter(
        dict(session.execute(select(CallbackJob.status, func.count()).group_by(CallbackJob.status)).all())
    )


# ----- pacing ------------------------------------------------------------------------------------------


class Pacer:
    """At most `cps` placements a second, evenly spaced (a token bucket holding one token): keep one
    instance for the process, so the spacing holds across consecutive job runs too."""

    def __init__(
        self,
        cps: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if cps <= 0:
            raise ValueError("cps must be above 0")
        self.interval = 1.0 / cps
        self.clock, self.sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def wait(self) -> float:
        """Block until the next placement may go out; return that moment (of `clock`)."""
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            if slot > now:
                self.sleep(slot - now)
                # A sleep that overran moves the next slot too: the gaps never shrink below the interval.
                slot = max(slot, self.clock())
            self._next = slot + self.interval
            return slot


# ----- claiming and placing ----------------------------------------------------------------------------


@dataclass
class PlacementReport:
    """What one run of place_due_callbacks did."""

    released: int = 0  # stale claims put back in the queue (the provider had no call for them)
    adopted: int = 0  # stale claims whose call the provider had placed: kept as their try
    expired: int = 0
    placed: list[str] = field(default_factory=list)  # CallSids
    failed: int = 0  # the provider refused the call: retried later


@dataclass(frozen=True)
class StaleClaim:
    """A 'dialling' job claimed long ago whose call has no try on record: its placer may have died."""

    id: int
    phone: str
    claimed_at: datetime


def stale_claims(session: Session, now: datetime, minutes: int) -> list[StaleClaim]:
    """'dialling' jobs claimed over `minutes` ago with no try under way (no CallSid kept)."""
    open_attempt = (
        select(CallbackAttempt.id)
        .where(CallbackAttempt.job_id == CallbackJob.id, CallbackAttempt.finished_at.is_(None))
        .exists()
    )
    rows = session.execute(
        select(CallbackJob.id, CallbackJob.phone, CallbackJob.claimed_at)
        .where(
            CallbackJob.status == "dialling",
            CallbackJob.claimed_at < now - timedelta(minutes=minutes),
            ~open_attempt,
        )
        .order_by(CallbackJob.id)
    ).all()
    return [StaleClaim(job_id, phone, claimed_at) for job_id, phone, claimed_at in rows if claimed_at]


def reconcile_claim(
    session: Session,
    claim: StaleClaim,
    placed: list[PlacedCall],
    rules: CallingRules,
    now: datetime,
) -> str:
    """Settle a stale claim from the calls the provider reports to its number since the claim: a call we
    hold no CallSid for is this job's (its placer died after the provider accepted it) and is adopted as the
    try; none: the job goes back to the queue, no try counted. Returns 'adopted', 'released' or '' (another
    process settled it first). Flushes; the caller commits."""
    known = known_call_sids(session, claim.phone)
    ours = [call for call in placed if call.sid not in known]
    # Compare-and-set on claimed_at: both outcomes change it, so of two processes settling the same claim
    # only the first does (on PostgreSQL the second's update waits for the first, then matches nothing).
    same_claim = (
        CallbackJob.id == claim.id,
        CallbackJob.status == "dialling",
        CallbackJob.claimed_at == claim.claimed_at,
    )
    if not ours:
        released = session.execute(
            update(CallbackJob)
            .where(*same_claim)
            .values(status="queued", claimed_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        return "released" if released else ""
    if len(ours) > 1:
        log.warning("call-back %s: %d unknown calls to its number; adopting the first", claim.id, len(ours))
    call = ours[0]
    taken = session.execute(
        update(CallbackJob)
        .where(*same_claim)
        .values(attempts=CallbackJob.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not taken:
        return ""
    number = session.scalar(select(CallbackJob.attempts).where(CallbackJob.id == claim.id)) or 1
    session.add(CallbackAttempt(job_id=claim.id, number=number, call_sid=call.sid, placed_at=call.created_at))
    session.flush()
    log.warning("call-back %s: adopted call %s, placed before its placer died", claim.id, call.sid)
    if not call.live:
        # It ended already: its status callback found no try to settle, so settle it now.
        from ivr.surveys.responses import call_ended

        call_ended(session, claim.id, call.sid, call.status, call.answered_by, rules, now)
    return "adopted"


def settle_stale_claims(
    rules: CallingRules,
    now: datetime,
    report: PlacementReport,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony,
    stale_minutes: int,
) -> None:
    """Ask the provider about each stale claim before anything is placed again (docs/callbacks.md)."""
    minutes = stale_minutes
    with sessions() as session:
        claims = stale_claims(session, now, minutes)
    for claim in claims:
        try:
            placed = telephony.calls_placed(to=claim.phone, since=claim.claimed_at - CLOCK_SKEW)
        except TelephonyError as error:
            # Unknown whether the call went out: the job stays claimed and is asked about at the next run.
            log.warning("call-back %s: cannot ask the provider about its stale claim: %s", claim.id, error)
            continue
        with sessions() as session, session.begin():
            outcome = reconcile_claim(session, claim, placed, rules, now)
        report.released += outcome == "released"
        report.adopted += outcome == "adopted"


def expire_overdue(session: Session, now: datetime) -> int:
    """Queued jobs whose last allowed moment has passed before their (next) try are `expired`."""
    result = session.execute(
        update(CallbackJob)
        .where(CallbackJob.status == "queued", CallbackJob.latest_at <= now)
        .values(status="expired", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A job taken for dialling."""

    id: int
    phone: str
    language: str
    claimed_at: datetime


def claim_next(session: Session, now: datetime, only: int | None = None) -> Claimed | None:
    """Take the most overdue due job ('queued' -> 'dialling'), or None; `only`: that job or none.
    The caller commits at once."""
    candidates = (
        select(CallbackJob.id, CallbackJob.phone, CallbackJob.language)
        .where(CallbackJob.status == "queued", CallbackJob.due_at <= now, CallbackJob.latest_at > now)
        .order_by(CallbackJob.due_at, CallbackJob.id)
        .limit(5)
        .with_for_update(skip_locked=True)  # PostgreSQL: another dispatcher takes the next ones
    )
    if only is not None:
        candidates = candidates.where(CallbackJob.id == only)
    for job_id, phone, language in session.execute(candidates).all():
        taken = session.execute(
            update(CallbackJob)
            .where(CallbackJob.id == job_id, CallbackJob.status == "queued", CallbackJob.due_at <= now)
            .values(status="dialling", claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if taken:
            return Claimed(job_id, phone, language, now)
    return None


def place_due_callbacks(
    pacer: Pacer | None = None,
    *,
    sessions: sessionmaker[Session],
    telephony: Telephony | None,
    settings: Settings,
    now: Callable[[], datetime] = utcnow,
    limit: int | None = None,
    only: int | None = None,
) -> PlacementReport:
    """Release stale claims, expire jobs past their last moment, then place the due calls one by one,
    paced by `pacer`, while the calling window is open (at most `limit`, default a minute's worth;
    `only`: just that job, if it is due)."""
    rules = calling_rules(settings)
    pacer = pacer or Pacer(settings.outbound_cps)
    limit = limit if limit is not None else max(1, int(settings.outbound_cps * 60))
    report = PlacementReport()
    if telephony is not None:
        stale_minutes = settings.callback_stale_minutes
        settle_stale_claims(
            rules, now(), report, sessions=sessions, telephony=telephony, stale_minutes=stale_minutes
        )
    with sessions() as session, session.begin():
        report.expired = expire_overdue(session, now())
    if telephony is None:
        if not _warned_no_telephony.is_set():  # once per process, not every 30 s
            _warned_no_telephony.set()
            log.warning("call-backs not placed: no telephony adapter configured (docs/twilio-setup.md)")
        return report
    base = settings.public_base_url or "http://127.0.0.1:5000"
    while len(report.placed) + report.failed < limit:
        moment = now()
        if not is_callable(moment, rules):
            break
        with sessions() as session, session.begin():
            job = claim_next(session, moment, only)
        if job is None:
            break
        pacer.wait()
        try:
            sid = telephony.create_call(
                to=job.phone,
                from_=settings.hotline_number,
                url=f"{base}/voice/survey/start?j={job.id}",
                status_callback=f"{base}/voice/survey/status?j={job.id}",
                machine_detection=True,
            )
        except TelephonyError as error:
            log.warning("call-back %s not placed: %s", job.id, error)
            _placement_failed(job, rules, str(error), now(), sessions=sessions)
            report.failed += 1
            continue
        with sessions() as session, session.begin():
            number = session.scalar(select(CallbackJob.attempts).where(CallbackJob.id == job.id)) or 0
            session.add(CallbackAttempt(job_id=job.id, number=number + 1, call_sid=sid, placed_at=now()))
            session.execute(
                update(CallbackJob)
                .where(CallbackJob.id == job.id)
                .values(attempts=number + 1, status="dialling")
                .execution_options(synchronize_session=False)
            )
        report.placed.append(sid)
    return report


def _placement_failed(
    job: Claimed, rules: CallingRules, reason: str, now: datetime, *, sessions: sessionmaker[Session]
) -> None:
    """The provider refused the call (no try counted): queued again 2 hours on, or expired."""
    with sessions() as session, session.begin():
        latest = session.scalar(select(CallbackJob.latest_at).where(CallbackJob.id == job.id))
        retry = next_retry(now, latest, rules) if latest else None
        values: dict[str, object] = {"claimed_at": None, "last_outcome": f"not placed: {reason}"[:100]}
        if retry is None:
            values.update(status="expired", finished_at=now)
        else:
            values.update(status="queued", due_at=retry)
        session.execute(
            update(CallbackJob)
            .where(CallbackJob.id == job.id, CallbackJob.status == "dialling")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
