"""What a webhook's parameters may hold, made safe: whole numbers in the database's range, keypad digits."""

from __future__ import annotations

import re

MAX_SPEECH_CHARS = 500
_DIGITS = re.compile(r"^[0-9*#]{1,32}$")
_INT_MAX = 2**31 - 1  # the database's INTEGER: a larger id, version or counter is no id at all


def whole_number(value: object, default: int) -> int:
    """A whole number in the database's range, or `default` for anything else (garbage, huge, absent)."""
    text = str(value).strip()
    if not 0 < len(text) <= 11:  # "-2147483648": never parse a huge string (int() is quadratic in it)
        return default
    try:
        number = int(text)
    except ValueError:
        return default
    return number if -_INT_MAX <= number <= _INT_MAX else default


def clean_digits(raw: str) -> str:
    """Keys as given, or '?' for anything that no keypad sends (garbage, over-long, non-ASCII)."""
    raw = raw.strip()
    if not raw:
        return ""
    return raw if _DIGITS.match(raw) else "?"


def speech(raw: str) -> str:
    """A recogniser's phrase, cut to a length no caller says in one turn."""
    return raw[:MAX_SPEECH_CHARS]
