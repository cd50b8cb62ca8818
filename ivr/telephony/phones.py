"""Customer phone numbers: E.164, or an 11-digit mainland China mobile made +86."""

from __future__ import annotations

import re

_E164 = re.compile(r"\+[1-9]\d{7,14}")
_CN_MOBILE = re.compile(r"1[3-9]\d{9}")
_SEPARATORS = re.compile(r"[\s\-().]")


def normalise_phone(raw: str | None) -> str | None:
    """The number in E.164, or None when it cannot be dialled (empty, anonymous, malformed)."""
    text = _SEPARATORS.sub("", raw or "")
    if _E164.fullmatch(text):
        return text
    if _CN_MOBILE.fullmatch(text):
        return "+86" + text
    return None
