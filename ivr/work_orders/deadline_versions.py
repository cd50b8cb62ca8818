"""The deadline rules document's versions in the database: save, roll back, and the live one, cached.

Like the routing rules (ivr/configuration/rules/store.py): versions are only ever added, the newest is
live, a rollback saves an earlier version's document again as a new version, and every save is written to
the console's change log in the same transaction. Until a supervisor saves one, the shipped defaults file
(default_deadlines.toml, the regulations) is live. See docs/work-orders.md, "Deadline rules".
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.configuration.edit_values import EditRefused
from ivr.configuration.menus.store import checksum
from ivr.configuration.menus.validation import Problem
from ivr.configuration.raw_document import read_document
from ivr.db.models import DeadlineRulesVersion
from ivr.work_orders.deadline_rules import (
    DEFAULT_DEADLINES_FILE,
    DeadlinesDocument,
    InvalidDeadlines,
    validate_deadlines,
)

CHANGE_KIND = "deadlines"  # the change log's kind for these saves
log = logging.getLogger(__name__)


class DeadlinesRefused(Exception):
    """A save or rollback that was not made (nothing written), with the HTTP status that fits."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class LiveDeadlines:
    """The live document with where it came from: a saved version, or the defaults file (version None).

    `problems` is empty unless the live version no longer passes the checks (they grew since it was saved):
    then `rules`, what is in force, are the defaults, and the page and check-config say so.
    """

    version: int | None
    document: dict[str, Any]
    source: str
    rules: DeadlinesDocument
    problems: list[Problem] = field(default_factory=list)


def read_deadlines_text(text: str) -> dict[str, Any]:
    """A document from TOML (or JSON) text, checked; raises InvalidDeadlines with every problem and where."""
    try:
        document = read_document(text)
    except EditRefused as refused:
        raise InvalidDeadlines([Problem("document", str(refused))]) from None
    validate_deadlines(document)
    return document


def save_deadlines(
    session: Session, text: str, *, by: str, note: str = "", based_on: int | None = None
) -> DeadlineRulesVersion:
    """Check the text and store it as the next (live) version; nothing is written when it has problems.

    `based_on` is the live version the editor started from (0: the defaults file); when someone saved since,
    the save is refused, so nobody's version is silently overwritten.
    """
    document = read_deadlines_text(text)
    live = live_row(session)
    live_number = live.version if live else 0
    if based_on is not None and based_on != live_number:
        raise DeadlinesRefused(
            f"version {live_number} was saved after you started editing version {based_on}: "
            "look at the history, then edit the live version again"
        )
    before = live.document if live else _defaults_document()
    if live is not None and live.checksum == checksum(document):
        raise DeadlinesRefused(f"nothing changed: this is version {live.version}, already live", 400)
    return _store(session, document, text, by=by, note=note, action="publish", before=before)


def rollback_deadlines(session: Session, version: int, *, by: str, note: str = "") -> DeadlineRulesVersion:
    """Save an earlier version's document again as the newest version."""
    old = version_row(session, version)
    if old is None:
        raise DeadlinesRefused(f"there is no deadline rules version {version}", 404)
    live = live_row(session)
    assert live is not None  # a version exists, so one is live
    if live.version == version:
        raise DeadlinesRefused(f"version {version} is already live", 400)
    validate_deadlines(old.document)  # every version was valid when saved; the checks may have grown since
    return _store(
        session,
        old.document,
        old.source,
        by=by,
        note=note or f"rollback to version {version}",
        action="rollback",
        before=live.document,
    )


def seed_default_deadlines(session: Session) -> int | None:
    """Store the shipped defaults as version 1 when none exist yet (so the history starts with them)."""
    if session.scalar(select(func.count()).select_from(DeadlineRulesVersion)):
        return None
    text = DEFAULT_DEADLINES_FILE.read_text(encoding="utf-8")
    row = _store(
        session, read_deadlines_text(text), text, by="system", note="default rules shipped", action="publish"
    )
    return row.version


def _store(
    session: Session,
    document: dict[str, Any],
    source: str,
    *,
    by: str,
    note: str,
    action: str,
    before: dict[str, Any] | None = None,
) -> DeadlineRulesVersion:
    latest = session.scalar(select(func.max(DeadlineRulesVersion.version))) or 0
    row = DeadlineRulesVersion(
        version=latest + 1,
        document=document,
        source=source,
        checksum=checksum(document),
        created_by=by,
        note=note,
    )
    session.add(row)
    session.flush()  # two saves at once: the second's primary key collides, and its transaction rolls back
    log_change(session, by, CHANGE_KIND, action, f"version {row.version}", before=before, after=document)
    return row


def live_row(session: Session) -> DeadlineRulesVersion | None:
    """The newest saved version, or None while the defaults file is live."""
    return session.scalar(select(DeadlineRulesVersion).order_by(DeadlineRulesVersion.version.desc()).limit(1))


def version_row(session: Session, version: int) -> DeadlineRulesVersion | None:
    """One saved version."""
    return session.get(DeadlineRulesVersion, version)


def all_versions(session: Session, limit: int = 200) -> list[DeadlineRulesVersion]:
    """The saved versions, newest first."""
    query = select(DeadlineRulesVersion).order_by(DeadlineRulesVersion.version.desc()).limit(limit)
    return list(session.scalars(query))


def live_document(session: Session) -> LiveDeadlines:
    """The live document, its text and its version (None: the defaults file)."""
    row = live_row(session)
    if row is None:
        text = DEFAULT_DEADLINES_FILE.read_text(encoding="utf-8")
        return LiveDeadlines(None, _defaults_document(), text, _defaults())
    try:
        validate_deadlines(row.document)  # not the cache: the page names the problems every time
    except InvalidDeadlines as invalid:
        return LiveDeadlines(row.version, row.document, row.source, _in_force(row), invalid.problems)
    return LiveDeadlines(row.version, row.document, row.source, _parsed(row.checksum, row.document))


def live_deadlines(session: Session) -> DeadlinesDocument:
    """The deadline rules in force: the newest saved version, else the validated defaults file.

    Cheap enough for every sweep: one indexed read of the newest version's checksum; the parsed document
    is kept per checksum, so a version is validated once per process.
    """
    newest = session.execute(
        select(DeadlineRulesVersion.checksum, DeadlineRulesVersion.version)
        .order_by(DeadlineRulesVersion.version.desc())
        .limit(1)
    ).first()
    if newest is None:
        return _defaults()
    cached = _CACHE.get(newest.checksum)
    if cached is not None:
        return cached
    row = version_row(session, newest.version)
    assert row is not None
    return _in_force(row)


def _in_force(row: DeadlineRulesVersion) -> DeadlinesDocument:
    """The row's rules; should they no longer pass the checks, the defaults, so deadlines stay watched."""
    try:
        return _parsed(row.checksum, row.document)
    except InvalidDeadlines as invalid:
        log.error(
            "deadline rules version %s no longer passes the checks (%s): the defaults apply",
            row.version,
            invalid,
        )
        defaults = _defaults()
        with _CACHE_LOCK:
            _CACHE[row.checksum] = defaults  # said once per process, not on every sweep
        return defaults


# ---------------------------------------------------------------- the per-process cache of parsed documents

_CACHE: dict[str, DeadlinesDocument] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 16  # versions differ rarely; a few cover a rollback and several databases (tests)
_DEFAULTS_KEY = "defaults-file"


def _parsed(key: str, document: dict[str, Any]) -> DeadlinesDocument:
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    parsed = validate_deadlines(document)
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = parsed
    return parsed


def _defaults_document(path: Path = DEFAULT_DEADLINES_FILE) -> dict[str, Any]:
    return read_document(path.read_text(encoding="utf-8"))


def _defaults() -> DeadlinesDocument:
    return _parsed(_DEFAULTS_KEY, _defaults_document())
