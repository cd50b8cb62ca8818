"""The daily quality-audit sample of recorded calls: drawn once per local day, reproducible, safe to race.

The choice of calls is pure (`ivr.quality.sample_sizes.draw`); this module reads a day's recordings, stores
the sample and its items in one transaction, and reports progress. Two schedulers (or a scheduler and a
person at the command line) may draw the same day at once: `audit_samples.day` is unique, so exactly one
insert wins; the other catches the IntegrityError and returns the winner's sample. docs/audit.md explains.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.config import Settings
from ivr.db.models import Agent, AuditItem, AuditSample, Call, Recording, utcnow
from ivr.quality.sample_sizes import (
    OVERSAMPLE_CHOICES,
    AgentKey,
    Candidate,
    agent_label,
    agent_order,
    draw,
    effective_rate,
)

log = logging.getLogger(__name__)

# What the scheduled job uses (no setting of its own yet); the command line can change both per run.
DEFAULT_MIN_DURATION = 0  # seconds; 0: every recorded call may be drawn
DEFAULT_OVERSAMPLE = ("complaint", "safety")  # drawn first within each agent's share
CATCH_UP_DAYS = 7  # the job also draws any of the 7 days before yesterday that a stopped scheduler missed
SEED_BITS = 63  # audit_samples.seed is a signed 64-bit integer


class AuditRefused(Exception):
    """A sample that must not be drawn (e.g. a day not over yet)."""


@dataclass(frozen=True)
class AuditOptions:
    """How a sample is drawn: the rate (never under 10%), the minimum duration, the intents to over-sample."""

    rate: float
    min_duration: int = DEFAULT_MIN_DURATION
    oversample: tuple[str, ...] = DEFAULT_OVERSAMPLE

    @classmethod
    def from_settings(
        cls, settings: Settings, *, min_duration: int | None = None, oversample: tuple[str, ...] | None = None
    ) -> AuditOptions:
        return cls(
            rate=float(effective_rate(settings.audit_rate)),
            min_duration=DEFAULT_MIN_DURATION if min_duration is None else min_duration,
            oversample=DEFAULT_OVERSAMPLE if oversample is None else tuple(sorted(set(oversample))),
        )


@dataclass(frozen=True)
class AgentCount:
    """One agent's line of a sample: recorded calls that day, calls sampled, reviewed and pending."""

    agent_id: AgentKey
    name: str
    recorded: int
    sampled: int
    done: int = 0

    @property
    def pending(self) -> int:
        return self.sampled - self.done


@dataclass(frozen=True)
class SampleReport:
    """A day's sample as stored (or, with `sample_id` None, a day with no recorded call: nothing stored)."""

    day: date
    created: bool  # drawn by this call; False: it was already there (or there was nothing to draw)
    sample_id: int | None = None
    seed: int | None = None
    rate: float = 0.0
    recorded: int = 0
    sampled: int = 0
    done: int = 0
    created_at: datetime | None = None
    created_by: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    agents: tuple[AgentCount, ...] = ()

    @property
    def pending(self) -> int:
        return self.sampled - self.done

    @property
    def achieved_rate(self) -> float:
        return self.sampled / self.recorded if self.recorded else 0.0


# ---------------------------------------------------------------- days and recordings


def parse_audit_time(text: str) -> tuple[int, int]:
    """ "00:30" -> (0, 30); anything else is a ValueError naming IVR_AUDIT_TIME."""
    try:
        parsed = datetime.strptime(text.strip(), "%H:%M")
    except ValueError:
        raise ValueError(f"IVR_AUDIT_TIME must be HH:MM (local time), not {text!r}") from None
    return parsed.hour, parsed.minute


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The local day as naive-UTC bounds [start, end) (a day of 23 or 25 hours where clocks change)."""
    zone = ZoneInfo(timezone)

    def utc(d: date) -> datetime:
        return datetime.combine(d, time.min, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    return utc(day), utc(day + timedelta(days=1))


def previous_local_day(now: datetime, timezone: str) -> date:
    """Yesterday in the hotline's time zone, for a naive-UTC `now`."""
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def load_candidates(session: Session, start: datetime, end: datetime) -> list[Candidate]:
    """Completed recordings whose agent call started in [start, end), with what their call was about."""
    rows = session.execute(
        select(
            Recording.id,
            Recording.agent_id,
            Recording.call_sid,
            Recording.duration_seconds,
            Call.intent,
            Call.emergency,
            Call.complaint_class,
        )
        .outerjoin(Call, Call.call_sid == Recording.call_sid)
        .where(Recording.status == "completed", Recording.started_at >= start, Recording.started_at < end)
        .order_by(Recording.id)
    ).all()
    return [
        Candidate(
            recording_id=row.id,
            agent_id=row.agent_id,
            call_sid=row.call_sid,
            duration_seconds=row.duration_seconds,
            intent=row.intent,
            emergency=bool(row.emergency),
            complaint_class=row.complaint_class,
        )
        for row in rows
    ]


# ---------------------------------------------------------------- drawing


def draw_sample(
    day: date,
    options: AuditOptions,
    *,
    sessions: sessionmaker[Session],
    timezone: str,
    seed: int | None = None,
    created_by: str = "scheduler",
    now: datetime | None = None,
) -> SampleReport:
    """Draw and store the audit sample of a local day, or return the one already drawn for it.

    The options and seed only matter when the sample is drawn now; an existing sample is never changed.
    A day with no completed recording stores nothing (a later run may still draw it).
    """
    start, end = local_day_bounds(day, timezone)
    if end > (now or utcnow()):
        raise AuditRefused(f"{day} is not over yet in {timezone}: its sample is drawn after midnight")
    if seed is not None and not 0 <= seed < 2**SEED_BITS:
        raise AuditRefused(f"a seed is between 0 and 2**{SEED_BITS} - 1")
    with sessions() as session:
        existing = session.scalar(select(AuditSample).where(AuditSample.day == day))
        if existing is not None:
            return _report(session, existing, created=False)
        candidates = load_candidates(session, start, end)
    if not candidates:
        return SampleReport(day=day, created=False, rate=options.rate)

    seed = secrets.randbits(SEED_BITS) if seed is None else seed
    drawn = draw(
        candidates, seed, options.rate, min_duration=options.min_duration, oversample=options.oversample
    )
    params = drawn.params() | {"timezone": timezone, "window_utc": [start.isoformat(), end.isoformat()]}
    try:
        with sessions() as session, session.begin():
            sample = AuditSample(
                day=day,
                seed=seed,
                rate=float(drawn.rate),
                params=params,
                recorded_calls=drawn.recorded,
                sampled_calls=len(drawn.items),
                created_by=created_by,
            )
            session.add(sample)
            session.flush()  # the unique day: a sample drawn meanwhile fails here, before any item is written
            session.add_all(
                AuditItem(
                    sample_id=sample.id,
                    recording_id=item.recording_id,
                    call_sid=item.call_sid,
                    agent_id=item.agent_id,
                )
                for item in drawn.items
            )
    except IntegrityError:
        with sessions() as session:
            existing = session.scalar(select(AuditSample).where(AuditSample.day == day))
            if existing is None:
                raise  # not the race on the day: a real defect
            log.info("audit sample of %s was drawn meanwhile by %s; using it", day, existing.created_by)
            return _report(session, existing, created=False)
    for note in drawn.notes:
        log.info("audit sample of %s: %s", day, note)
    log.info("audit sample of %s drawn: %d of %d recorded calls", day, len(drawn.items), drawn.recorded)
    with sessions() as session:
        return _report(session, sample, created=True)


def draw_due_samples(
    *,
    sessions: sessionmaker[Session],
    timezone: str,
    options: AuditOptions,
    now: datetime | None = None,
    catch_up_days: int = CATCH_UP_DAYS,
) -> list[SampleReport]:
    """The scheduled job: yesterday's sample, and any recent day with recordings but no sample."""
    now = now or utcnow()
    yesterday = previous_local_day(now, timezone)
    days = [yesterday - timedelta(days=n) for n in range(catch_up_days, -1, -1)]
    with sessions() as session:
        drawn = set(session.scalars(select(AuditSample.day).where(AuditSample.day.in_(days))))
    reports = []
    for day in days:
        if day in drawn:
            continue
        report = draw_sample(day, options, sessions=sessions, timezone=timezone, now=now)
        if report.created and day != yesterday:
            log.warning("audit sample of %s drawn late (the scheduler missed its day)", day)
        reports.append(report)
    return reports


def verify_sample(day: date, *, session: Session, timezone: str) -> bool | None:
    """Draw the stored sample again from its seed, options and today's recordings: True if it is the same.

    None when there is no sample for the day. `timezone`: the day's, when the sample did not keep it.
    """
    sample = session.scalar(select(AuditSample).where(AuditSample.day == day))
    if sample is None:
        return None
    start, end = local_day_bounds(day, sample.params.get("timezone", timezone))
    candidates = load_candidates(session, start, end)
    stored = set(session.scalars(select(AuditItem.recording_id).where(AuditItem.sample_id == sample.id)))
    params = sample.params
    again = draw(
        candidates,
        sample.seed,
        sample.rate,
        min_duration=int(params.get("min_duration", 0)),
        oversample=tuple(params.get("oversample", ())),
    )
    return {item.recording_id for item in again.items} == stored


# ---------------------------------------------------------------- progress


def audit_status(day: date | None = None, *, session: Session, last: int = 7) -> list[SampleReport]:
    """The sample of `day`, or the `last` samples (newest first), with reviewed and pending per agent."""
    query = select(AuditSample)
    query = query.where(AuditSample.day == day) if day else query.order_by(AuditSample.day.desc()).limit(last)
    return [_report(session, sample, created=False) for sample in session.scalars(query).all()]


def _report(session: Session, sample: AuditSample, *, created: bool) -> SampleReport:
    rows = session.execute(
        select(AuditItem.agent_id, AuditItem.status, func.count())
        .where(AuditItem.sample_id == sample.id)
        .group_by(AuditItem.agent_id, AuditItem.status)
    ).all()
    sampled: Counter[AgentKey] = Counter()
    done: Counter[AgentKey] = Counter()
    for agent_id, status, count in rows:
        sampled[agent_id] += count
        if status == "done":
            done[agent_id] += count
    recorded_per_agent: dict[str, int] = sample.params.get("recorded_per_agent", {})
    agent_ids = set(sampled) | {None if k == "none" else int(k) for k in recorded_per_agent}
    names: dict[int, str] = {
        agent_id: name
        for agent_id, name in session.execute(
            select(Agent.id, Agent.name).where(Agent.id.in_([a for a in agent_ids if a is not None]))
        )
    }
    agents = tuple(
        AgentCount(
            agent_id=agent,
            name="(no agent)" if agent is None else names.get(agent, f"agent {agent}"),
            recorded=int(recorded_per_agent.get(agent_label(agent), 0)),
            sampled=sampled[agent],
            done=done[agent],
        )
        for agent in sorted(agent_ids, key=agent_order)
    )
    return SampleReport(
        day=sample.day,
        created=created,
        sample_id=sample.id,
        seed=sample.seed,
        rate=sample.rate,
        recorded=sample.recorded_calls,
        sampled=sample.sampled_calls,
        done=sum(done.values()),
        created_at=sample.created_at,
        created_by=sample.created_by,
        params=dict(sample.params),
        agents=agents,
    )


def describe_sample(report: SampleReport, timezone: str) -> list[str]:
    """A sample as the command line prints it: the day's figures, then one line per agent."""
    params = report.params
    drawn_at = "?"
    if report.created_at is not None:
        local = report.created_at.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))
        drawn_at = f"{local:%Y-%m-%d %H:%M:%S} ({timezone})"
    lines = [
        f"{report.day}  recorded {report.recorded}, sampled {report.sampled} ({report.achieved_rate:.1%}; "
        f"rate {report.rate * 100:g}%), reviewed {report.done}, pending {report.pending}, seed {report.seed}",
        f"    drawn {drawn_at} by {report.created_by}; minimum duration {params.get('min_duration', 0)}s; "
        f"over-sampled: {', '.join(params.get('oversample', [])) or 'none'}",
    ]
    lines += [f"    note: {note}" for note in params.get("notes", [])]
    for agent in report.agents:
        who = agent.name if agent.agent_id is None else f"{agent.name} (agent {agent.agent_id})"
        lines.append(
            f"    {who:<32} -> {agent.sampled} of {agent.recorded} recorded; "
            f"reviewed {agent.done}, pending {agent.pending}"
        )
    return lines


def parse_oversample(text: str) -> tuple[str, ...]:
    """ "complaint,safety" -> ("complaint", "safety"); "none" or "" -> (); an unknown intent: ValueError."""
    names = tuple(sorted({part.strip().lower() for part in text.split(",") if part.strip()} - {"none"}))
    unknown = [name for name in names if name not in OVERSAMPLE_CHOICES]
    if unknown:
        raise ValueError(
            f"unknown intent(s) {', '.join(unknown)}: choose from {', '.join(OVERSAMPLE_CHOICES)}, or none"
        )
    return names
