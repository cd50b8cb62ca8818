"""The raw document editor's text: JSON or TOML in, a JSON-ready table out; shown back as indented JSON."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from typing import Any

from ivr.configuration.edit_values import EditRefused

MAX_CHARS = 500_000


def read_document(text: str) -> dict[str, Any]:
    """Parse the editor's text: JSON when it starts with '{', else TOML. Refused with the place it fails."""
    if len(text) > MAX_CHARS:
        raise EditRefused(f"the document is over {MAX_CHARS:,} characters")
    stripped = text.strip()
    if not stripped:
        raise EditRefused("the document is empty")
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as error:
            raise EditRefused(
                f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
            ) from None
    else:
        try:
            parsed = tomllib.loads(stripped)
        except tomllib.TOMLDecodeError as error:
            raise EditRefused(f"not valid TOML (nor JSON): {error}") from None
    if not isinstance(parsed, dict):
        raise EditRefused("the document must be a table (a JSON object or a TOML document)")
    plain: dict[str, Any] = _plain(parsed)
    return plain


def show_document(document: Any) -> str:
    """A document as the raw editor shows it."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def _plain(value: Any) -> Any:
    # TOML dates and times become ISO text, so the document stays JSON (the rules take dates as text).
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value
