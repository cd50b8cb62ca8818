"""The call-back sampling policy in the database, and a month's selection stored as CallbackCandidate rows.
The rules themselves are pure: ivr/callbacks/selection.py; docs/callbacks.md."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.callbacks.phones import normalise_phone
from ivr.callbacks.policy import DEFAULT_POLICY_FILE, Policy, load_policy_file, validate_policy
from ivr.callbacks.selection import Case, decide
from ivr.db.models import CallbackCandidate, DoNotCall, SamplingPolicyVersion, ServiceCompletion
from ivr.services.quality_report import Month

# Until call-back calls are recorded, an earlier month's selected customer counts as called back this many
# days after their completion: the earliest a call-back is made (DOMAIN: 3 to 5 days after).
CALLBACK_AFTER = timedelta(days=3)


def publish_policy(session: Session, document: dict[str, Any], *, created_by: str = "system") -> int:
    """Validate a policy document (InvalidPolicy naming every problem) and store it as the next version."""
    validate_policy(document)
    latest = session.scalar(select(func.max(SamplingPolicyVersion.version))) or 0
    row = SamplingPolicyVersion(version=latest + 1, document=document, created_by=created_by)
    session.add(row)
    session.flush()
    return row.version


def live_policy(session: Session) -> Policy:
    """The newest published policy; the shipped default (version 0) while none is published."""
    row = session.scalar(
        select(SamplingPolicyVersion).order_by(SamplingPolicyVersion.version.desc()).limit(1)
    )
    if row is None:
        return validate_policy(load_policy_file(DEFAULT_POLICY_FILE), version=0)
    return validate_policy(row.document, version=row.version)


def month_bounds(month: Month, timezone: str) -> tuple[datetime, datetime]:
    """The local month as naive UTC [start, end)."""
    zone = ZoneInfo(timezone)

    def utc(year: int, number: int) -> datetime:
        return datetime(year, number, 1, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    following = month.next()
    return utc(month.year, month.month), utc(following.year, following.month)


@dataclass
class SelectionReport:
    """A month's selection: whether this run drew it, and its figures."""

    month: str
    created: bool
    policy_version: int
    selected: Counter[str] = field(default_factory=Counter)  # service type -> selected
    excluded: Counter[str] = field(default_factory=Counter)  # reason -> completions


def _recent_callbacks(session: Session, month: str) -> dict[str, list[datetime]]:
    """Customers selected in earlier months, with when they were (at the earliest) called back."""
    rows = session.execute(
        select(ServiceCompletion.customer_phone, ServiceCompletion.completed_at)
        .join(CallbackCandidate, CallbackCandidate.completion_id == ServiceCompletion.id)
        .where(CallbackCandidate.selected.is_(True), CallbackCandidate.month < month)
    ).all()
    called: dict[str, list[datetime]] = defaultdict(list)
    for phone, completed_at in rows:
        number = normalise_phone(phone)
        if number:
            called[number].append(completed_at + CALLBACK_AFTER)
    return called


def _report(session: Session, month: str, created: bool) -> SelectionReport:
    rows = session.execute(
        select(CallbackCandidate, ServiceCompletion.service_type)
        .join(ServiceCompletion, ServiceCompletion.id == CallbackCandidate.completion_id)
        .where(CallbackCandidate.month == month)
    ).all()
    version = rows[0][0].policy_version if rows else 0
    report = SelectionReport(month, created, version)
    for candidate, service_type in rows:
        if candidate.selected:
            report.selected[service_type] += 1
        else:
            report.excluded[candidate.exclusion_reason or "?"] += 1
    return report


def select_callbacks(
    session: Session, month: str, seed: int, *, timezone: str = "Asia/Shanghai"
) -> SelectionReport:
    """Decide the call-backs of the completions of a local month (YYYY-MM; MonthError otherwise) and store
    one CallbackCandidate per completion. Once a month is drawn it is never drawn again: a second call
    stores nothing and reports the first draw. Flushes; the caller commits."""
    key = str(Month.parse(month))
    if session.scalar(select(func.count()).where(CallbackCandidate.month == key)):
        return _report(session, key, created=False)
    start, end = month_bounds(Month.parse(key), timezone)
    completions = session.scalars(
        select(ServiceCompletion).where(
            ServiceCompletion.completed_at >= start, ServiceCompletion.completed_at < end
        )
    ).all()
    policy = live_policy(session)
    cases = [Case(c.id, c.service_type, c.completed_at, c.customer_phone, c.employee) for c in completions]
    do_not_call = set(session.scalars(select(DoNotCall.phone)))
    decisions = decide(
        cases, policy, do_not_call=do_not_call, recent_callbacks=_recent_callbacks(session, key), seed=seed
    )
    for decision in decisions:
        session.add(
            CallbackCandidate(
                completion_id=decision.completion_id,
                month=key,
                selected=decision.selected,
                exclusion_reason=decision.reason,
                policy_version=policy.version,
            )
        )
    session.flush()
    return _report(session, key, created=True)
