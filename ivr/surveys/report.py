"""The monthly satisfaction report of the call-backs: its figures, built from the records, and their text.

Every figure is computed here from the call-back jobs, their completions and the survey responses; the
page, the CSV (report_csv.py) and the command line only show it. The follow-up cases of low scores are
in follow_ups.py. The definitions are in docs/satisfaction-report.md.
Means and percentages are kept as exact fractions, so "met the 98 % target" never depends on rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import ColumnElement, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.db.models import CallbackJob, FollowUpCase, ServiceCompletion, SurveyResponse, utcnow
from ivr.quality.report_month import Month
from ivr.surveys.policy_store import live_policy

PENDING_STATUSES = ("queued", "dialling")  # not over yet: shown, never in the response rate
FINAL_STATUSES = ("completed", "partial", "refused", "unreachable", "expired")
SCORES = tuple(range(1, 11))  # DOMAIN: attitude and ability are scored 1 to 10
FULL_SCORE = 10
TARGET_PERCENT = 98  # DOMAIN: satisfaction 98 %, as a share of full marks
TOP_BOX = 9  # "top box": 9 or 10 on both attitude and ability


# ---------------------------------------------------------------- the figures


def _mean(scores: list[int]) -> Fraction | None:
    return Fraction(sum(scores), len(scores)) if scores else None


@dataclass
class SatisfactionFigures:
    """The call-backs of one employee × service type, a subtotal (None: all of them) or the month."""

    employee: str | None
    service_type: str | None
    jobs: int = 0
    pending: int = 0  # queued or dialling
    answered: int = 0  # final, and at least one score given
    refused: int = 0  # declined at the introduction
    unreachable: int = 0  # unreachable after the tries, or expired before one got through
    no_score: int = 0  # a person answered (completed, partial) but gave no score
    attitude: list[int] = field(default_factory=list)
    ability: list[int] = field(default_factory=list)
    both_scored: int = 0  # answers with both scores: the top box's denominator
    top_box: int = 0  # of those, 9 or 10 on both

    @property
    def finished(self) -> int:
        """Jobs that reached a final status: the response rate's denominator."""
        return self.jobs - self.pending

    @property
    def response_rate(self) -> Fraction | None:
        return Fraction(self.answered, self.finished) if self.finished else None

    @property
    def mean_attitude(self) -> Fraction | None:
        return _mean(self.attitude)

    @property
    def mean_ability(self) -> Fraction | None:
        return _mean(self.ability)

    @property
    def satisfaction(self) -> Fraction | None:
        """(mean attitude + mean ability) / 2 on the 1-10 scale; None unless both have scores."""
        attitude, ability = self.mean_attitude, self.mean_ability
        if attitude is None or ability is None:
            return None
        return (attitude + ability) / 2

    @property
    def satisfaction_percent(self) -> Fraction | None:
        """Satisfaction as a share of full marks: 9.8 -> 98."""
        satisfaction = self.satisfaction
        return None if satisfaction is None else satisfaction / FULL_SCORE * 100

    @property
    def target_met(self) -> bool | None:
        percent = self.satisfaction_percent
        return None if percent is None else percent >= TARGET_PERCENT

    @property
    def top_box_share(self) -> Fraction | None:
        return Fraction(self.top_box, self.both_scored) if self.both_scored else None

    @property
    def attitude_counts(self) -> list[int]:
        """How many gave each attitude score 1..10."""
        return [self.attitude.count(score) for score in SCORES]

    @property
    def ability_counts(self) -> list[int]:
        return [self.ability.count(score) for score in SCORES]

    def add(self, job: _Job) -> None:
        """Count one call-back job in this row."""
        self.jobs += 1
        if job.status in PENDING_STATUSES:
            self.pending += 1
            return  # a call under way: its answers count once it has ended
        if job.attitude is not None or job.ability is not None:
            self.answered += 1
            if job.attitude is not None:
                self.attitude.append(job.attitude)
            if job.ability is not None:
                self.ability.append(job.ability)
            if job.attitude is not None and job.ability is not None:
                self.both_scored += 1
                self.top_box += job.attitude >= TOP_BOX and job.ability >= TOP_BOX
        elif job.status == "refused" or job.refused:
            self.refused += 1
        elif job.status in ("unreachable", "expired"):
            self.unreachable += 1
        else:
            self.no_score += 1


@dataclass(frozen=True)
class Comment:
    """A customer's recorded comment, to listen to."""

    response_id: int
    employee: str
    service_type: str
    attitude: int | None
    ability: int | None
    called_at: datetime  # naive UTC
    seconds: int | None
    follow_up: str | None  # the follow-up case's status (open, closed), if a low score opened one


@dataclass
class SatisfactionReport:
    """Every figure of one month's satisfaction call-backs."""

    month: Month
    timezone: str
    generated_at: datetime  # naive UTC
    rows: list[SatisfactionFigures]  # employee × service type, by employee then type
    by_employee: list[SatisfactionFigures]
    by_service_type: list[SatisfactionFigures]
    total: SatisfactionFigures
    comments: list[Comment]  # newest first
    service_type_labels: dict[str, str]

    def rows_of(self, employee: str) -> list[SatisfactionFigures]:
        """One employee's rows by service type."""
        return [row for row in self.rows if row.employee == employee]

    def all_rows(self) -> list[tuple[str, SatisfactionFigures]]:
        """Every row with its level, in the order the CSV lists them."""
        return [
            *(("employee_service_type", row) for row in self.rows),
            *(("employee", row) for row in self.by_employee),
            *(("service_type", row) for row in self.by_service_type),
            ("month", self.total),
        ]


# ---------------------------------------------------------------- building it


@dataclass(frozen=True)
class _Job:
    employee: str
    service_type: str
    status: str
    attitude: int | None
    ability: int | None
    refused: bool


def build_satisfaction_report(
    *, session: Session, month: Month, timezone: str, now: datetime | None = None
) -> SatisfactionReport:
    """The figures of the call-backs of services completed in the local month (times stored as naive UTC)."""
    start, end = month.bounds(timezone)
    if session.get_bind().dialect.name == "postgresql":
        # A month is read in one large scan: more than the 3 s a webhook's statement may take.
        session.execute(sql_text("SET LOCAL statement_timeout = '120s'"))
    in_month = (ServiceCompletion.completed_at >= start) & (ServiceCompletion.completed_at < end)
    found = session.execute(
        select(
            ServiceCompletion.employee,
            ServiceCompletion.service_type,
            CallbackJob.status,
            SurveyResponse.attitude,
            SurveyResponse.ability,
            SurveyResponse.refused,
        )
        .join(ServiceCompletion, ServiceCompletion.id == CallbackJob.completion_id)
        .outerjoin(SurveyResponse, SurveyResponse.job_id == CallbackJob.id)
        # A job a supervisor cancelled was never offered to the customer: not in the figures at all.
        .where(in_month, CallbackJob.status != "cancelled")
        .order_by(CallbackJob.id)
    )
    jobs = [
        _Job(employee, service_type, status, _score(attitude), _score(ability), bool(refused))
        for employee, service_type, status, attitude, ability, refused in found
    ]
    rows: dict[tuple[str | None, str | None], SatisfactionFigures] = {}

    def row(employee: str | None, service_type: str | None) -> SatisfactionFigures:
        key = (employee, service_type)
        if key not in rows:
            rows[key] = SatisfactionFigures(employee, service_type)
        return rows[key]

    total = SatisfactionFigures(None, None)
    for job in jobs:
        for figures in (
            row(job.employee, job.service_type),
            row(job.employee, None),
            row(None, job.service_type),
            total,
        ):
            figures.add(job)

    def order(figures: SatisfactionFigures) -> tuple[str, str]:
        return (figures.employee or "", figures.service_type or "")

    return SatisfactionReport(
        month=month,
        timezone=timezone,
        generated_at=now or utcnow(),
        rows=sorted((r for (e, t), r in rows.items() if e is not None and t is not None), key=order),
        by_employee=sorted((r for (e, t), r in rows.items() if e is not None and t is None), key=order),
        by_service_type=sorted((r for (e, t), r in rows.items() if e is None), key=order),
        total=total,
        comments=_comments(session, in_month),
        service_type_labels=live_policy(session).labels,
    )


def _score(value: int | None) -> int | None:
    # Only 1-10 is a score: anything else the survey might have kept is no answer.
    return value if value is not None and SCORES[0] <= value <= SCORES[-1] else None


def _comments(session: Session, in_month: ColumnElement[bool]) -> list[Comment]:
    found = session.execute(
        select(SurveyResponse, ServiceCompletion.employee, ServiceCompletion.service_type)
        .add_columns(FollowUpCase.status)
        .join(ServiceCompletion, ServiceCompletion.id == SurveyResponse.completion_id)
        .outerjoin(FollowUpCase, FollowUpCase.response_id == SurveyResponse.id)
        .where(in_month, SurveyResponse.comment_recording_sid.is_not(None))
        .order_by(SurveyResponse.called_at.desc(), SurveyResponse.id.desc())
    )
    return [
        Comment(
            response.id,
            employee,
            service_type,
            _score(response.attitude),
            _score(response.ability),
            response.called_at,
            response.comment_seconds,
            status,
        )
        for response, employee, service_type, status in found
    ]


# ---------------------------------------------------------------- showing figures


def mean_text(value: Fraction | None) -> str:
    """A 1-10 mean with two decimals (9.75), or "—" when there is no score."""
    return "—" if value is None else f"{float(value):.2f}"


def rate_text(value: Fraction | None) -> str:
    """A share as a percentage with one decimal (4/7 -> "57.1"), or "—"."""
    return "—" if value is None else f"{float(value * 100):.1f}"


def satisfaction_text(percent: Fraction | None) -> str:
    """Satisfaction % with one decimal, rounded down, so a figure shown as 98.0 has met the target."""
    return "—" if percent is None else f"{math.floor(percent * 10) / 10:.1f}"


def target_text(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "not met")


def row_name(figures: SatisfactionFigures) -> str:
    """Who and what a row is about, for the command line."""
    employee = figures.employee or "all employees"
    return employee if figures.service_type is None else f"{employee} / {figures.service_type}"


def describe(figures: SatisfactionFigures) -> str:
    """One row as a line of text."""

    def percent(text: str) -> str:
        return text if text == "—" else f"{text}%"

    return (
        f"{figures.jobs} call-backs, {figures.pending} pending, {figures.answered} answered, "
        f"{figures.refused} refused, {figures.unreachable} unreachable/expired, {figures.no_score} no score; "
        f"response rate {percent(rate_text(figures.response_rate))}; "
        f"attitude {mean_text(figures.mean_attitude)}, ability {mean_text(figures.mean_ability)}; "
        f"satisfaction {percent(satisfaction_text(figures.satisfaction_percent))} "
        f"(target {TARGET_PERCENT}%: {target_text(figures.target_met)}); "
        f"top box {percent(rate_text(figures.top_box_share))}"
    )


def report_lines(report: SatisfactionReport) -> list[str]:
    """What the command line prints: the month total, then one line per employee."""
    lines = [
        f"satisfaction call-backs of services completed in {report.month} ({report.timezone})",
        f"month: {describe(report.total)}",
    ]
    lines += [f"{row.employee}: {describe(row)}" for row in report.by_employee]
    if not report.by_employee:
        lines.append("no call-backs of services completed this month")
    return lines


# ---------------------------------------------------------------- the comment recordings


def comment_recording_sid(session: Session, response_id: int) -> str | None:
    """The RecordingSid of a response's comment; None when there is no such response or no comment."""
    return session.scalar(
        select(SurveyResponse.comment_recording_sid).where(SurveyResponse.id == response_id)
    )
