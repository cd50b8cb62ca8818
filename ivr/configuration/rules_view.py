"""The routing rules for the pages, built from the raw document, valid or not.

Each group's calendar (hours per weekday, holidays) and each filter's match and steps, with the problems that
name them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ivr.configuration.menus.validation import Problem
from ivr.configuration.rules.schema import DAYS


@dataclass
class GroupView:
    """An agent group's calendar."""

    name: str
    timezone: str
    always_open: bool
    wrap_up_seconds: Any
    hours: dict[str, str]  # day -> "08:00-12:00, 13:00-20:00" ("" closed)
    holidays: list[str]
    problems: list[str] = field(default_factory=list)


@dataclass
class FilterView:
    """A filter in order: what it matches, its steps, what happens after hours."""

    position: int
    name: str
    match: str
    steps: list[str]
    after_hours: str
    problems: list[str] = field(default_factory=list)


@dataclass
class RulesView:
    """The whole rules document for a page."""

    safety_any_agent_after: Any
    groups: list[GroupView]
    filters: list[FilterView]
    other_problems: list[str]
    safety_any_agent_at_once: Any = True  # missing from a document: on, as the schema's default

    def as_json(self) -> dict[str, Any]:
        """Plain data for the JSON answer."""
        return asdict(self)


def rules_view(document: dict[str, Any], problems: list[Problem]) -> RulesView:
    """The view of a (possibly invalid) rules document, problems attached to the group or filter named."""
    groups = _table(document.get("groups"))
    filters = _items(document.get("filters"))
    group_views = [_group(str(name), raw) for name, raw in groups.items() if isinstance(raw, dict)]
    filter_views = [_filter(position, raw) for position, raw in enumerate(filters) if isinstance(raw, dict)]
    by_group = {view.name: view for view in group_views}
    by_filter = {view.name: view for view in filter_views} | {str(v.position): v for v in filter_views}
    other = []
    for problem in problems:
        parts = problem.where.split(".")
        target: GroupView | FilterView | None = None
        if parts[0] == "groups" and len(parts) > 1:
            target = by_group.get(parts[1])
        elif parts[0] == "filters" and len(parts) > 1:
            target = by_filter.get(parts[1])
        if target is None:
            other.append(str(problem))
        else:
            rest = ".".join(parts[2:])
            target.problems.append(f"{rest}: {problem.message}" if rest else problem.message)
    return RulesView(
        document.get("safety_any_agent_after", 20),
        group_views,
        filter_views,
        other,
        document.get("safety_any_agent_at_once", True),
    )


def _group(name: str, raw: dict[str, Any]) -> GroupView:
    hours = _table(raw.get("hours"))
    return GroupView(
        name=name,
        timezone=str(raw.get("timezone", "Asia/Shanghai")),
        always_open=bool(raw.get("always_open", False)),
        wrap_up_seconds=raw.get("wrap_up_seconds", 0),
        hours={day: _joined(hours.get(day)) for day in DAYS},
        holidays=[str(day) for day in _items(raw.get("holidays"))],
    )


def _filter(position: int, raw: dict[str, Any]) -> FilterView:
    match = _table(raw.get("match"))
    described = [f"{key} = {_joined(value)}" for key, value in match.items()]
    steps = _items(raw.get("steps"))
    after = raw.get("after_hours") if isinstance(raw.get("after_hours"), dict) else None
    return FilterView(
        position=position,
        name=str(raw.get("name", f"#{position}")),
        match="; ".join(described) or "every call (the default)",
        steps=[_step(step) for step in steps if isinstance(step, dict)],
        after_hours=(
            ""
            if after is None
            else str(after.get("action", "?"))
            + (f": {_step(after['step'])}" if isinstance(after.get("step"), dict) else "")
        ),
    )


def _step(step: dict[str, Any]) -> str:
    text = f"{step.get('skill', '?')}>={step.get('min_proficiency', 1)}"
    text += f", language {step.get('language', 'caller')}"
    if step.get("group"):
        text += f", group {step['group']}"
    if step.get("timeout_seconds") is not None:
        text += f", for {step['timeout_seconds']} s"
    return text


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)
