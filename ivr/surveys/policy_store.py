"""The live call-back sampling policy in the database: publish the next version, read the newest one.

Each published policy is a numbered SamplingPolicyVersion row, never changed afterwards; the newest is
the one the daily draw applies (ivr/surveys/draws.py), and the shipped default (version 0) stands in while
none is published. The document itself is checked by ivr/surveys/policy.py; docs/callbacks.md."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import SamplingPolicyVersion
from ivr.surveys.policy import DEFAULT_POLICY_FILE, Policy, load_policy_file, validate_policy


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
