"""Menu versions in the database: seed, publish, read; and an in-process cache of parsed versions."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ivr.configuration.menus.schema import MenuDocument
from ivr.configuration.menus.validation import load_menu_file, validate_document
from ivr.db.deadline import bounded
from ivr.db.models import MenuVersion


def checksum(document: dict[str, Any]) -> str:
    """A stable fingerprint of a document."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def publish(session: Session, document: dict[str, Any], *, created_by: str = "system", note: str = "") -> int:
    """Validate a document and store it as the next (live) version; returns the version number."""
    menu = validate_document(document)
    latest = session.scalar(select(func.max(MenuVersion.version))) or 0
    row = MenuVersion(
        version=latest + 1,
        schema_version=1,
        name=menu.name,
        document=document,
        checksum=checksum(document),
        created_by=created_by,
        note=note,
    )
    session.add(row)
    session.flush()
    return row.version


def seed_default_menu(session: Session) -> int | None:
    """Store the shipped default menu as version 1 when no menu exists yet."""
    if session.scalar(select(func.count()).select_from(MenuVersion)):
        return None
    return publish(session, load_menu_file(), note="default menu shipped with the application")


def live_version(session: Session) -> MenuVersion | None:
    """The menu version new calls start with."""
    return session.scalar(select(MenuVersion).order_by(MenuVersion.version.desc()).limit(1))


class MenuCache:
    """Parsed menu versions by number. Versions never change, so a parsed one is kept for good;
    the live version number is refreshed every few seconds; the last known one survives an outage."""

    def __init__(self, factory: sessionmaker[Session], refresh_seconds: float = 5.0):
        self._factory = factory
        self._refresh = refresh_seconds
        self._menus: dict[int, MenuDocument] = {}
        self._live: int | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self, version: int) -> MenuDocument:
        """The menu of `version`; raises KeyError if there is no such version."""
        menu = self._menus.get(version)
        if menu is not None:
            return menu
        row = bounded(lambda: self._read(version))  # a webhook waits its budget at most (ivr/db/deadline.py)
        if row is None:
            raise KeyError(version)
        return self._remember(row)

    def live(self) -> tuple[int, MenuDocument]:
        """The live version and its menu."""
        now = time.monotonic()
        if self._live is None or now - self._checked_at > self._refresh:
            try:
                row = bounded(self._read_live)  # a webhook waits its budget at most, then the last known
                if row is None:
                    raise LookupError("no menu has been published: run `python run.py init-db`")
                self._remember(row)
                self._live = row.version
                self._checked_at = now
            except LookupError:
                raise
            except Exception:
                if self._live is None:
                    raise
        assert self._live is not None
        return self._live, self._menus[self._live]

    def _read(self, version: int) -> MenuVersion | None:
        with self._factory() as session:
            return session.get(MenuVersion, version)

    def _read_live(self) -> MenuVersion | None:
        with self._factory() as session:
            return live_version(session)

    def expire(self) -> None:
        """Look the live version up again on the next call (this process has just published one)."""
        self._checked_at = float("-inf")

    def _remember(self, row: MenuVersion) -> MenuDocument:
        menu = validate_document(row.document)
        with self._lock:
            self._menus[row.version] = menu
        return menu
