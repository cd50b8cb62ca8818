"""Working drafts of the menu and the routing rules: edit, validate, publish, roll back; each change audited.

One draft per kind in `config_drafts`. Without a stored draft the editor shows the live version (nothing is
written until the first edit). Publishing stores the draft with the existing publish functions, deletes it
and writes the audit entry in the caller's one transaction; versions are only ever added, and a rollback
publishes an earlier version's document again. A draft whose base version is no longer live is refused
until the supervisor starts again from the live version: nobody's publication is silently overwritten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.configuration.edit_values import EditRefused
from ivr.configuration.menu_edits import apply_menu_edit
from ivr.configuration.menus.store import checksum
from ivr.configuration.menus.store import publish as publish_menu
from ivr.configuration.menus.validation import InvalidMenu, Problem, validate_document
from ivr.configuration.rules.store import publish_rules
from ivr.configuration.rules.validation import InvalidRules, validate_rules
from ivr.configuration.rules_edits import apply_rules_edit
from ivr.db.models import ConfigDraft, MenuVersion, RulesVersion, utcnow

Document = dict[str, Any]


@dataclass(frozen=True)
class DocumentKind:
    """What differs between the menu and the rules: their versions table, publish, checks and edits."""

    name: str
    model: type[MenuVersion] | type[RulesVersion]
    publish: Callable[..., int]
    apply: Callable[[Document, dict[str, Any]], tuple[Document, str]]
    validate: Callable[[Document], Any]


KINDS = {
    "menu": DocumentKind("menu", MenuVersion, publish_menu, apply_menu_edit, validate_document),
    "rules": DocumentKind("rules", RulesVersion, publish_rules, apply_rules_edit, validate_rules),
}


class ConsoleRefused(Exception):
    """A console change that was not made, with the HTTP status that fits and every problem found."""

    status = 400

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class InvalidDraft(ConsoleRefused):
    """The document has problems: it cannot be published."""


class StaleDraft(ConsoleRefused):
    """Someone published since the draft was started."""

    status = 409


class DraftChanged(ConsoleRefused):
    """The draft changed since the page last saw it (another supervisor's edit)."""

    status = 409


class NothingToPublish(ConsoleRefused):
    """The draft is the live version."""

    status = 409


class UnknownVersion(ConsoleRefused):
    """No such version."""

    status = 404


@dataclass(frozen=True)
class Draft:
    """The working document of a kind as the editor shows it."""

    kind: str
    document: Document
    base_version: int
    live_version: int
    stored: bool  # False: no edit yet, this is the live version's document
    updated_by: str | None
    updated_at: datetime | None

    @property
    def stale(self) -> bool:
        """Someone published after this draft was started."""
        return self.base_version != self.live_version

    @property
    def revision(self) -> str:
        """What the page saw: a later edit by someone else changes it."""
        return (
            f"{self.base_version}:{checksum(self.document)[:16]}"
            if self.stored
            else f"live:{self.base_version}"
        )


def kind_of(name: str) -> DocumentKind:
    """The document kind named `name` (menu or rules)."""
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownVersion(f"there is no document kind {name!r}: menu or rules") from None


def problems_of(kind: str, document: Document) -> list[Problem]:
    """Every problem with a document, named as `check-config` and `publish` name them (none: publishable)."""
    try:
        kind_of(kind).validate(document)
    except (InvalidMenu, InvalidRules) as invalid:
        return list(invalid.problems)
    return []


def live_row(session: Session, kind: str) -> MenuVersion | RulesVersion:
    """The live (newest) version of a kind."""
    model = kind_of(kind).model
    newest = select(model).order_by(model.version.desc()).limit(1)
    row = cast(MenuVersion | RulesVersion | None, session.scalar(newest))
    if row is None:
        raise UnknownVersion(f"no {kind} has been published yet: run `python run.py init-db`")
    return row


def version_row(session: Session, kind: str, version: int) -> MenuVersion | RulesVersion:
    """One stored version of a kind."""
    row = cast(MenuVersion | RulesVersion | None, session.get(kind_of(kind).model, version))
    if row is None:
        raise UnknownVersion(f"there is no {kind} version {version}")
    return row


def versions(session: Session, kind: str) -> list[MenuVersion | RulesVersion]:
    """Every stored version of a kind, newest first."""
    model = kind_of(kind).model
    return list(session.scalars(select(model).order_by(model.version.desc())))


def current_draft(session: Session, kind: str) -> Draft:
    """The stored draft, or the live version's document when nobody has edited yet."""
    live = live_row(session, kind)
    row = session.get(ConfigDraft, kind)
    if row is None:
        return Draft(kind, copy.deepcopy(live.document), live.version, live.version, False, None, None)
    return Draft(kind, row.document, row.base_version, live.version, True, row.updated_by, row.updated_at)


def edit_draft(
    session: Session, kind: str, who: str, operation: dict[str, Any], *, revision: str | None = None
) -> tuple[Draft, str]:
    """Apply one editor operation to the draft (starting it from live if needed); audited."""
    draft = _locked_draft(session, kind, revision)
    document, said = kind_of(kind).apply(draft.document, operation)
    return _save(session, draft, who, document, "edit_draft", said), said


def replace_draft(
    session: Session, kind: str, who: str, document: Any, *, revision: str | None = None
) -> Draft:
    """The whole draft document from the raw editor; audited."""
    if not isinstance(document, dict):
        raise EditRefused("the document must be a table (a JSON object or a TOML document)")
    draft = _locked_draft(session, kind, revision)
    return _save(session, draft, who, document, "replace_draft", "the whole document (raw editor)")


def discard_draft(session: Session, kind: str, who: str, *, action: str = "discard") -> None:
    """Throw the draft away: the editor shows the live version again; audited."""
    row = _locked_row(session, kind)
    if row is None:
        raise NothingToPublish("there is no draft: the editor already shows the live version")
    live = live_row(session, kind)
    subject = (
        f"draft based on version {row.base_version}; started again from live version {live.version}"
        if action == "restart"
        else f"draft based on version {row.base_version}"
    )
    log_change(session, who, kind, action, subject, before=row.document, after=None)
    session.delete(row)
    session.flush()


def publish_draft(session: Session, kind: str, who: str, note: str = "") -> int:
    """Make the draft the live version: stored, draft deleted and audited together, or nothing at all."""
    row = _locked_row(session, kind)
    if row is None:
        raise NothingToPublish("there is no draft: the editor shows the live version, nothing to publish")
    live = live_row(session, kind)
    if row.base_version != live.version:
        raise StaleDraft(
            f"version {live.version} was published by {live.created_by} after this draft was started from"
            f" version {row.base_version}: start again from the live version (your changes are in the"
            " change log)"
        )
    if checksum(row.document) == live.checksum:
        raise NothingToPublish("the draft is the same as the live version: nothing to publish")
    problems = problems_of(kind, row.document)
    if problems:
        raise InvalidDraft(f"the draft has {len(problems)} problem(s): it cannot be published", problems)
    document = row.document
    version = kind_of(kind).publish(session, document, created_by=who, note=note.strip()[:500])
    subject = f"version {version}" + (f": {note.strip()}" if note.strip() else "")
    log_change(session, who, kind, "publish", subject, before=live.document, after=document)
    session.delete(row)
    session.flush()
    return version


def rollback(session: Session, kind: str, who: str, version: int, note: str = "") -> int:
    """Publish an earlier version's document again, as a new version; audited. A draft becomes stale."""
    old = version_row(session, kind, version)
    live = live_row(session, kind)
    if old.version == live.version:
        raise NothingToPublish(f"version {version} is the live version already")
    problems = problems_of(kind, old.document)
    if problems:
        raise InvalidDraft(
            f"version {version} no longer passes validation (the prompts changed since?): it cannot be"
            " published again",
            problems,
        )
    said = f"rollback to v{version}" + (f": {note.strip()}" if note.strip() else "")
    new = kind_of(kind).publish(session, copy.deepcopy(old.document), created_by=who, note=said[:500])
    log_change(
        session, who, kind, "rollback", f"version {new}: {said}", before=live.document, after=old.document
    )
    return new


def _locked_row(session: Session, kind: str) -> ConfigDraft | None:
    # FOR UPDATE: two supervisors saving or publishing the same draft at once take turns (PostgreSQL).
    return session.scalar(select(ConfigDraft).where(ConfigDraft.kind == kind).with_for_update())


def _locked_draft(session: Session, kind: str, revision: str | None) -> Draft:
    kind_of(kind)
    _locked_row(session, kind)
    draft = current_draft(session, kind)
    if revision is not None and revision != draft.revision:
        who = draft.updated_by or "someone"
        raise DraftChanged(f"the draft was changed by {who} meanwhile: reload the page to see their edit")
    return draft


def _save(session: Session, draft: Draft, who: str, document: Document, action: str, said: str) -> Draft:
    if document == draft.document:
        return draft
    row = session.get(ConfigDraft, draft.kind)
    now = utcnow()
    if row is None:
        row = ConfigDraft(
            kind=draft.kind,
            base_version=draft.base_version,
            document=document,
            updated_by=who,
            updated_at=now,
        )
        session.add(row)
    else:
        row.document = document
        row.updated_by = who
        row.updated_at = now
    log_change(session, who, draft.kind, action, said, before=draft.document, after=document)
    session.flush()
    return Draft(draft.kind, document, draft.base_version, draft.live_version, True, who, now)
