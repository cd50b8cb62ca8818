"""The daily call-back draw: decide the completions not yet decided, on each month's figures so far.

The draw takes every completion not yet decided from before today, decides it under the live policy
(ivr/surveys/policy_store.py) on its month's figures so far and stores it as CallbackCandidate rows under a
CallbackDraw; its local-month helpers map a completion to the month it counts in. The rules themselves are
pure: ivr/surveys/selection.py; docs/callbacks.md."""

from __future__ import annotations

import logging
import secrets
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.models import (
    CallbackCandidate,
    CallbackDraw,
    CallbackJob,
    DoNotCall,
    ServiceCompletion,
    SurveyResponse,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.quality.report_month import Month
from ivr.surveys.completions import record_hotline_completions
from ivr.surveys.jobs import calling_rules, create_jobs
from ivr.surveys.policy_store import live_policy
from ivr.surveys.selection import NOT_SAMPLED, Case, SoFar, decide
from ivr.telephony.phones import normalise_phone

log = logging.getLogger(__name__)

OPEN_JOB_STATUSES = ("queued", "dialling")  # a call-back still to be made: the customer is "pending"


def month_bounds(month: Month, timezone: str) -> tuple[datetime, datetime]:
    """The local month as naive UTC [start, end)."""
    zone = ZoneInfo(timezone)

    def utc(year: int, number: int) -> datetime:
        return datetime(year, number, 1, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    following = month.next()
    return utc(month.year, month.month), utc(following.year, following.month)


def local_month(when: datetime, timezone: str) -> str:
    """The local month (YYYY-MM) of a naive-UTC moment."""
    local = when.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def start_of_local_day(now: datetime, timezone: str) -> datetime:
    """Midnight of the local day `now` (naive UTC) falls in, as naive UTC."""
    zone = ZoneInfo(timezone)
    day = now.replace(tzinfo=UTC).astimezone(zone).date()
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


@dataclass
class MonthDraw:
    """What one draw decided of one month (one CallbackDraw row)."""

    month: str
    draw_id: int
    decided: int
    selected: Counter[str] = field(default_factory=Counter)  # service type -> selected
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> completions


@dataclass
class DrawReport:
    """A draw: up to when it decided, its seed and policy, and what it decided per month (none: nothing
    was left to decide)."""

    through: datetime  # naive UTC: completions before this were decided
    seed: int
    policy_version: int
    months: list[MonthDraw] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return sum(month.decided for month in self.months)

    @property
    def selected(self) -> Counter[str]:
        return sum((month.selected for month in self.months), Counter())

    @property
    def excluded(self) -> Counter[str]:
        return sum((month.excluded for month in self.months), Counter())


def _so_far(session: Session, months: list[str]) -> dict[tuple[str, str], SoFar]:
    """Earlier draws' figures per (month, service type): cases, eligible, selected, selected per employee."""
    rows = session.execute(
        select(
            CallbackCandidate.month,
            ServiceCompletion.service_type,
            ServiceCompletion.employee,
            CallbackCandidate.selected,
            CallbackCandidate.exclusion_reason,
            func.count(),
        )
        .join(ServiceCompletion, ServiceCompletion.id == CallbackCandidate.completion_id)
        .where(CallbackCandidate.month.in_(months))
        .group_by(
            CallbackCandidate.month,
            ServiceCompletion.service_type,
            ServiceCompletion.employee,
            CallbackCandidate.selected,
            CallbackCandidate.exclusion_reason,
        )
    ).all()
    cases: Counter[tuple[str, str]] = Counter()
    eligible: Counter[tuple[str, str]] = Counter()
    selected: Counter[tuple[str, str]] = Counter()
    by_employee: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for month, service_type, employee, was_selected, reason, count in rows:
        key = (month, service_type)
        cases[key] += count
        if was_selected or reason == NOT_SAMPLED:
            eligible[key] += count
        if was_selected:
            selected[key] += count
            by_employee[key][employee] += count
    return {key: SoFar(cases[key], eligible[key], selected[key], dict(by_employee[key])) for key in cases}


def _previous_month_cases(session: Session, months: list[str], timezone: str) -> dict[tuple[str, str], int]:
    """Per (month, service type): the completions of the month before it (the under-20 rule's last month)."""
    found: dict[tuple[str, str], int] = {}
    for month in months:
        start, end = month_bounds(Month.parse(month).previous(), timezone)
        rows = session.execute(
            select(ServiceCompletion.service_type, func.count())
            .where(ServiceCompletion.completed_at >= start, ServiceCompletion.completed_at < end)
            .group_by(ServiceCompletion.service_type)
        ).all()
        found.update({(month, service_type): count for service_type, count in rows})
    return found


def _recent_callbacks(session: Session, since: datetime) -> dict[str, list[datetime]]:
    """When a person answered a call-back (a SurveyResponse), per E.164 number, from `since` on."""
    called: dict[str, list[datetime]] = defaultdict(list)
    rows = session.execute(
        select(SurveyResponse.phone, SurveyResponse.called_at).where(SurveyResponse.called_at >= since)
    )
    for phone, called_at in rows:
        number = normalise_phone(phone)
        if number:
            called[number].append(called_at)
    return called


def _pending_phones(session: Session) -> set[str]:
    """Numbers with a call-back still to be made: an open job, or a selected candidate without a job yet
    (a draw made by the command before `callbacks schedule` ran)."""
    open_jobs = session.scalars(select(CallbackJob.phone).where(CallbackJob.status.in_(OPEN_JOB_STATUSES)))
    jobless = session.scalars(
        select(ServiceCompletion.customer_phone)
        .join(CallbackCandidate, CallbackCandidate.completion_id == ServiceCompletion.id)
        .outerjoin(CallbackJob, CallbackJob.candidate_id == CallbackCandidate.id)
        .where(CallbackCandidate.selected.is_(True), CallbackJob.id.is_(None))
    )
    return {number for phone in [*open_jobs, *jobless] if (number := normalise_phone(phone))}


def draw_callbacks(
    session: Session,
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
    seed: int | None = None,
    month: str | None = None,
) -> DrawReport:
    """Decide every completion not yet decided from before the start of today (local), month by month on
    each month's figures so far; store one CallbackDraw per month touched and one CallbackCandidate per
    completion. `month` (YYYY-MM; MonthError otherwise) limits it to that month. The seed is random unless
    given. Flushes; the caller commits (a concurrent draw of the same completions fails on the unique
    completion and must be rolled back whole)."""
    now = now or utcnow()
    seed = secrets.randbits(63) if seed is None else seed
    through = start_of_local_day(now, timezone)
    query = (
        select(ServiceCompletion)
        .outerjoin(CallbackCandidate, CallbackCandidate.completion_id == ServiceCompletion.id)
        .where(CallbackCandidate.id.is_(None), ServiceCompletion.completed_at < through)
        .order_by(ServiceCompletion.id)
    )
    if month is not None:
        start, end = month_bounds(Month.parse(month), timezone)
        through = min(through, end)
        query = query.where(ServiceCompletion.completed_at >= start, ServiceCompletion.completed_at < through)
    completions = session.scalars(query).all()
    policy = live_policy(session)
    report = DrawReport(through, seed, policy.version)
    if not completions:
        return report
    cases = [
        Case(
            c.id,
            c.service_type,
            c.completed_at,
            c.customer_phone,
            c.employee,
            local_month(c.completed_at, timezone),
        )
        for c in completions
    ]
    months = sorted({case.month for case in cases})
    earliest = min(case.completed_at for case in cases)
    decisions = decide(
        cases,
        policy,
        do_not_call=set(session.scalars(select(DoNotCall.phone))),
        recent_callbacks=_recent_callbacks(session, earliest - timedelta(days=policy.recent_callback_days)),
        pending=_pending_phones(session),
        so_far=_so_far(session, months),
        previous_month_cases=_previous_month_cases(session, months, timezone),
        seed=seed,
    )
    by_id = {case.id: case for case in cases}
    draws = {name: MonthDraw(name, 0, 0) for name in months}
    for decision in decisions:
        draw = draws[by_id[decision.completion_id].month]
        draw.decided += 1
        if decision.selected:
            draw.selected[by_id[decision.completion_id].service_type] += 1
        else:
            draw.excluded[decision.reason or "?"] += 1
    for draw in draws.values():  # month order
        row = CallbackDraw(
            month=draw.month,
            through=through,
            seed=seed,
            policy_version=policy.version,
            decided=draw.decided,
            selected=sum(draw.selected.values()),
            created_at=now,
        )
        session.add(row)
        session.flush()
        draw.draw_id = row.id
    values = [
        {
            "completion_id": decision.completion_id,
            "month": by_id[decision.completion_id].month,
            "selected": decision.selected,
            "exclusion_reason": decision.reason,
            "policy_version": policy.version,
            "draw_id": draws[by_id[decision.completion_id].month].draw_id,
            "created_at": now,
        }
        for decision in decisions
    ]
    for first in range(0, len(values), 5000):
        session.execute(insert(CallbackCandidate), values[first : first + 5000])
    report.months = list(draws.values())
    session.flush()
    return report


def select_callbacks(
    session: Session,
    month: str,
    seed: int | None = None,
    *,
    timezone: str = "Asia/Shanghai",
    now: datetime | None = None,
) -> DrawReport:
    """Draw what is undecided of one local month (YYYY-MM), through the month's end or the start of today,
    whichever is first: `python run.py callbacks select --month`."""
    return draw_callbacks(session, timezone=timezone, now=now, seed=seed, month=month)


@dataclass
class MonthFigures:
    """A month's decisions so far, over all its draws."""

    month: str
    draws: int = 0
    decided: int = 0
    selected: Counter[str] = field(default_factory=Counter)  # service type -> selected
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> completions


def month_figures(session: Session, month: str) -> MonthFigures:
    """The decisions of a month so far (MonthError if not YYYY-MM)."""
    key = str(Month.parse(month))
    figures = MonthFigures(key)
    figures.draws = session.scalar(select(func.count()).where(CallbackDraw.month == key)) or 0
    rows = session.execute(
        select(ServiceCompletion.service_type, CallbackCandidate.selected, CallbackCandidate.exclusion_reason)
        .join(ServiceCompletion, ServiceCompletion.id == CallbackCandidate.completion_id)
        .where(CallbackCandidate.month == key)
    )
    for service_type, selected, reason in rows:
        figures.decided += 1
        if selected:
            figures.selected[service_type] += 1
        else:
            figures.excluded[reason or "?"] += 1
    return figures


def draw_and_schedule(
    now: datetime | None = None, *, sessions: sessionmaker[Session], settings: Settings
) -> DrawReport | None:
    """The scheduler's `draw_callbacks` job: completions of answered hotline calls, the draw, then the
    call-back jobs, each its own transaction. A draw that races another (the same completions decided at
    the same moment by a second scheduler) is rolled back whole and logged; None then."""
    try:
        with unit_of_work(sessions) as session:
            record_hotline_completions(session)
    except IntegrityError:  # another process made the same hotline completions at the same moment
        log.info("hotline completions were being made by another process")
    report: DrawReport | None = None
    try:
        with unit_of_work(sessions) as session:
            report = draw_callbacks(session, timezone=settings.local_timezone, now=now)
    except (IntegrityError, OperationalError) as error:
        # Two draws never both decide a completion: the unique completion_id stops the second.
        log.warning("call-back draw rolled back (another draw ran at the same moment?): %s", error.orig)
    else:
        if report.months:
            log.info(
                "call-back draw through %s: %d decided, %d selected",
                report.through,
                report.decided,
                sum(report.selected.values()),
            )
    try:
        with unit_of_work(sessions) as session:
            create_jobs(session, calling_rules(settings), now)
    except IntegrityError:
        log.info("call-back jobs were being made by another process")
    return report
