"""The monthly quality report: call volume, answering, handling time, complaints, audit coverage, findings.

Every figure is built here from the month's records (calls, their events, recordings, audit items,
reviews), with the answering definitions of ivr/quality/answering.py and the review findings of
report_findings.py; the page, the CSV and the command line only present it. The definitions are written
out in docs/quality-report.md and on the page; the constants below are the numbers they name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.db.models import Agent, AuditItem, Call, Recording, Review, utcnow
from ivr.quality.answering import Answer, CallFacts, QueueFigures, call_facts, queue_figures
from ivr.quality.report_findings import FailedQuestion, Finding, failed_questions, top_findings
from ivr.quality.report_month import Month
from ivr.quality.work_order_figures import WorkOrderFigures
from ivr.quality.work_order_report import work_order_figures

AUDIT_COVERAGE_TARGET = 0.10  # DOMAIN: at least 10 % of the recorded calls are listened to
COMPLAINT_CLOSURE_TARGET = 1.0  # DOMAIN: complaint closure 100 %

INTENT_ORDER = ("safety", "billing", "repair", "complaint", "agent")
NO_INTENT = "none"  # ended in the menu before choosing anything
COMPLAINT_CLASSES = ("service", "quality", "safety")
UNCLASSIFIED = "unclassified"  # complaint intent, no class recorded


# ---------------------------------------------------------------- the figures


@dataclass
class ComplaintFigures:
    """The complaints of one class: how many, and whether the caller was answered before the deadline."""

    complaint_class: str
    calls: int = 0
    met: int = 0  # an agent answered the caller (live or by call-back) by the reply deadline
    missed: int = 0  # the deadline passed first (answered late, or not answered at all)
    open: int = 0  # not answered yet, deadline still ahead
    no_deadline: int = 0  # no reply deadline recorded on the call
    minutes_to_answer: list[float] = field(default_factory=list)

    @property
    def closure_rate(self) -> float | None:
        decided = self.met + self.missed
        return self.met / decided if decided else None

    @property
    def mean_minutes_to_answer(self) -> float | None:
        return fmean(self.minutes_to_answer) if self.minutes_to_answer else None


@dataclass
class AgentFigures:
    """One agent's month: calls answered, talk time, recordings, audit sample and review scores."""

    agent_id: int | None
    name: str
    answered: int = 0
    talk_seconds: list[float] = field(default_factory=list)
    recorded: int = 0
    sampled: int = 0
    scores: list[float] = field(default_factory=list)
    auto_failed: int = 0

    @property
    def average_handling_seconds(self) -> float | None:
        return fmean(self.talk_seconds) if self.talk_seconds else None

    @property
    def reviewed(self) -> int:
        return len(self.scores)

    @property
    def coverage(self) -> float | None:
        return self.sampled / self.recorded if self.recorded else None

    @property
    def mean_score(self) -> float | None:
        return fmean(self.scores) if self.scores else None

    @property
    def min_score(self) -> float | None:
        return min(self.scores) if self.scores else None


@dataclass
class QualityReport:
    """Every figure of one month's quality report."""

    month: Month
    timezone: str
    generated_at: datetime  # naive UTC
    calls: int
    by_intent: list[tuple[str, int]]
    by_day: list[tuple[date, int]]
    by_hour: list[int]  # 24 local hours
    queue: QueueFigures
    complaints: list[ComplaintFigures]
    agents: list[AgentFigures]
    findings: list[Finding]
    failed_questions: list[FailedQuestion]
    work_orders: WorkOrderFigures | None = None  # deadlines, complaint closure, open orders by age

    @property
    def talk_seconds(self) -> list[float]:
        return [s for agent in self.agents for s in agent.talk_seconds]

    @property
    def handled(self) -> int:
        """Agent calls completed (talk time known), including call-backs."""
        return len(self.talk_seconds)

    @property
    def average_handling_seconds(self) -> float | None:
        talks = self.talk_seconds
        return fmean(talks) if talks else None

    @property
    def complaint_total(self) -> ComplaintFigures:
        total = ComplaintFigures("all")
        for row in self.complaints:
            total.calls += row.calls
            total.met += row.met
            total.missed += row.missed
            total.open += row.open
            total.no_deadline += row.no_deadline
            total.minutes_to_answer += row.minutes_to_answer
        return total

    @property
    def recorded(self) -> int:
        return sum(agent.recorded for agent in self.agents)

    @property
    def sampled(self) -> int:
        return sum(agent.sampled for agent in self.agents)

    @property
    def scores(self) -> list[float]:
        return [s for agent in self.agents for s in agent.scores]

    @property
    def reviewed(self) -> int:
        return len(self.scores)

    @property
    def coverage(self) -> float | None:
        return self.sampled / self.recorded if self.recorded else None

    @property
    def mean_score(self) -> float | None:
        return fmean(self.scores) if self.scores else None


# ---------------------------------------------------------------- building it


def build_quality_report(
    *, session: Session, month: Month, timezone: str, now: datetime | None = None
) -> QualityReport:
    """The month's figures, for calls started in the local month (times stored as naive UTC)."""
    now = now or utcnow()
    start, end = month.bounds(timezone)
    if session.get_bind().dialect.name == "postgresql":
        # A month is read in a few large scans: more than the 3 s a webhook's statement may take.
        session.execute(sql_text("SET LOCAL statement_timeout = '120s'"))
    in_month = (Call.started_at >= start) & (Call.started_at < end)
    calls = session.scalars(select(Call).where(in_month).order_by(Call.started_at, Call.id)).all()
    facts, talks = call_facts(session, select(Call.call_sid).where(in_month))
    zone = ZoneInfo(timezone)

    by_day = Counter[date]()
    by_hour = [0] * 24
    for call in calls:
        local = call.started_at.replace(tzinfo=UTC).astimezone(zone)
        by_day[local.date()] += 1
        by_hour[local.hour] += 1

    reviews = _reviews(session, start, end)
    return QualityReport(
        month=month,
        timezone=timezone,
        generated_at=now,
        calls=len(calls),
        by_intent=_by_intent(calls),
        by_day=[(day, by_day[day]) for day in month.days()],
        by_hour=by_hour,
        queue=queue_figures(calls, facts),
        complaints=_complaint_figures(calls, facts, now),
        agents=_agent_figures(session, start, end, talks, reviews),
        findings=top_findings(reviews),
        failed_questions=failed_questions(session, reviews),
        work_orders=work_order_figures(session, start=start, end=end, now=now),
    )


def _by_intent(calls: Iterable[Call]) -> list[tuple[str, int]]:
    counts = Counter(call.intent or NO_INTENT for call in calls)
    extra = sorted(k for k in counts if k not in INTENT_ORDER and k != NO_INTENT)
    return [(intent, counts[intent]) for intent in (*INTENT_ORDER, *extra, NO_INTENT)]


def _complaint_figures(
    calls: Iterable[Call], facts: dict[str, CallFacts], now: datetime
) -> list[ComplaintFigures]:
    rows = {name: ComplaintFigures(name) for name in COMPLAINT_CLASSES}
    for call in calls:
        if call.complaint_class is None and call.intent != "complaint":
            continue
        name = call.complaint_class or UNCLASSIFIED
        row = rows.setdefault(name, ComplaintFigures(name))
        row.calls += 1
        fact = facts.get(call.call_sid, CallFacts())
        answers = [a.at for a in (fact.live_answer, fact.callback_answer) if a is not None]
        answered_at = min(answers) if answers else None
        if answered_at is None and call.outcome == "answered" and not fact.callback_requested:
            answered_at = (fact.queued_at or call.started_at) + timedelta(seconds=call.queue_seconds or 0)
        if answered_at is not None:
            row.minutes_to_answer.append(max(0.0, (answered_at - call.started_at).total_seconds() / 60))
        due = call.reply_due_at
        if due is None:
            row.no_deadline += 1
        elif answered_at is not None and answered_at <= due:
            row.met += 1
        elif answered_at is None and due > now:
            row.open += 1
        else:
            row.missed += 1
    return list(rows.values())


def _agent_figures(
    session: Session,
    start: datetime,
    end: datetime,
    talks: list[Answer],
    reviews: list[tuple[Review, int | None]],
) -> list[AgentFigures]:
    names = {agent_id: name for agent_id, name in session.execute(select(Agent.id, Agent.name))}
    agents: dict[int | None, AgentFigures] = {}

    def agent(agent_id: int | None) -> AgentFigures:
        if agent_id not in agents:
            name = names.get(agent_id, f"#{agent_id}") if agent_id is not None else "(unknown)"
            agents[agent_id] = AgentFigures(agent_id, name)
        return agents[agent_id]

    for talk in talks:
        row = agent(talk.agent_id)
        row.answered += 1
        if talk.talk is not None:
            row.talk_seconds.append(talk.talk)
    recorded_in_month = (Recording.started_at >= start) & (Recording.started_at < end)
    recorded = session.execute(
        select(Recording.agent_id, func.count())
        .where(recorded_in_month, Recording.status == "completed")
        .group_by(Recording.agent_id)
    )
    for agent_id, count in recorded:
        agent(agent_id).recorded = count
    sampled = session.execute(
        select(Recording.agent_id, func.count(AuditItem.id))
        .join(Recording, Recording.id == AuditItem.recording_id)
        .where(recorded_in_month)
        .group_by(Recording.agent_id)
    )
    for agent_id, count in sampled:
        agent(agent_id).sampled = count
    for review, agent_id in reviews:
        row = agent(agent_id)
        row.scores.append(float(review.score))
        row.auto_failed += bool(review.auto_failed)
    return sorted(agents.values(), key=lambda a: (a.agent_id is None, a.name, a.agent_id or 0))


def _reviews(session: Session, start: datetime, end: datetime) -> list[tuple[Review, int | None]]:
    """The reviews of the month's recordings (by Recording.started_at: the start of the call it recorded)."""
    return list(
        session.execute(
            select(Review, Recording.agent_id)
            .join(AuditItem, AuditItem.id == Review.item_id)
            .join(Recording, Recording.id == AuditItem.recording_id)
            .where(Recording.started_at >= start, Recording.started_at < end)
            .order_by(Review.id)
        )
    )
