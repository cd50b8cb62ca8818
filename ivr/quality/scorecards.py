"""The quality scorecard document: reading and validating it, checking answers and the score maths (pure).

The document has sections, questions, weights, N/A and automatic fails. Its stored versions are
ivr/quality/scorecard_versions.py.

Scores: each question is answered with a whole percentage 0-100 (the review page offers pass 100,
partial 50, fail 0) or "na". The review's score is the weighted mean of the answered questions
(N/A questions drop out of the denominator); an automatic-fail question answered 0 makes it 0.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from ivr.configuration.menus.validation import Problem  # one Problem type for every document check

DEFAULT_SCORECARD_FILE = Path(__file__).with_name("default_scorecard.toml")

NA: Literal["na"] = "na"
PASS, PARTIAL, FAIL = 100, 50, 0  # the steps the review page offers
Answer = int | Literal["na"]

_ID = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_CARD_KEYS = {"name", "sections"}
_SECTION_KEYS = {"id", "title", "questions"}
_QUESTION_KEYS = {"id", "text", "weight", "na_allowed", "auto_fail", "guidance", "examples"}
MAX_QUESTIONS = 100
MAX_TEXT = 500


class InvalidScorecard(ValueError):
    """A scorecard document that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class InvalidAnswers(ValueError):
    """Answers that do not fit the scorecard; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class Question:
    """One question of the card."""

    id: str
    text: str
    weight: float
    na_allowed: bool = False
    auto_fail: bool = False
    guidance: str = ""
    examples: tuple[str, ...] = ()

    def choices(self) -> list[Answer]:
        """The answers the review page offers for this question."""
        steps: list[Answer] = [PASS, FAIL] if self.auto_fail else [PASS, PARTIAL, FAIL]
        return [*steps, NA] if self.na_allowed else steps


@dataclass(frozen=True)
class Section:
    """A titled group of questions."""

    id: str
    title: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Scorecard:
    """A parsed, valid scorecard document."""

    name: str
    sections: tuple[Section, ...]
    _by_id: dict[str, Question] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({q.id: q for s in self.sections for q in s.questions})

    @property
    def questions(self) -> list[Question]:
        """Every question, in order."""
        return [q for s in self.sections for q in s.questions]

    def question(self, question_id: str) -> Question | None:
        """The question with this id, if the card has it."""
        return self._by_id.get(question_id)

    def to_document(self) -> dict[str, Any]:
        """The canonical document (every field written out), as stored in a version."""
        return {
            "name": self.name,
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "questions": [
                        {
                            "id": q.id,
                            "text": q.text,
                            "weight": q.weight,
                            "na_allowed": q.na_allowed,
                            "auto_fail": q.auto_fail,
                            **({"guidance": q.guidance} if q.guidance else {}),
                            **({"examples": list(q.examples)} if q.examples else {}),
                        }
                        for q in s.questions
                    ],
                }
                for s in self.sections
            ],
        }


@dataclass(frozen=True)
class Score:
    """The result of the score maths."""

    score: float  # 0-100, one decimal
    auto_failed: bool
    failed_auto_items: tuple[str, ...] = ()  # the automatic-fail questions answered 0
    counted_weight: float = 0.0  # the denominator: weights of the questions not N/A


# ---------------------------------------------------------------- the document


def read_document(text: str) -> dict[str, Any]:
    """A scorecard document from the editor's text: JSON when it starts with "{", TOML otherwise."""
    stripped = text.strip()
    if not stripped:
        raise InvalidScorecard([Problem("document", "is empty")])
    try:
        if stripped.startswith("{"):
            loaded = json.loads(stripped)
            if not isinstance(loaded, dict):
                raise InvalidScorecard([Problem("document", "must be a JSON object")])
            return loaded
        return tomllib.loads(stripped)
    except json.JSONDecodeError as error:
        raise InvalidScorecard(
            [Problem("document", f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")]
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise InvalidScorecard([Problem("document", f"not valid TOML: {error}")]) from None


def load_scorecard_file(path: Path = DEFAULT_SCORECARD_FILE) -> dict[str, Any]:
    """Read a scorecard document from a TOML or JSON file."""
    return read_document(path.read_text(encoding="utf-8"))


def parse_scorecard(raw: Any) -> Scorecard:
    """The scorecard of a document; raises InvalidScorecard naming every problem."""
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        raise InvalidScorecard([Problem("document", "must be a table (TOML) or an object (JSON)")])
    _unknown_keys(raw, _CARD_KEYS, "document", problems)
    name = _text(raw.get("name"), "name", problems)
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        problems.append(Problem("sections", "must be a non-empty list of sections"))
        sections_raw = []
    sections: list[Section] = []
    seen_sections: set[str] = set()
    seen_questions: dict[str, str] = {}
    for index, section_raw in enumerate(sections_raw):
        where = f"sections[{index}]"
        if not isinstance(section_raw, dict):
            problems.append(Problem(where, "must be a table with id, title and questions"))
            continue
        section_id = _identifier(section_raw.get("id"), where, problems)
        if section_id:
            where = f"sections.{section_id}"
            if section_id in seen_sections:
                problems.append(Problem(where, "the section id is used twice"))
            seen_sections.add(section_id)
        _unknown_keys(section_raw, _SECTION_KEYS, where, problems)
        title = _text(section_raw.get("title"), f"{where}.title", problems)
        questions_raw = section_raw.get("questions")
        if not isinstance(questions_raw, list) or not questions_raw:
            problems.append(Problem(f"{where}.questions", "must be a non-empty list of questions"))
            questions_raw = []
        questions = []
        for q_index, question_raw in enumerate(questions_raw):
            question = _question(question_raw, f"{where}.questions[{q_index}]", seen_questions, problems)
            if question is not None:
                questions.append(question)
        sections.append(Section(id=section_id, title=title, questions=tuple(questions)))
    total = sum(len(s.questions) for s in sections)
    if total > MAX_QUESTIONS:
        problems.append(Problem("sections", f"{total} questions: at most {MAX_QUESTIONS}"))
    if sections and all(s.questions for s in sections) and sum(q.weight for q in _all(sections)) <= 0:
        problems.append(Problem("sections", "the weights add up to 0: nothing could ever be scored"))
    if problems:
        raise InvalidScorecard(problems)
    return Scorecard(name=name, sections=tuple(sections))


def _all(sections: list[Section]) -> list[Question]:
    return [q for s in sections for q in s.questions]


def _question(raw: Any, where: str, seen: dict[str, str], problems: list[Problem]) -> Question | None:
    if not isinstance(raw, dict):
        problems.append(Problem(where, "must be a table with id, text and weight"))
        return None
    question_id = _identifier(raw.get("id"), where, problems)
    if question_id:
        where = f"questions.{question_id}"
        if question_id in seen:
            problems.append(Problem(where, f"the question id is used twice (also in {seen[question_id]})"))
        seen.setdefault(question_id, where)
    _unknown_keys(raw, _QUESTION_KEYS, where, problems)
    text = _text(raw.get("text"), f"{where}.text", problems)
    weight = raw.get("weight")
    weight_ok = False
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        problems.append(Problem(f"{where}.weight", f"must be a number, not {weight!r}"))
        weight = 0
    elif weight < 0:
        problems.append(Problem(f"{where}.weight", f"must be 0 or more, not {weight}"))
        weight = 0
    else:
        weight_ok = True
    flags = {}
    for flag in ("na_allowed", "auto_fail"):
        value = raw.get(flag, False)
        if not isinstance(value, bool):
            problems.append(Problem(f"{where}.{flag}", f"must be true or false, not {value!r}"))
            value = False
        flags[flag] = value
    if weight_ok and weight == 0 and not flags["auto_fail"]:
        problems.append(
            Problem(
                f"{where}.weight", "is 0, so the question counts for nothing (only an auto_fail may be 0)"
            )
        )
    guidance = raw.get("guidance", "")
    if not isinstance(guidance, str) or len(guidance) > MAX_TEXT:
        problems.append(Problem(f"{where}.guidance", f"must be a text of at most {MAX_TEXT} characters"))
        guidance = ""
    examples = raw.get("examples", [])
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        problems.append(Problem(f"{where}.examples", "must be a list of non-empty texts"))
        examples = []
    return Question(
        id=question_id,
        text=text,
        weight=weight,
        na_allowed=flags["na_allowed"],
        auto_fail=flags["auto_fail"],
        guidance=guidance.strip(),
        examples=tuple(e.strip() for e in examples),
    )


def _identifier(value: Any, where: str, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        problems.append(
            Problem(
                f"{where}.id", f"must be lower-case letters, digits and _ (starting with a letter): {value!r}"
            )
        )
        return ""
    return value


def _text(value: Any, where: str, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem(where, "must be a non-empty text"))
        return ""
    if len(value) > MAX_TEXT:
        problems.append(Problem(where, f"is {len(value)} characters: at most {MAX_TEXT}"))
    return value.strip()


def _unknown_keys(raw: dict[str, Any], known: set[str], where: str, problems: list[Problem]) -> None:
    for key in raw:
        if key not in known:
            problems.append(Problem(where, f"unknown field {key!r} (fields: {', '.join(sorted(known))})"))


# ---------------------------------------------------------------- answers and the score maths


def check_answers(
    card: Scorecard, given: Mapping[str, Any], *, version: int | None = None
) -> dict[str, Answer]:
    """The answers as stored (question id -> 0-100 or "na"); raises InvalidAnswers naming every problem."""
    problems: list[Problem] = []
    which = f"scorecard version {version}" if version is not None else "the scorecard"
    for question_id in given:
        if card.question(question_id) is None:
            problems.append(Problem(f"answers.{question_id}", f"is not a question on {which}"))
    answers: dict[str, Answer] = {}
    for question in card.questions:
        where = f"answers.{question.id}"
        value = given.get(question.id)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems.append(Problem(where, "has no answer"))
            continue
        answer = _answer(value)
        if answer is None:
            problems.append(Problem(where, f"{value!r} is not a score: give a whole number 0 to 100, or na"))
        elif answer == NA:
            if not question.na_allowed:
                problems.append(Problem(where, "N/A is not allowed on this question"))
            else:
                answers[question.id] = NA
        elif not 0 <= answer <= 100:
            problems.append(Problem(where, f"{answer} is out of range: give 0 to 100, or na"))
        elif question.auto_fail and answer not in (PASS, FAIL):
            problems.append(
                Problem(where, f"an automatic-fail question is {PASS} (pass) or {FAIL} (fail), not {answer}")
            )
        else:
            answers[question.id] = answer
    if problems:
        raise InvalidAnswers(problems)
    return answers


def _answer(value: Any) -> Answer | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("na", "n/a"):
            return NA
        if re.fullmatch(r"[+-]?\d{1,6}", text):
            return int(text)
    return None


def compute_score(card: Scorecard, answers: Mapping[str, Answer]) -> Score:
    """The review's score from checked answers: weighted mean of the answered questions, 0 on an auto-fail.

    N/A questions drop out of both sides of the mean. Raises InvalidAnswers when nothing counts
    (every question N/A or weighing 0) and no automatic-fail item was failed.
    """
    failed = tuple(q.id for q in card.questions if q.auto_fail and answers.get(q.id) == FAIL)
    counted = Fraction(0)
    earned = Fraction(0)
    for question in card.questions:
        answer = answers[question.id]
        if answer == NA:
            continue
        weight = Fraction(question.weight)
        counted += weight
        earned += weight * answer
    if failed:
        return Score(score=0.0, auto_failed=True, failed_auto_items=failed, counted_weight=float(counted))
    if counted == 0:
        raise InvalidAnswers(
            [Problem("answers", "every question counted is N/A (or weighs 0): nothing to score")]
        )
    mean = (
        Decimal(earned.numerator)
        / Decimal(earned.denominator)
        / (Decimal(counted.numerator) / Decimal(counted.denominator))
    )
    return Score(
        score=float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)),
        auto_failed=False,
        counted_weight=float(counted),
    )
