"""The wallboard's limits as stored (table wallboard_thresholds): read them and save a supervisor's changes.

Changes are checked for every queue they affect, each change in the change log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import WallboardThreshold, utcnow
from ivr.queueing.wallboard_levels import ALL_QUEUES, LIMIT_FIELDS, Given, limit_problems, limits_for


class ThresholdsRefused(ValueError):
    """Limits that cannot be saved; `problems` says why, per queue, in words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def stored_limits(session: Session) -> dict[str, dict[str, int | None]]:
    """Every stored scope's limits: {"*" or queue: {field: value or None}}."""
    return {
        row.scope: {name: getattr(row, name) for name in LIMIT_FIELDS}
        for row in session.scalars(select(WallboardThreshold))
    }


def save_limits(
    session: Session, *, given: Mapping[str, Given], queues: Iterable[str], by: str
) -> list[str]:
    """Store the limits given per scope ("*" and queues; a scope with nothing set is removed) and return the
    scopes changed. Refused, with nothing written, if any queue's resulting limits are unusable."""
    before = stored_limits(session)
    after = {scope: dict(values) for scope, values in before.items()}
    for scope, values in given.items():
        row = {name: values.get(name) for name in LIMIT_FIELDS}
        if any(value is not None for value in row.values()):
            after[scope] = row
        else:
            after.pop(scope, None)
    problems = [
        f"{'全部队列 / every queue' if queue == ALL_QUEUES else queue}: {problem}"
        for queue in (ALL_QUEUES, *queues)
        for problem in limit_problems(limits_for(queue, after))
    ]
    if problems:
        raise ThresholdsRefused(problems)
    changed = sorted(scope for scope in set(before) | set(after) if before.get(scope) != after.get(scope))
    rows = {stored.scope: stored for stored in session.scalars(select(WallboardThreshold))}
    for scope in changed:
        limits = after.get(scope)
        if limits is None:
            session.delete(rows[scope])
        else:
            kept = rows.get(scope) or WallboardThreshold(scope=scope)
            for name, value in limits.items():
                setattr(kept, name, value)
            kept.updated_by, kept.updated_at = by, utcnow()
            session.add(kept)
        log_change(session, by, "wallboard", "thresholds", scope, before=before.get(scope), after=limits)
    session.flush()
    return changed
