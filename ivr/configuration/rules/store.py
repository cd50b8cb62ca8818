"""Routing rules versions in the database, and an in-process cache of the live one."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.configuration.menus.store import checksum
from ivr.configuration.rules.convert import to_rules
from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file, validate_rules
from ivr.db.deadline import bounded
from ivr.db.models import RulesVersion
from routing.model import Rules


def publish_rules(
    session: Session, document: dict[str, Any], *, created_by: str = "system", note: str = ""
) -> int:
    """Validate a rules document and store it as the next (live) version."""
    validate_rules(document)
    latest = session.scalar(select(func.max(RulesVersion.version))) or 0
    row = RulesVersion(
        version=latest + 1, document=document, checksum=checksum(document), created_by=created_by, note=note
    )
    session.add(row)
    session.flush()
    return row.version


def seed_default_rules(session: Session) -> int | None:
    """Store the shipped default rules as version 1 when none exist yet."""
    if session.scalar(select(func.count()).select_from(RulesVersion)):
        return None
    return publish_rules(session, load_rules_file(DEFAULT_RULES_FILE), note="default rules shipped")


def live_rules_row(session: Session) -> RulesVersion | None:
    """The newest rules version."""
    return session.scalar(select(RulesVersion).order_by(RulesVersion.version.desc()).limit(1))


class RulesCache:
    """The live rules, parsed; re-read every few seconds, the last known kept through an outage."""

    def __init__(self, factory: sessionmaker[Session], refresh_seconds: float = 5.0):
        self._factory = factory
        self._refresh = refresh_seconds
        self._rules: Rules | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def _read_live(self) -> RulesVersion | None:
        with self._factory() as session:
            return live_rules_row(session)

    def live(self) -> Rules:
        """The rules new routing decisions use."""
        now = time.monotonic()
        if self._rules is None or now - self._checked_at > self._refresh:
            try:
                row = bounded(self._read_live)  # a webhook waits its budget at most, then the last known
                if row is None:
                    raise LookupError("no routing rules published: run `python run.py init-db`")
                if self._rules is None or self._rules.version != row.version:
                    rules = to_rules(validate_rules(row.document), row.version)
                    with self._lock:
                        self._rules = rules
                self._checked_at = now
            except LookupError:
                raise
            except Exception:
                if self._rules is None:
                    raise
        assert self._rules is not None
        return self._rules
