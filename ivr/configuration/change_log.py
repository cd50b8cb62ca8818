"""The console's audit log: every change a person makes (menus, rules, announcements, storm mode, agents)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import ChangeLog, utcnow


def log_change(
    session: Session,
    who: str,
    kind: str,
    action: str,
    subject: str = "",
    *,
    before: Any = None,
    after: Any = None,
) -> ChangeLog:
    """Append one entry in the caller's transaction, so the change and its entry commit (or fail) together."""
    entry = ChangeLog(
        at=utcnow(), who=who, kind=kind, action=action, subject=subject[:200], before=before, after=after
    )
    session.add(entry)
    session.flush()
    return entry


def recent_changes(session: Session, *, kind: str | None = None, limit: int = 200) -> list[ChangeLog]:
    """The newest entries first, optionally of one kind."""
    query = select(ChangeLog).order_by(ChangeLog.id.desc()).limit(limit)
    if kind:
        query = query.where(ChangeLog.kind == kind)
    return list(session.scalars(query))
