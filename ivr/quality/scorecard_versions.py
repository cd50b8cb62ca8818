"""The scorecard's versions in the database: the latest, publishing the next, and the default one at start.

Each publish adds a version; none is ever changed. The document and its score maths are the pure
ivr/quality/scorecards.py; this module stores and reads its versions in the session it is given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ivr.configuration.menus.validation import Problem
from ivr.db.models import ScorecardVersion
from ivr.quality.scorecards import InvalidScorecard, Scorecard, load_scorecard_file, parse_scorecard


class ScorecardConflict(RuntimeError):
    """Another version was published since the editor was opened (or at the same moment)."""


def latest_version(session: Session) -> ScorecardVersion | None:
    """The newest published scorecard version (the one new reviews use)."""
    return session.scalar(select(ScorecardVersion).order_by(ScorecardVersion.version.desc()).limit(1))


def ensure_scorecard(sessions: sessionmaker[Session]) -> None:
    """Store the shipped default scorecard as version 1 when none exists yet (its own transaction)."""
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(ScorecardVersion)):
            return
        document = parse_scorecard(load_scorecard_file()).to_document()
        session.add(ScorecardVersion(version=1, document=document, created_by="system"))
        try:
            session.commit()
        except IntegrityError:  # another request stored it at the same moment: theirs is the same card
            session.rollback()


def publish_scorecard(
    session: Session, raw: Any, *, created_by: str, based_on: int | None = None
) -> ScorecardVersion:
    """Validate a document and store it as the next version; the version edited must still be the latest."""
    card = parse_scorecard(raw)
    latest = latest_version(session)
    latest_number = latest.version if latest is not None else 0
    if based_on is not None and based_on != latest_number:
        raise ScorecardConflict(
            f"version {latest_number} was published after you opened version {based_on}: "
            "reload the editor and make your change again"
        )
    document = card.to_document()
    if latest is not None and latest.document == document:
        raise InvalidScorecard([Problem("document", f"unchanged: it is the same as version {latest_number}")])
    row = ScorecardVersion(version=latest_number + 1, document=document, created_by=created_by)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise ScorecardConflict(
            f"someone published version {latest_number + 1} at the same moment: reload and try again"
        ) from None
    return row


def scorecard_of(row: ScorecardVersion) -> Scorecard:
    """The parsed card of a stored version (stored versions were valid when published)."""
    return parse_scorecard(row.document)
