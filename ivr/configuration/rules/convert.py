"""A validated rules document -> the router's frozen `routing.model.Rules`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Any

from ivr.configuration.rules import schema
from ivr.configuration.rules.validation import validate_rules
from routing import model
from routing.hours import parse_range


def _language(text: str) -> str | None:
    if text == "caller":
        return model.CALLER_LANGUAGE
    return None if text == "any" else text


def _step(step: schema.Step) -> model.Step:
    return model.Step(
        skill=step.skill,
        min_proficiency=step.min_proficiency,
        language=_language(step.language),
        timeout_seconds=step.timeout_seconds,
        group=step.group,
    )


def _match(match: schema.Match) -> model.Match:
    def members(values: Iterable[str] | None) -> frozenset[str] | None:
        return None if values is None else frozenset(values)

    return model.Match(
        intents=members(match.intents),
        languages=members(match.languages),
        emergency=match.emergency,
        customer_classes=members(match.customer_classes),
    )


def _filter(rule: schema.Filter) -> model.Filter:
    after = None
    if rule.after_hours is not None:
        step = _step(rule.after_hours.step) if rule.after_hours.step is not None else None
        after = model.AfterHours(action=rule.after_hours.action, step=step)
    return model.Filter(
        name=rule.name, match=_match(rule.match), steps=tuple(_step(s) for s in rule.steps), after_hours=after
    )


def _calendar(group: schema.Group) -> model.Calendar:
    weekly: dict[int, tuple[tuple[time, time], ...]] = {}
    for day, ranges in group.hours.items():
        if ranges:
            weekly[schema.DAYS.index(day)] = tuple(sorted(parse_range(text) for text in ranges))
    return model.Calendar(
        timezone=group.timezone,
        weekly=weekly,
        holidays=frozenset(group.holidays),
        always_open=group.always_open,
    )


def to_rules(document: schema.RulesDocument, version: int) -> model.Rules:
    """The router's view of a validated document, tagged with its stored version number."""
    return model.Rules(
        version=version,
        filters=tuple(_filter(rule) for rule in document.filters),
        calendars={name: _calendar(group) for name, group in document.groups.items()},
        safety_any_agent_after=document.safety_any_agent_after,
        safety_any_agent_at_once=document.safety_any_agent_at_once,
        wrap_up_seconds={name: group.wrap_up_seconds for name, group in document.groups.items()},
    )


def rules_from_raw(raw: dict[str, Any], version: int) -> model.Rules:
    """Validate a raw document (both layers) and convert it; raises InvalidRules."""
    return to_rules(validate_rules(raw), version)
