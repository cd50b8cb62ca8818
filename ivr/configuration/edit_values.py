"""Reading the values of an edit operation (JSON from the editor page): each wrong one refused in words."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SEPARATORS = re.compile(r"[,，、;；\n]+")


class EditRefused(ValueError):
    """An operation that cannot be applied; the draft stays as it was."""


def text(op: dict[str, Any], field: str, *, required: bool = True) -> str:
    """A text field, stripped; refused when missing (if required) or not text."""
    value = op.get(field)
    if value is None or value == "":
        if required:
            raise EditRefused(f"{field} is missing")
        return ""
    if not isinstance(value, str):
        raise EditRefused(f"{field} must be text")
    return value.strip()


def name(op: dict[str, Any], field: str) -> str:
    """A node, prompt or group name: lower-case letters, digits and _, starting with a letter."""
    value = text(op, field)
    if not NAME.match(value):
        raise EditRefused(
            f"{field} {value!r} is not a name: lower-case letters, digits and _, starting with a letter"
        )
    return value


def index(op: dict[str, Any], field: str, length: int) -> int:
    """A position in a list of `length` items."""
    value = op.get(field)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < length:
        raise EditRefused(f"{field} must be a position from 0 to {length - 1}")
    return value


def whole_number(value: Any, field: str) -> int | None:
    """An optional whole number (blank: none)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EditRefused(f"{field} must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise EditRefused(f"{field} must be a whole number, not {value!r}")


def number(value: Any, field: str) -> float | int | None:
    """An optional number, whole or decimal (blank: none)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise EditRefused(f"{field} must be a number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            raise EditRefused(f"{field} must be a number, not {value!r}") from None
        return int(parsed) if parsed.is_integer() else parsed
    raise EditRefused(f"{field} must be a number")


def flag(value: Any, field: str) -> bool:
    """A yes/no value: a JSON boolean, or a checkbox's text."""
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    if isinstance(value, str) and value.lower() in ("true", "on", "yes", "1", "false", "off", "no", "0"):
        return value.lower() in ("true", "on", "yes", "1")
    raise EditRefused(f"{field} must be yes or no")


def words(value: Any, field: str) -> list[str]:
    """A list of texts: a JSON list, or one text separated by commas (also Chinese commas) or lines."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return [item.strip() for item in value if item.strip()]
    raise EditRefused(f"{field} must be a list of texts")


Operation = Callable[[dict[str, Any], dict[str, Any]], str]


def apply_operation(
    document: dict[str, Any], op: Any, operations: Mapping[str, Operation]
) -> tuple[dict[str, Any], str]:
    """Apply one operation to a copy of `document`; returns the new document and what was done, in words."""
    if not isinstance(op, dict):
        raise EditRefused("an operation is a JSON object with an 'op' field")
    kind = op.get("op")
    handler = operations.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise EditRefused(f"unknown operation {kind!r}; known: {', '.join(sorted(operations))}")
    changed = copy.deepcopy(document)
    return changed, handler(changed, op)
