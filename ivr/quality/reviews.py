"""Quality reviews of the audit sample: what a sampled call was, the sample lists, and submitting a review.

A sampled call's details come from Call, QueueEntry and the call's events. A review is submitted in one
transaction, once per call, then final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.configuration.menus.validation import Problem
from ivr.db.models import (
    Agent,
    AuditItem,
    AuditSample,
    Call,
    CallEvent,
    QueueEntry,
    Recording,
    Review,
    ScorecardVersion,
    User,
)
from ivr.quality.scorecard_versions import scorecard_of
from ivr.quality.scorecards import (
    NA,
    PASS,
    InvalidAnswers,
    Scorecard,
    check_answers,
    compute_score,
)

STATUSES = ("pending", "done")
MAX_NOTE = 5000  # characters of findings, and of the correction action


class ReviewRefused(Exception):
    """A review that cannot be stored as sent: the HTTP status, a sentence, and each problem."""

    def __init__(self, status: int, message: str, problems: Sequence[Problem] = ()):
        self.status = status
        self.message = message
        self.problems = list(problems)
        super().__init__("; ".join([message, *(str(p) for p in problems)]))


@dataclass
class SampledCall:
    """One call of an audit sample with what a reviewer needs to know about it."""

    item_id: int
    sample_day: date
    status: str  # pending, done
    call_sid: str
    recording_id: int
    recording_status: str
    recording_error: str
    recording_seconds: int | None
    agent_id: int | None
    agent_name: str | None
    started_at: datetime | None
    from_number: str | None
    intent: str | None
    language: str | None
    outcome: str | None
    emergency: bool
    queue: str | None
    wait_seconds: int | None
    talk_seconds: int | None
    menu_path: list[str] = field(default_factory=list)
    review_id: int | None = None
    score: float | None = None
    auto_failed: bool = False


@dataclass
class ReviewView:
    """A submitted review with the scorecard version it used and who wrote it."""

    review: Review
    card: Scorecard
    reviewer: str
    call: SampledCall


# ---------------------------------------------------------------- the sample


def sample_days(session: Session) -> list[date]:
    """The days that have a drawn sample, newest first."""
    return list(session.scalars(select(AuditSample.day).order_by(AuditSample.day.desc())))


def sample_of_day(session: Session, day: date) -> AuditSample | None:
    """The audit sample drawn for `day`, if any."""
    return session.scalar(select(AuditSample).where(AuditSample.day == day))


def sampled_calls(
    session: Session,
    *,
    sample_id: int,
    agent_id: int | None = None,
    intent: str | None = None,
    status: str | None = None,
) -> list[SampledCall]:
    """The sample's calls, filtered, in the order they were taken."""
    where: list[ColumnElement[bool]] = [AuditItem.sample_id == sample_id]
    if agent_id is not None:
        where.append(AuditItem.agent_id == agent_id)
    if intent:
        where.append(Call.intent == intent)
    if status:
        where.append(AuditItem.status == status)
    return _calls(session, where, newest_review_first=False)


def sampled_call(session: Session, item_id: int) -> SampledCall | None:
    """One sampled call by its audit item id."""
    found = _calls(session, [AuditItem.id == item_id], newest_review_first=False)
    return found[0] if found else None


def item_of_call(session: Session, call_sid: str) -> int | None:
    """The audit item of a call (the latest sample holding it), or None if it was never sampled."""
    return session.scalar(
        select(AuditItem.id).where(AuditItem.call_sid == call_sid).order_by(AuditItem.id.desc()).limit(1)
    )


def reviewed_calls_of_agent(session: Session, agent_id: int) -> list[SampledCall]:
    """An agent's reviewed calls, newest review first (pending ones are never shown to agents)."""
    return _calls(session, [AuditItem.agent_id == agent_id, Review.id.is_not(None)], newest_review_first=True)


def review_view(session: Session, review_id: int) -> ReviewView | None:
    """A review with its call, its scorecard version and its reviewer's name."""
    row = session.execute(
        select(Review, ScorecardVersion, User.username)
        .join(ScorecardVersion, ScorecardVersion.version == Review.scorecard_version)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.id == review_id)
    ).first()
    if row is None:
        return None
    review, version, reviewer = row
    call = sampled_call(session, review.item_id)
    assert call is not None  # a review always belongs to an item
    return ReviewView(review=review, card=scorecard_of(version), reviewer=reviewer, call=call)


def _calls(
    session: Session, where: list[ColumnElement[bool]], *, newest_review_first: bool
) -> list[SampledCall]:
    order = (
        [Review.submitted_at.desc(), AuditItem.id.desc()]
        if newest_review_first
        else [Recording.started_at, AuditItem.id]
    )
    rows = session.execute(
        select(AuditItem, AuditSample.day, Recording, Call, QueueEntry, Agent.name, Review)
        .join(AuditSample, AuditSample.id == AuditItem.sample_id)
        .join(Recording, Recording.id == AuditItem.recording_id)
        .outerjoin(Call, Call.call_sid == AuditItem.call_sid)
        .outerjoin(QueueEntry, QueueEntry.call_sid == AuditItem.call_sid)
        .outerjoin(Agent, Agent.id == AuditItem.agent_id)
        .outerjoin(Review, Review.item_id == AuditItem.id)
        .where(*where)
        .order_by(*order)
    ).all()
    facts = _event_facts(session, [row[0].call_sid for row in rows])
    found = []
    for item, day, recording, call, entry, agent_name, review in rows:
        path, talk = facts.get(item.call_sid, ([], None))
        found.append(
            SampledCall(
                item_id=item.id,
                sample_day=day,
                status=item.status,
                call_sid=item.call_sid,
                recording_id=recording.id,
                recording_status=recording.status,
                recording_error=recording.error,
                recording_seconds=recording.duration_seconds,
                agent_id=item.agent_id,
                agent_name=agent_name,
                started_at=call.started_at if call else recording.started_at,
                from_number=call.from_number if call else None,
                intent=call.intent if call else None,
                language=call.language if call else None,
                outcome=call.outcome if call else None,
                emergency=bool(call.emergency) if call else False,
                queue=call.queue if call else None,
                wait_seconds=_wait(call, entry),
                talk_seconds=talk if talk is not None else recording.duration_seconds,
                menu_path=path,
                review_id=review.id if review else None,
                score=review.score if review else None,
                auto_failed=bool(review.auto_failed) if review else False,
            )
        )
    return found


def _wait(call: Call | None, entry: QueueEntry | None) -> int | None:
    """Seconds in the queue: Twilio's QueueTime when the call left the queue, else our entry's times."""
    if call is not None and call.queue_seconds is not None:
        return call.queue_seconds
    if entry is not None and entry.claimed_at is not None:
        return max(0, int((entry.claimed_at - entry.waiting_since).total_seconds()))
    return None


def _event_facts(session: Session, call_sids: list[str]) -> dict[str, tuple[list[str], int | None]]:
    """Per call: the menu path (as events.call_path reads it, for many calls in one query) and the
    talk time (the DialCallDuration of the agent leg that completed)."""
    facts: dict[str, tuple[list[str], int | None]] = {}
    if not call_sids:
        return facts
    events = session.execute(
        select(CallEvent.call_sid, CallEvent.kind, CallEvent.data)
        .where(
            CallEvent.call_sid.in_(set(call_sids)),
            CallEvent.kind.in_(("call.started", "menu.turn", "agent.result")),
        )
        .order_by(CallEvent.at, CallEvent.id)
    ).all()
    for call_sid, kind, data in events:
        path, talk = facts.get(call_sid, ([], None))
        if kind == "agent.result":
            duration = str(data.get("duration") or "")
            if data.get("status") == "completed" and duration.isdigit():
                talk = int(duration)
        else:
            path = path + list(data.get("visited", []))
        facts[call_sid] = (path, talk)
    return facts


# ---------------------------------------------------------------- submitting


def submit_review(
    session: Session,
    *,
    item_id: int,
    reviewer_id: int,
    scorecard_version: int | None,
    answers: Mapping[str, Any],
    findings: str = "",
    correction: str = "",
) -> Review:
    """Score a sampled call and mark it done; raises ReviewRefused (nothing written) saying why not.

    404: the item is not in a sample; 409: it was already reviewed; 400: the scorecard version,
    an answer, the findings or the correction is wrong (every problem named).
    """
    item = session.scalar(select(AuditItem).where(AuditItem.id == item_id).with_for_update())
    if item is None:
        raise ReviewRefused(
            404, f"call {item_id} is not in the audit sample: only sampled calls are reviewed"
        )
    done = session.execute(
        select(Review.submitted_at, User.username)
        .join(User, User.id == Review.reviewer_id)
        .where(Review.item_id == item_id)
    ).first()
    if done is not None or item.status == "done":
        by = f" by {done.username} at {done.submitted_at:%Y-%m-%d %H:%M} UTC" if done else ""
        raise ReviewRefused(409, f"this call was already reviewed{by}; a submitted review is final")
    version = session.get(ScorecardVersion, scorecard_version) if scorecard_version else None
    if version is None:
        raise ReviewRefused(400, f"there is no scorecard version {scorecard_version!r}: reload the page")
    card = scorecard_of(version)

    problems: list[Problem] = []
    checked: dict[str, Any] | None = None
    try:
        checked = check_answers(card, answers, version=version.version)
    except InvalidAnswers as invalid:
        problems += invalid.problems
    findings, correction = findings.strip(), correction.strip()
    for name, text in (("findings", findings), ("correction", correction)):
        if len(text) > MAX_NOTE:
            problems.append(Problem(name, f"is {len(text)} characters: at most {MAX_NOTE}"))
    score = None
    if checked is not None:
        try:
            score = compute_score(card, checked)
        except InvalidAnswers as invalid:
            problems += invalid.problems
        short = [qid for qid, answer in checked.items() if answer != NA and answer < PASS]
        if short and not findings:
            problems.append(
                Problem("findings", f"are needed: {', '.join(short)} fell short; say what was heard")
            )
        if short and not correction:
            problems.append(
                Problem("correction", "is needed when something fell short: what the agent is to do")
            )
    if problems or checked is None or score is None:
        raise ReviewRefused(400, "the review was not saved; correct these and submit again", problems)

    review = Review(
        item_id=item.id,
        scorecard_version=version.version,
        reviewer_id=reviewer_id,
        answers=checked,
        score=score.score,
        auto_failed=score.auto_failed,
        findings=findings,
        correction=correction,
    )
    session.add(review)
    item.status = "done"
    try:
        session.flush()
    except IntegrityError:  # another reviewer submitted the same call a moment before
        raise ReviewRefused(
            409, "this call was just reviewed by someone else; a submitted review is final"
        ) from None
    return review
