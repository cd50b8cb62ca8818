"""The editor's small operations on a routing rules document: opening hours, holidays and group settings.

Pure, each on a copy; the rules validation (ivr/configuration/rules/validation) names what is wrong with the
result.
Filters and steps are edited in the raw document editor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ivr.configuration.edit_values import EditRefused, apply_operation, flag, name, number, text, words
from ivr.configuration.rules.schema import DAYS

Document = dict[str, Any]


def apply_rules_edit(document: Document, op: dict[str, Any]) -> tuple[Document, str]:
    """Apply one operation to a copy of `document`; returns the new document and what was done, in words."""
    return apply_operation(document, op, _OPERATIONS)


def _groups(document: Document) -> dict[str, Any]:
    groups = document.setdefault("groups", {})
    if not isinstance(groups, dict):
        raise EditRefused("the document's groups is not a table: fix it in the raw document editor")
    return groups


def _group(document: Document, op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    group_name = text(op, "group")
    group = _groups(document).get(group_name)
    if not isinstance(group, dict):
        raise EditRefused(f"there is no group {group_name!r}")
    return group_name, group


def _day(op: dict[str, Any]) -> str:
    day = text(op, "day")
    if day not in DAYS:
        raise EditRefused(f"day must be one of {', '.join(DAYS)}")
    return day


def _date(op: dict[str, Any]) -> str:
    value = text(op, "date")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise EditRefused(f"date must be YYYY-MM-DD, not {value!r}") from None


def set_hours(document: Document, op: dict[str, Any]) -> str:
    """A weekday's opening hours, e.g. "08:00-12:00, 13:00-20:00"; blank closes the day."""
    group_name, group = _group(document, op)
    day = _day(op)
    ranges = [part.replace(" ", "") for part in words(op.get("ranges"), "ranges")]
    hours = dict(group.get("hours") or {})
    if ranges:
        hours[day] = ranges
    else:
        hours.pop(day, None)
    group["hours"] = {d: hours[d] for d in DAYS if d in hours}  # weekday order, as people read them
    return f"groups.{group_name}.hours.{day}: {', '.join(ranges) or 'closed'}"


def add_holiday(document: Document, op: dict[str, Any]) -> str:
    """A whole local day the group is closed."""
    group_name, group = _group(document, op)
    day = _date(op)
    holidays = [str(d) for d in group.get("holidays") or []]
    if day in holidays:
        raise EditRefused(f"{day} is already a holiday of {group_name}")
    group["holidays"] = sorted([*holidays, day])
    return f"groups.{group_name}.holidays: added {day}"


def remove_holiday(document: Document, op: dict[str, Any]) -> str:
    """Open again on a day that was a holiday."""
    group_name, group = _group(document, op)
    day = _date(op)
    holidays = [str(d) for d in group.get("holidays") or []]
    if day not in holidays:
        raise EditRefused(f"{day} is not a holiday of {group_name}")
    group["holidays"] = [d for d in holidays if d != day]
    return f"groups.{group_name}.holidays: removed {day}"


def set_group(document: Document, op: dict[str, Any]) -> str:
    """A group's time zone, always-open flag and wrap-up seconds."""
    group_name, group = _group(document, op)
    said = []
    if "timezone" in op:
        group["timezone"] = text(op, "timezone")
        said.append(f"timezone {group['timezone']}")
    if "always_open" in op:
        group["always_open"] = flag(op["always_open"], "always_open")
        said.append(f"always_open {group['always_open']}")
    if "wrap_up_seconds" in op:
        seconds = number(op["wrap_up_seconds"], "wrap_up_seconds")
        if seconds is None:
            group.pop("wrap_up_seconds", None)
        else:
            group["wrap_up_seconds"] = seconds
        said.append(f"wrap_up_seconds {seconds}")
    return f"groups.{group_name}: " + (", ".join(said) or "no change")


def add_group(document: Document, op: dict[str, Any]) -> str:
    """A new agent group with office hours on weekdays (steps name it in the raw document)."""
    groups = _groups(document)
    group_name = name(op, "group")
    if group_name in groups:
        raise EditRefused(f"group {group_name!r} exists already")
    weekdays = {day: ["08:00-20:00"] for day in DAYS[:5]}
    groups[group_name] = {"timezone": "Asia/Shanghai", "hours": weekdays, "always_open": False}
    return f"added group {group_name}"


def remove_group(document: Document, op: dict[str, Any]) -> str:
    """Remove a group; steps that name it are left for validation to name."""
    group_name, _ = _group(document, op)
    del _groups(document)[group_name]
    return f"removed group {group_name}"


_OPERATIONS: dict[str, Callable[[Document, dict[str, Any]], str]] = {
    "set_hours": set_hours,
    "add_holiday": add_holiday,
    "remove_holiday": remove_holiday,
    "set_group": set_group,
    "add_group": add_group,
    "remove_group": remove_group,
}
