"""Differences between two JSON documents one line per changed field, and a text diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

_ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One field that differs: its path (e.g. nodes.main.options.2.key), before and after."""

    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        """added, removed or changed."""
        if self.before is _ABSENT:
            return "added"
        if self.after is _ABSENT:
            return "removed"
        return "changed"

    def shown(self, value: Any) -> str:
        """A value as the page shows it (compact JSON; blank when absent)."""
        return "" if value is _ABSENT else json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(before: Any, after: Any, path: str = "") -> list[Change]:
    """Every field that was added, removed or changed, in document order (None at the top: nothing)."""
    if not path:
        # A change log entry without a before (a creation) or an after (a deletion) lists each field.
        before = _nothing_like(after) if before is None else before
        after = _nothing_like(before) if after is None else after
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            found += changes(before.get(key, _ABSENT), after.get(key, _ABSENT), _join(path, str(key)))
        return found
    if isinstance(before, list) and isinstance(after, list) and _all_tables(before) and _all_tables(after):
        # Lists of tables (options, filters, steps) compare item by item; lists of plain values compare whole.
        found = []
        for index in range(max(len(before), len(after))):
            old = before[index] if index < len(before) else _ABSENT
            new = after[index] if index < len(after) else _ABSENT
            found += changes(old, new, _join(path, str(index)))
        return found
    if before is _ABSENT and after is _ABSENT:
        return []
    if before is _ABSENT or after is _ABSENT or before != after or type(before) is not type(after):
        return [Change(path or "(document)", before, after)]
    return []


def text_diff(before: Any, after: Any, before_name: str = "before", after_name: str = "after") -> list[str]:
    """A unified diff of the two documents written as indented JSON (keys sorted)."""
    return list(
        difflib.unified_diff(
            _lines(before), _lines(after), fromfile=before_name, tofile=after_name, lineterm="", n=2
        )
    )


def _lines(document: Any) -> list[str]:
    if document is None:
        return []
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).splitlines()


def _nothing_like(other: Any) -> Any:
    return {} if isinstance(other, dict) else _ABSENT


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _all_tables(items: list[Any]) -> bool:
    return all(isinstance(item, dict) for item in items)
