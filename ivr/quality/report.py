"""The monthly quality report: call volume, answering, handling time, complaints, audit coverage, findings.

Every figure is computed here from the records (calls, their events, recordings, audit items, reviews);
the page, the CSV and the command line only present it. The definitions are written out in
docs/quality-report.md and on the page; the constants below are the numbers they name.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.db.models import (
    Agent,
    AuditItem,
    Call,
    CallEvent,
    QueueEntry,
    Recording,
    Review,
    ScorecardVersion,
    utcnow,
)

SERVICE_LEVEL_SECONDS = 20  # answered by an agent within 20 s of entering the queue ...
SERVICE_LEVEL_TARGET = 0.80  # ... for 80 % of the calls offered to a queue
AUDIT_COVERAGE_TARGET = 0.10  # DOMAIN: at least 10 % of the recorded calls are listened to
COMPLAINT_CLOSURE_TARGET = 1.0  # DOMAIN: complaint closure 100 %
TOP_FINDINGS = 10
# Upper bounds (seconds, inclusive) of the answer-time buckets; the last bucket is open.
WAIT_BUCKET_BOUNDS = (10, 20, 30, 60, 120)

INTENT_ORDER = ("safety", "billing", "repair", "complaint", "agent")
NO_INTENT = "none"  # ended in the menu before choosing anything
COMPLAINT_CLASSES = ("service", "quality", "safety")
UNCLASSIFIED = "unclassified"  # complaint intent, no class recorded

# What became of a call offered to a queue, in the order the page lists them.
ANSWERED, ABANDONED, CALLBACK, DUTY, OTHER = "answered", "abandoned", "callback", "duty", "other"
QUEUE_RESULTS = (ANSWERED, ABANDONED, CALLBACK, DUTY, OTHER)

_EVENT_KINDS = ("call.queued", "agent.result", "callback.booked", "callback.noted")
_FAILED_ANSWERS = {"fail", "failed", "no", "false", "0"}
_NOT_APPLICABLE = {"na", "n/a", ""}
_FINDING_SPLIT = re.compile(r"[;；。！？!?]+|\.(?:\s+|$)")
_FINDING_BULLET = re.compile(r"^(?:[-*•·]|\d+[.)、])\s*")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthError(ValueError):
    """A month that is not YYYY-MM (or not a real month)."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of the hotline's local time zone."""

    year: int
    month: int

    @classmethod
    def parse(cls, value: str | None) -> Month:
        """`YYYY-MM` -> Month; anything else raises MonthError with a message for people."""
        found = _MONTH.match((value or "").strip())
        if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
            raise MonthError(f"month must be YYYY-MM, e.g. 2026-03 (got {value!r})")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def last_complete(cls, now: datetime, timezone: str) -> Month:
        """The month before the one `now` (naive UTC) falls in, in local time."""
        local = now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
        return cls(local.year, local.month).previous()

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def days(self) -> list[date]:
        """Every day of the month."""
        first, following = date(self.year, self.month, 1), date(self.next().year, self.next().month, 1)
        return [first + timedelta(days=n) for n in range((following - first).days)]

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """[start, end) of the local month, as naive UTC (what the DateTime columns hold)."""
        zone = ZoneInfo(timezone)

        def utc(month: Month) -> datetime:
            local = datetime(month.year, month.month, 1, tzinfo=zone)
            return local.astimezone(UTC).replace(tzinfo=None)

        return utc(self), utc(self.next())


# ---------------------------------------------------------------- the figures


@dataclass
class QueueFigures:
    """Calls offered to an agent queue and what became of them (the service-level definition's terms)."""

    offered: int = 0
    results: dict[str, int] = field(default_factory=lambda: dict.fromkeys(QUEUE_RESULTS, 0))
    answered_within: int = 0  # answered by an agent within SERVICE_LEVEL_SECONDS
    waits: list[float] = field(default_factory=list)  # seconds to answer, of the answered calls known
    after_hours: int = 0  # after-hours call-back requests: never waited in a queue, not offered

    @property
    def answered(self) -> int:
        return self.results[ANSWERED]

    @property
    def abandoned(self) -> int:
        return self.results[ABANDONED]

    @property
    def service_level(self) -> float | None:
        return self.answered_within / self.offered if self.offered else None

    @property
    def abandonment_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None

    @property
    def average_answer_seconds(self) -> float | None:
        return fmean(self.waits) if self.waits else None

    @property
    def wait_buckets(self) -> list[tuple[str, int]]:
        """How many answered calls waited how long: (label, count), bounds inclusive above."""
        counts = [0] * (len(WAIT_BUCKET_BOUNDS) + 1)
        for wait in self.waits:
            counts[next((i for i, b in enumerate(WAIT_BUCKET_BOUNDS) if wait <= b), -1)] += 1
        lows = (0, *WAIT_BUCKET_BOUNDS)
        labels = [f"{low}–{high} s" for low, high in zip(lows, WAIT_BUCKET_BOUNDS, strict=False)]
        return list(zip([*labels, f"> {WAIT_BUCKET_BOUNDS[-1]} s"], counts, strict=True))


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


@dataclass(frozen=True)
class Finding:
    """A phrase of the reviewers' findings and in how many reviews it was written."""

    text: str
    reviews: int


@dataclass(frozen=True)
class FailedQuestion:
    """A scorecard question and how often it was failed, of the reviews that answered it."""

    question: str
    label: str
    failed: int
    answered: int


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


@dataclass
class _Answer:
    """An agent answering a caller: when, who, how long they talked."""

    at: datetime
    agent_id: int | None
    talk: float | None


@dataclass
class _CallFacts:
    queued_at: datetime | None = None
    after_hours: bool = False
    callback_requested: bool = False
    live_answer: _Answer | None = None  # answered while the caller waited
    callback_answer: _Answer | None = None  # answered by calling the customer back


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
    facts, talks = _call_facts(session, select(Call.call_sid).where(in_month))
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
        queue=_queue_figures(calls, facts),
        complaints=_complaint_figures(calls, facts, now),
        agents=_agent_figures(session, start, end, talks, reviews),
        findings=_top_findings(reviews),
        failed_questions=_failed_questions(session, reviews),
    )


def _call_facts(session: Session, month_sids: Any) -> tuple[dict[str, _CallFacts], list[_Answer]]:
    """Per call of the month: when it was queued, whether and how an agent answered; every agent talk."""
    links = select(QueueEntry.callback_call_sid, QueueEntry.call_sid).where(
        QueueEntry.call_sid.in_(month_sids), QueueEntry.callback_call_sid.is_not(None)
    )
    callback_of = {callback: call for callback, call in session.execute(links)}
    callback_sids = select(QueueEntry.callback_call_sid).where(
        QueueEntry.call_sid.in_(month_sids), QueueEntry.callback_call_sid.is_not(None)
    )
    # Plain rows, not ORM objects: a busy month has tens of thousands of these events.
    events = session.execute(
        select(CallEvent.call_sid, CallEvent.kind, CallEvent.at, CallEvent.data)
        .where(
            CallEvent.kind.in_(_EVENT_KINDS),
            or_(CallEvent.call_sid.in_(month_sids), CallEvent.call_sid.in_(callback_sids)),
        )
        .order_by(CallEvent.at, CallEvent.id)
    )
    facts: dict[str, _CallFacts] = defaultdict(_CallFacts)
    talks: list[_Answer] = []
    for sid, kind, at, data in events:
        data = data or {}
        if kind == "call.queued":
            fact = facts[sid]
            if fact.queued_at is None:  # a requeue keeps the caller's first entry
                fact.queued_at = at
                fact.after_hours = bool(data.get("callback_after"))
        elif kind in ("callback.booked", "callback.noted"):
            facts[sid].callback_requested = True
        elif kind == "agent.result" and data.get("status") == "completed":
            talk = _seconds(data.get("duration"))
            agent_id = _seconds(data.get("agent_id"))
            # The agent picked up `talk` seconds before the Dial ended and this event arrived.
            answer = _Answer(at - timedelta(seconds=talk or 0), int(agent_id) if agent_id else None, talk)
            talks.append(answer)
            if sid in callback_of:
                fact = facts[callback_of[sid]]
                fact.callback_answer = fact.callback_answer or answer
            else:
                fact = facts[sid]
                fact.live_answer = fact.live_answer or answer
    return facts, talks


def _by_intent(calls: Iterable[Call]) -> list[tuple[str, int]]:
    counts = Counter(call.intent or NO_INTENT for call in calls)
    extra = sorted(k for k in counts if k not in INTENT_ORDER and k != NO_INTENT)
    return [(intent, counts[intent]) for intent in (*INTENT_ORDER, *extra, NO_INTENT)]


def _queue_result(call: Call, fact: _CallFacts) -> tuple[str, float | None]:
    """What became of a call offered to a queue, and its seconds to answer when an agent answered it."""
    entered = fact.queued_at or call.started_at
    if fact.live_answer is not None:
        return ANSWERED, max(0.0, (fact.live_answer.at - entered).total_seconds())
    if fact.callback_requested:
        return CALLBACK, None
    outcome = call.outcome or ""
    if outcome == "answered":  # bridged from the queue, no agent events: Twilio's time in the queue
        return ANSWERED, float(call.queue_seconds) if call.queue_seconds is not None else None
    if outcome in ("abandoned", "redirected"):
        return ABANDONED, None  # the caller hung up before an agent answered
    if outcome.startswith(("duty-", "dial-")):
        return DUTY, None
    return OTHER, None


def _queue_figures(calls: Iterable[Call], facts: dict[str, _CallFacts]) -> QueueFigures:
    figures = QueueFigures()
    for call in calls:
        fact = facts.get(call.call_sid, _CallFacts())
        if call.queue is None and fact.queued_at is None:
            continue  # never asked for an agent
        if fact.after_hours and fact.live_answer is None:
            figures.after_hours += 1
            continue
        figures.offered += 1
        result, wait = _queue_result(call, fact)
        figures.results[result] += 1
        if wait is not None:
            figures.waits.append(wait)
            figures.answered_within += wait <= SERVICE_LEVEL_SECONDS
    return figures


def _complaint_figures(
    calls: Iterable[Call], facts: dict[str, _CallFacts], now: datetime
) -> list[ComplaintFigures]:
    rows = {name: ComplaintFigures(name) for name in COMPLAINT_CLASSES}
    for call in calls:
        if call.complaint_class is None and call.intent != "complaint":
            continue
        name = call.complaint_class or UNCLASSIFIED
        row = rows.setdefault(name, ComplaintFigures(name))
        row.calls += 1
        fact = facts.get(call.call_sid, _CallFacts())
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
    talks: list[_Answer],
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


def finding_phrases(findings: str) -> list[str]:
    """The separate points of a reviewer's findings: split at line ends and sentence ends, bullets off."""
    phrases = []
    for line in (findings or "").splitlines():
        for part in _FINDING_SPLIT.split(_FINDING_BULLET.sub("", line.strip())):
            phrase = " ".join(part.split()).strip(" ,，、:：")
            if phrase:
                phrases.append(phrase)
    return phrases


def _top_findings(reviews: list[tuple[Review, int | None]]) -> list[Finding]:
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for review, _ in reviews:
        seen = set()
        for phrase in finding_phrases(review.findings):
            key = phrase.casefold()
            spelling.setdefault(key, phrase)
            seen.add(key)
        counts.update(seen)  # a phrase counts once per review
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FINDINGS]
    return [Finding(spelling[key], count) for key, count in ranked]


def is_failed_answer(value: Any) -> bool:
    """A scorecard answer that fails its question: "fail"/"no"/false, or a score of 0."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, dict):  # {"value": ..., "note": ...}
        return is_failed_answer(value.get("value", value.get("score")))
    return str(value).strip().casefold() in _FAILED_ANSWERS


def _is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return _is_answered(value.get("value", value.get("score")))
    return isinstance(value, bool | int | float) or str(value).strip().casefold() not in _NOT_APPLICABLE


def _failed_questions(session: Session, reviews: list[tuple[Review, int | None]]) -> list[FailedQuestion]:
    failed: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    versions = set()
    for review, _ in reviews:
        versions.add(review.scorecard_version)
        for question, value in (review.answers or {}).items():
            if _is_answered(value):
                answered[question] += 1
                failed[question] += is_failed_answer(value)
    labels: dict[str, str] = {}
    if versions:
        documents = session.scalars(
            select(ScorecardVersion.document)
            .where(ScorecardVersion.version.in_(versions))
            .order_by(ScorecardVersion.version.desc())
        )
        for document in documents:
            for question, label in _question_labels(document):
                labels.setdefault(question, label)
    ranked = sorted((q for q in failed if failed[q]), key=lambda q: (-failed[q], q))[:TOP_FINDINGS]
    return [FailedQuestion(q, labels.get(q, q), failed[q], answered[q]) for q in ranked]


def _question_labels(node: Any) -> Iterator[tuple[str, str]]:
    """(id, text) of every question in a scorecard document, whatever its nesting."""
    if isinstance(node, dict):
        keys = ("text", "label", "title", "question")
        wording = next((node[k] for k in keys if isinstance(node.get(k), str)), None)
        if isinstance(node.get("id"), str) and wording and "questions" not in node:  # not a section
            yield node["id"], wording
        for value in node.values():
            yield from _question_labels(value)
    elif isinstance(node, list):
        for value in node:
            yield from _question_labels(value)


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- CSV


CSV_HEADER = ("section", "key", "metric", "value")


def _number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return str(value) if isinstance(value, int) else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def report_rows(report: QualityReport) -> list[tuple[str, str, str, str]]:
    """The report as (section, key, metric, value) rows: one figure per row, rates in percent."""
    rows: list[tuple[str, str, str, str]] = [
        ("report", str(report.month), "time_zone", report.timezone),
        ("report", str(report.month), "generated_utc", report.generated_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("volume", "all", "calls", str(report.calls)),
    ]
    rows += [("volume_by_intent", intent, "calls", str(n)) for intent, n in report.by_intent]
    rows += [("volume_by_day", day.isoformat(), "calls", str(n)) for day, n in report.by_day]
    rows += [("volume_by_hour", f"{hour:02d}", "calls", str(n)) for hour, n in enumerate(report.by_hour)]
    queue = report.queue
    rows += [
        ("answering", "all", "offered", str(queue.offered)),
        *(("answering", "all", result, str(queue.results[result])) for result in QUEUE_RESULTS),
        ("answering", "all", f"answered_within_{SERVICE_LEVEL_SECONDS}s", str(queue.answered_within)),
        ("answering", "all", "service_level_pct", _percent(queue.service_level)),
        ("answering", "all", "service_level_target_pct", _percent(SERVICE_LEVEL_TARGET)),
        ("answering", "all", "abandonment_rate_pct", _percent(queue.abandonment_rate)),
        ("answering", "all", "average_answer_seconds", _number(queue.average_answer_seconds)),
        ("answering", "all", "after_hours_callback_requests", str(queue.after_hours)),
    ]
    rows += [("answer_time", label, "answered", str(n)) for label, n in queue.wait_buckets]
    rows += [
        ("handling", "all", "agent_calls_completed", str(report.handled)),
        ("handling", "all", "average_handling_seconds", _number(report.average_handling_seconds)),
    ]
    for row in [*report.complaints, report.complaint_total]:
        key = row.complaint_class
        rows += [
            ("complaints", key, "calls", str(row.calls)),
            ("complaints", key, "deadline_met", str(row.met)),
            ("complaints", key, "deadline_missed", str(row.missed)),
            ("complaints", key, "open", str(row.open)),
            ("complaints", key, "no_deadline", str(row.no_deadline)),
            ("complaints", key, "closure_rate_pct", _percent(row.closure_rate)),
            ("complaints", key, "mean_minutes_to_answer", _number(row.mean_minutes_to_answer)),
        ]
    for agent in report.agents:
        key = f"{agent.name} (#{agent.agent_id})" if agent.agent_id is not None else agent.name
        rows += [
            ("agents", key, "answered", str(agent.answered)),
            ("agents", key, "average_handling_seconds", _number(agent.average_handling_seconds)),
            ("agents", key, "recorded", str(agent.recorded)),
            ("agents", key, "sampled", str(agent.sampled)),
            ("agents", key, "coverage_pct", _percent(agent.coverage)),
            ("agents", key, "reviewed", str(agent.reviewed)),
            ("agents", key, "mean_score", _number(agent.mean_score)),
            ("agents", key, "min_score", _number(agent.min_score)),
            ("agents", key, "auto_failed", str(agent.auto_failed)),
        ]
    rows += [
        ("audit", "all", "recorded", str(report.recorded)),
        ("audit", "all", "sampled", str(report.sampled)),
        ("audit", "all", "coverage_pct", _percent(report.coverage)),
        ("audit", "all", "reviewed", str(report.reviewed)),
        ("audit", "all", "mean_score", _number(report.mean_score)),
    ]
    rows += [("top_findings", finding.text, "reviews", str(finding.reviews)) for finding in report.findings]
    for question in report.failed_questions:
        rows += [
            ("failed_questions", question.question, "failed", str(question.failed)),
            ("failed_questions", question.question, "answered", str(question.answered)),
        ]
    return rows


def report_csv(report: QualityReport) -> str:
    """The CSV export (with a byte-order mark, so spreadsheet programs read the Chinese names right)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(report_rows(report))
    return out.getvalue()
