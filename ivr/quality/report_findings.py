"""What the month's reviews found: the reviewers' most frequent findings and the most failed questions."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Review, ScorecardVersion

TOP_FINDINGS = 10

_FAILED_ANSWERS = {"fail", "failed", "no", "false", "0"}
_NOT_APPLICABLE = {"na", "n/a", ""}
_FINDING_SPLIT = re.compile(r"[;；。！？!?]+|\.(?:\s+|$)")
_FINDING_BULLET = re.compile(r"^(?:[-*•·]|\d+[.)、])\s*")


@dataclass(frozen=True)
class Finding:
    """A phrase of the reviewers' findings and in how many reviews it was written."""

    text: str
    reviews: int


@dataclass(frozen=True)
class FailedQuestion:
    """A scorecard question and how often it was failed, of the reviews that answered it."""

    question: str
    label: str
    failed: int
    answered: int


def finding_phrases(findings: str) -> list[str]:
    """The separate points of a reviewer's findings: split at line ends and sentence ends, bullets off."""
    phrases = []
    for line in (findings or "").splitlines():
        for part in _FINDING_SPLIT.split(_FINDING_BULLET.sub("", line.strip())):
            phrase = " ".join(part.split()).strip(" ,，、:：")
            if phrase:
                phrases.append(phrase)
    return phrases


def top_findings(reviews: list[tuple[Review, int | None]]) -> list[Finding]:
    """The phrases written in the most reviews (a phrase counts once per review), most frequent first."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for review, _ in reviews:
        seen = set()
        for phrase in finding_phrases(review.findings):
            key = phrase.casefold()
            spelling.setdefault(key, phrase)
            seen.add(key)
        counts.update(seen)  # a phrase counts once per review
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FINDINGS]
    return [Finding(spelling[key], count) for key, count in ranked]


def is_failed_answer(value: Any) -> bool:
    """A scorecard answer that fails its question: "fail"/"no"/false, or a score of 0."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, dict):  # {"value": ..., "note": ...}
        return is_failed_answer(value.get("value", value.get("score")))
    return str(value).strip().casefold() in _FAILED_ANSWERS


def _is_answered(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, dict):
        return _is_answered(value.get("value", value.get("score")))
    return isinstance(value, bool | int | float) or str(value).strip().casefold() not in _NOT_APPLICABLE


def failed_questions(session: Session, reviews: list[tuple[Review, int | None]]) -> list[FailedQuestion]:
    """The questions failed most often, with their wording from the scorecard versions the reviews used."""
    failed: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    versions = set()
    for review, _ in reviews:
        versions.add(review.scorecard_version)
        for question, value in (review.answers or {}).items():
            if _is_answered(value):
                answered[question] += 1
                failed[question] += is_failed_answer(value)
    labels: dict[str, str] = {}
    if versions:
        documents = session.scalars(
            select(ScorecardVersion.document)
            .where(ScorecardVersion.version.in_(versions))
            .order_by(ScorecardVersion.version.desc())
        )
        for document in documents:
            for question, label in _question_labels(document):
                labels.setdefault(question, label)
    ranked = sorted((q for q in failed if failed[q]), key=lambda q: (-failed[q], q))[:TOP_FINDINGS]
    return [FailedQuestion(q, labels.get(q, q), failed[q], answered[q]) for q in ranked]


def _question_labels(node: Any) -> Iterator[tuple[str, str]]:
    """(id, text) of every question in a scorecard document, whatever its nesting."""
    if isinstance(node, dict):
        keys = ("text", "label", "title", "question")
        wording = next((node[k] for k in keys if isinstance(node.get(k), str)), None)
        if isinstance(node.get("id"), str) and wording and "questions" not in node:  # not a section
            yield node["id"], wording
        for value in node.values():
            yield from _question_labels(value)
    elif isinstance(node, list):
        for value in node:
            yield from _question_labels(value)
