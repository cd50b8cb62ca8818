"""Publishing a sampling policy as a person, with its change-log entry in the same transaction.

The next version is published only when it changes something and nobody published meanwhile
(docs/callbacks.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import SamplingPolicyVersion
from ivr.surveys.policy import DEFAULT_POLICY_FILE, load_policy_file, validate_policy
from ivr.surveys.policy_store import publish_policy

CHANGE_KIND = "callback_policy"


class PolicyConflict(Exception):
    """Another version was published since the person loaded the one they changed."""

    def __init__(self, based_on: int, live: int):
        self.based_on, self.live = based_on, live
        super().__init__(
            f"另一位主管刚发布了第 {live} 版 / version {live} was published since you opened version "
            f"{based_on}: check it, then save again"
        )


def live_document(session: Session) -> tuple[int, dict[str, Any]]:
    """The live version's number and document (0 and the shipped default while none is published)."""
    row = session.scalar(
        select(SamplingPolicyVersion).order_by(SamplingPolicyVersion.version.desc()).limit(1)
    )
    if row is None:
        return 0, load_policy_file(DEFAULT_POLICY_FILE)
    return row.version, dict(row.document)


def document_of(session: Session, version: int) -> dict[str, Any] | None:
    """A stored version's document (0: the shipped default); None when there is no such version."""
    if version == 0:
        return load_policy_file(DEFAULT_POLICY_FILE)
    row = session.get(SamplingPolicyVersion, version)
    return None if row is None else dict(row.document)


def publish_as(
    session: Session, document: dict[str, Any], *, who: str, based_on: int | None, action: str = "publish"
) -> int | None:
    """Store `document` as the next version and log it; None (nothing stored) when it equals the live one.

    InvalidPolicy names every problem; PolicyConflict when `based_on` is no longer the live version.
    Flushes; the caller commits (two people at once: the second insert of the same version fails whole).
    """
    validate_policy(document)
    live, before = live_document(session)
    if based_on is not None and based_on != live:
        raise PolicyConflict(based_on, live)
    if document == before:
        return None
    version = publish_policy(session, document, created_by=who)
    log_change(
        session,
        who,
        CHANGE_KIND,
        action,
        f"version {version}",
        before=before,  # the shipped default too: the entry shows what changed
        after=document,
    )
    return version
