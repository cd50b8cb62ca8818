"""The deadline rules document: per work-order class, its desk and deadlines; checked, each problem in words.

Layer one is the structure (pydantic); layer two the meaning (every class present, desks that exist and
open, safety round the clock). Like the routing rules (ivr/configuration/rules/), versions are stored
elsewhere; this module only reads, checks and converts a document. See docs/work-orders.md.
"""

from __future__ import annotations

import tomllib
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# one shape for every document's problems
from ivr.configuration.menus.validation import Problem, structure_problems
from ivr.work_orders import lifecycle
from ivr.work_orders.due_times import DeadlineRule, Span
from routing.hours import parse_range
from routing.model import Calendar

DEFAULT_DEADLINES_FILE = Path(__file__).with_name("default_deadlines.toml")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
CLASSES = lifecycle.WORK_CLASSES  # the work-order classes, each of which needs its rules
SAFETY_CLASSES = ("gas_leak", "safety_complaint")  # their deadlines run round the clock
KINDS = ("handover", "on_site", "result", "answer", "follow_up")
# The stages whose time may start a deadline's clock.
STARTS = (lifecycle.OPENED, lifecycle.HANDED_OVER, lifecycle.ACCEPTED, lifecycle.HANDLED)

Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
SpanText = Annotated[str, Field(pattern=r"^[1-9]\d{0,3}[mhd]$")]  # 30m, 4h, 1d
HourRange = Annotated[str, Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")]  # parsed in layer two
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Share = Annotated[float, Field(gt=0, lt=1)]


class InvalidDeadlines(ValueError):
    """A deadline rules document that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Desk(_Strict):
    """A desk that work orders go to, with the calendar its working-time deadlines count in."""

    timezone: str = "Asia/Shanghai"
    hours: dict[Day, list[HourRange]] = {}
    holidays: list[date] = []
    always_open: bool = False


class Deadline(_Strict):
    """One deadline: how long, counted from which stage, in working time or round the clock."""

    within: SpanText
    starts: Literal["opened", "handed_over", "accepted", "handled"] = "opened"
    clock: Literal["working", "round_the_clock"]
    warning_share: Share | None = None  # None: the document's warning_share
    supervisor_after: SpanText  # past the due time (shift lead), the supervisor is told


class WorkOrderClass(_Strict):
    """A work-order class: the desk it goes to and the deadlines that apply to it."""

    desk: Name
    deadlines: dict[Literal["handover", "on_site", "result", "answer", "follow_up"], Deadline]


class DeadlinesDocument(_Strict):
    """A whole deadline rules document."""

    schema_version: Literal[1]
    warning_share: Share = 0.75
    desks: dict[Name, Desk]
    classes: dict[Name, WorkOrderClass]


def parse_document(raw: dict[str, Any]) -> DeadlinesDocument:
    """Layer one: the structure. Raises InvalidDeadlines naming each field that is wrong."""
    try:
        return DeadlinesDocument.model_validate(raw)
    except ValidationError as error:
        raise InvalidDeadlines(structure_problems(error, "deadlines")) from None


def meaning_problems(document: DeadlinesDocument) -> list[Problem]:
    """Layer two: desks' calendars, every class present with a known desk and a deadline, safety 24 hours."""
    problems: list[Problem] = []
    for name, desk in document.desks.items():
        problems += _desk_problems(f"desks.{name}", desk)
    missing = [name for name in CLASSES if name not in document.classes]
    if missing:
        problems.append(
            Problem("classes", f"missing class(es) {', '.join(missing)}: every class needs its rules")
        )
    for name, rules in document.classes.items():
        where = f"classes.{name}"
        if name not in CLASSES:
            problems.append(Problem(where, f"unknown class {name!r}; classes are {', '.join(CLASSES)}"))
        if rules.desk not in document.desks:
            known = ", ".join(document.desks) or "none"
            problems.append(Problem(f"{where}.desk", f"desk {rules.desk!r} does not exist (desks: {known})"))
        if not rules.deadlines:
            problems.append(Problem(f"{where}.deadlines", "has no deadline: nobody would watch this class"))
        for kind, deadline in rules.deadlines.items():
            if name in SAFETY_CLASSES and deadline.clock != "round_the_clock":
                problems.append(
                    Problem(f"{where}.deadlines.{kind}", "is a safety deadline: it must run round the clock")
                )
    return problems


def _desk_problems(where: str, desk: Desk) -> list[Problem]:
    problems: list[Problem] = []
    try:
        ZoneInfo(desk.timezone)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError; a malformed key a ValueError
        problems.append(Problem(f"{where}.timezone", f"unknown time zone {desk.timezone!r}"))
    for day, ranges in desk.hours.items():
        parsed: list[tuple[time, time, str]] = []
        for text in ranges:
            try:
                parsed.append((*parse_range(text), text))
            except ValueError as error:
                problems.append(Problem(f"{where}.hours.{day}", str(error)))
        parsed.sort()
        for (_, end, before), (start, _, after) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                problems.append(Problem(f"{where}.hours.{day}", f"ranges {before} and {after} overlap"))
    has_hours = any(desk.hours.values())
    if desk.always_open and has_hours:
        problems.append(Problem(where, "is always_open, so its hours would be ignored: keep one of them"))
    if not desk.always_open and not has_hours:
        problems.append(Problem(where, "has no opening hours and is not always_open: it would never open"))
    return problems


def validate_deadlines(raw: dict[str, Any]) -> DeadlinesDocument:
    """Both layers; returns the document or raises InvalidDeadlines with every problem."""
    document = parse_document(raw)
    problems = meaning_problems(document)
    if problems:
        raise InvalidDeadlines(problems)
    return document


def load_deadlines_file(path: Path = DEFAULT_DEADLINES_FILE) -> dict[str, Any]:
    """Read a deadline rules document from a TOML file (the defaults unless told)."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def desk_calendar(document: DeadlinesDocument, desk: str) -> Calendar:
    """A validated document's desk as the router's calendar, for the due-time calculator."""
    entry = document.desks[desk]
    weekly = {
        DAYS.index(day): tuple(sorted(parse_range(text) for text in ranges))
        for day, ranges in entry.hours.items()
        if ranges
    }
    return Calendar(
        timezone=entry.timezone,
        weekly=weekly,
        holidays=frozenset(entry.holidays),
        always_open=entry.always_open,
    )


def deadline_rule(document: DeadlinesDocument, work_order_class: str, kind: str) -> DeadlineRule:
    """A validated document's deadline of one class as the calculator's rule; KeyError if it has none."""
    deadline = document.classes[work_order_class].deadlines[kind]  # type: ignore[index]  # kind: a KINDS str
    share = deadline.warning_share
    return DeadlineRule(
        within=Span.parse(deadline.within),
        working_time=deadline.clock == "working",
        warning_share=share if share is not None else document.warning_share,
        supervisor_after=Span.parse(deadline.supervisor_after),
    )
