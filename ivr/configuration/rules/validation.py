"""Routing rules validation: structure (schema) then references, each problem named in words."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from ivr.configuration.menus.validation import Problem, structure_problems
from ivr.configuration.rules.schema import Filter, Group, Match, RulesDocument, Step
from routing.hours import parse_range
from routing.model import SKILLS

DEFAULT_RULES_FILE = Path(__file__).with_name("default_rules.toml")
SAFETY_SKILL = "safety"


class InvalidRules(ValueError):
    """A routing rules document that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def parse_document(raw: dict[str, Any]) -> RulesDocument:
    """Layer one: the structure. Raises InvalidRules naming each field that is wrong."""
    try:
        return RulesDocument.model_validate(raw)
    except ValidationError as error:
        raise InvalidRules(structure_problems(error, "rules")) from None


def reference_problems(rules: RulesDocument) -> list[Problem]:
    """Layer two: calendars, steps, groups, the default filter, the safety filter, shadowed filters."""
    problems: list[Problem] = []
    for name, group in rules.groups.items():
        problems += _group_problems(f"groups.{name}", group)
    names: dict[str, int] = {}
    for position, rule in enumerate(rules.filters):
        if rule.name in names:
            problems.append(
                Problem(f"filters.{position}", f"name {rule.name!r} is taken by filter {names[rule.name]}")
            )
        names.setdefault(rule.name, position)
        problems += _filter_problems(rules, rule)
    problems += _order_problems(rules.filters)
    problems += _safety_problems(rules)
    return problems


def _group_problems(where: str, group: Group) -> list[Problem]:
    problems: list[Problem] = []
    try:
        ZoneInfo(group.timezone)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError; a malformed key a ValueError
        problems.append(Problem(f"{where}.timezone", f"unknown time zone {group.timezone!r}"))
    for day, ranges in group.hours.items():
        parsed = []
        for text in ranges:
            try:
                parsed.append((*parse_range(text), text))
            except ValueError as error:
                problems.append(Problem(f"{where}.hours.{day}", str(error)))
        parsed.sort()
        for (_, end, before), (start, _, after) in zip(parsed, parsed[1:], strict=False):
            if start < end:
                problems.append(Problem(f"{where}.hours.{day}", f"ranges {before} and {after} overlap"))
    has_hours = any(group.hours.values())
    if group.always_open and has_hours:
        problems.append(Problem(where, "is always_open, so its hours would be ignored: keep one of them"))
    if not group.always_open and not has_hours:
        problems.append(Problem(where, "has no opening hours and is not always_open: it would never open"))
    return problems


def _step_problems(where: str, step: Step, rules: RulesDocument) -> list[Problem]:
    problems: list[Problem] = []
    if step.skill not in SKILLS:
        problems.append(Problem(where, f"skill {step.skill!r} is unknown; skills are {', '.join(SKILLS)}"))
    if step.group is not None and step.group not in rules.groups:
        problems.append(Problem(where, f"group {step.group!r} does not exist"))
    return problems


def _filter_problems(rules: RulesDocument, rule: Filter) -> list[Problem]:
    where = f"filters.{rule.name}"
    problems: list[Problem] = []
    if not rule.steps:
        problems.append(Problem(where, "has no steps: its calls could never reach an agent"))
    last = len(rule.steps) - 1
    for position, step in enumerate(rule.steps):
        step_where = f"{where}.steps.{position}"
        problems += _step_problems(step_where, step, rules)
        if position < last and step.timeout_seconds is None:
            problems.append(
                Problem(
                    step_where, "has no timeout, which only the last step may lack: the rest is unreachable"
                )
            )
        if position == last and step.timeout_seconds is not None:
            problems.append(
                Problem(
                    step_where, "is the last step and lasts until the call is answered: remove the timeout"
                )
            )
    after = rule.after_hours
    if after is not None:
        after_where = f"{where}.after_hours"
        if after.action == "step" and after.step is None:
            problems.append(Problem(after_where, 'action "step" needs a step to route by'))
        if after.action == "voicemail" and after.step is not None:
            problems.append(Problem(after_where, 'a step is only used with action "step"'))
        if after.action == "step" and after.step is not None:
            problems += _step_problems(f"{after_where}.step", after.step, rules)
            group = rules.groups.get(after.step.group or "")
            if after.step.group in {s.group for s in rule.steps} and not (group and group.always_open):
                problems.append(
                    Problem(
                        f"{after_where}.step",
                        f"uses group {after.step.group!r}, closed whenever the steps it stands in for are",
                    )
                )
    return problems


def covers(first: Match, later: Match) -> bool:
    """Whether every call `later` admits is admitted by `first` too (so `later` never sees it)."""
    pairs: list[tuple[list[Any] | None, list[Any] | None]] = [
        (first.intents, later.intents),
        (first.languages, later.languages),
        (first.customer_classes, later.customer_classes),
    ]
    sets_covered = all(a is None or (b is not None and set(b) <= set(a)) for a, b in pairs)
    return sets_covered and (first.emergency is None or first.emergency == later.emergency)


def overlaps(first: Match, other: Match) -> bool:
    """Whether some call is admitted by both."""
    pairs: list[tuple[list[Any] | None, list[Any] | None]] = [
        (first.intents, other.intents),
        (first.languages, other.languages),
        (first.customer_classes, other.customer_classes),
    ]
    sets_meet = all(a is None or b is None or set(a) & set(b) for a, b in pairs)
    emergency_meets = first.emergency is None or other.emergency is None or first.emergency == other.emergency
    return sets_meet and emergency_meets


def _order_problems(filters: list[Filter]) -> list[Problem]:
    problems: list[Problem] = []
    last = filters[-1]
    if not last.match.is_empty():
        problems.append(
            Problem(
                f"filters.{last.name}",
                "the last filter must have an empty match: the default for all other calls",
            )
        )
    for position, rule in enumerate(filters[:-1]):
        if rule.match.is_empty():
            problems.append(
                Problem(
                    f"filters.{rule.name}", "has an empty match, which only the last filter (the default) may"
                )
            )
            continue
        shadow = next((earlier for earlier in filters[:position] if covers(earlier.match, rule.match)), None)
        if shadow is not None:
            problems.append(
                Problem(
                    f"filters.{rule.name}",
                    f"can never match: the earlier filter {shadow.name!r} takes every call it would",
                )
            )
    return problems


def _safety_problems(rules: RulesDocument) -> list[Problem]:
    emergency = [rule for rule in rules.filters if rule.match.emergency is True]
    if not emergency:
        return [
            Problem(
                "filters",
                "no filter matches emergency calls (emergency = true): gas leaks would wait like billing",
            )
        ]
    problems: list[Problem] = []
    for rule in emergency:
        where = f"filters.{rule.name}"
        if not any(step.skill == SAFETY_SKILL for step in rule.steps):
            problems.append(
                Problem(where, "matches emergency calls, so it needs a step with the safety skill")
            )
        for position, group_name in _step_groups(rule):
            group = rules.groups.get(group_name)
            if group is not None and not group.always_open:
                problems.append(
                    Problem(
                        f"{where}.steps.{position}",
                        f"group {group_name!r} must be always_open: safety is 24 hours",
                    )
                )
    first = rules.filters.index(emergency[0])
    for rule in rules.filters[:first]:
        if overlaps(rule.match, emergency[0].match):
            problems.append(
                Problem(
                    f"filters.{rule.name}",
                    f"can catch emergency calls before the emergency filter {emergency[0].name!r}:"
                    " move it below, or set emergency = false",
                )
            )
    return problems


def _step_groups(rule: Filter) -> Iterator[tuple[int, str]]:
    for position, step in enumerate(rule.steps):
        if step.group is not None:
            yield position, step.group


def validate_rules(raw: dict[str, Any]) -> RulesDocument:
    """Both layers; returns the document or raises InvalidRules with every problem."""
    rules = parse_document(raw)
    problems = reference_problems(rules)
    if problems:
        raise InvalidRules(problems)
    return rules


def load_rules_file(path: Path = DEFAULT_RULES_FILE) -> dict[str, Any]:
    """Read a rules document from a TOML or JSON file."""
    if path.suffix == ".json":
        return dict(json.loads(path.read_text(encoding="utf-8")))
    with path.open("rb") as handle:
        return tomllib.load(handle)
