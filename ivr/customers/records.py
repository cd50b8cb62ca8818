"""A customer's record as a file row or an API body gives it, checked field by field (pure).

A field not given (None: a column absent from the file, an empty cell, a key absent from the JSON body)
keeps what the account has; a new account gets the default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from ivr.telephony.phones import normalise_phone

CLASSES = ("residential", "commercial")
LANGUAGES = ("zh-CN", "en-US")
MAX_NUMBERS = 5
MAX_LENGTHS = {"name": 200, "address": 300, "district": 100}
DEFAULTS = {"address": "", "district": "", "customer_class": "residential", "language": "zh-CN"}
_ACCOUNT = re.compile(r"[0-9A-Za-z-]{1,20}")
_NUMBER_SEPARATORS = re.compile(r"[;,；，/|、]")
_LANDLINE = re.compile(r"0[1-9]\d{8,10}")  # a mainland number with its trunk 0, e.g. 010-12345678
_SPACING = re.compile(r"[\s\-().]")


class RecordRefused(ValueError):
    """A field that cannot be stored; `field` names it, the message says why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


@dataclass(frozen=True)
class CustomerRecord:
    """The account and the contact details given for it; None keeps the account's value."""

    account: str
    name: str | None = None
    numbers: tuple[str, ...] | None = None
    address: str | None = None
    district: str | None = None
    customer_class: str | None = None
    language: str | None = None

    def given(self) -> dict[str, object]:
        """The fields given (not None), by name, the account excluded."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "account"}
        return {name: value for name, value in values.items() if value is not None}


def normalise_number(raw: str) -> str:
    """The number as the IVR sees the caller's: E.164 (+86 for a mainland mobile or landline)."""
    text = _SPACING.sub("", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    if text.startswith("86") and len(text) == 13 and text[2] == "1":
        text = "+" + text
    found = normalise_phone(text)
    if found is None and _LANDLINE.fullmatch(text):
        found = "+86" + text[1:]
    if found is None:
        raise RecordRefused("numbers", f"{raw!r} is not a phone number (E.164, a mobile or a landline)")
    return found


def split_numbers(cell: str) -> tuple[str, ...]:
    """The numbers of one cell, separated by ; , / | (each normalised, repeats dropped, order kept)."""
    parts = [part.strip() for part in _NUMBER_SEPARATORS.split(cell)]
    return checked_numbers([part for part in parts if part])


def checked_numbers(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Normalised numbers, repeats dropped, at most MAX_NUMBERS."""
    numbers = tuple(dict.fromkeys(normalise_number(number) for number in raw))
    if len(numbers) > MAX_NUMBERS:
        raise RecordRefused("numbers", f"at most {MAX_NUMBERS} numbers (got {len(numbers)})")
    return numbers


def checked_account(raw: object) -> str:
    """The account number: 1-20 letters, digits or dashes."""
    if not isinstance(raw, str) or not raw.strip():
        raise RecordRefused("account", "is required")
    account = raw.strip()
    if not _ACCOUNT.fullmatch(account):
        raise RecordRefused("account", f"{account!r}: 1-20 letters, digits or dashes")
    return account


def record_from(values: Mapping[str, object]) -> CustomerRecord:
    """A record from a mapping of field name to value (a CSV row or a JSON body); None or absent keeps."""
    account = checked_account(values.get("account"))
    given: dict[str, object] = {}
    for field, limit in MAX_LENGTHS.items():
        value = values.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise RecordRefused(field, "must be text")
        if len(value.strip()) > limit:
            raise RecordRefused(field, f"at most {limit} characters (got {len(value.strip())})")
        given[field] = value.strip()
    if given.get("name") == "":
        raise RecordRefused("name", "must not be empty")
    for field, allowed in (("customer_class", CLASSES), ("language", LANGUAGES)):
        value = values.get(field)
        if value is None:
            continue
        if value not in allowed:
            raise RecordRefused(field, f"{value!r} is not one of {', '.join(allowed)}")
        given[field] = value
    numbers = values.get("numbers")
    if isinstance(numbers, str):
        given["numbers"] = split_numbers(numbers)
    elif isinstance(numbers, list | tuple):
        if not all(isinstance(number, str) for number in numbers):
            raise RecordRefused("numbers", "must be a list of text")
        given["numbers"] = checked_numbers([number for number in numbers if number.strip()])
    elif numbers is not None:
        raise RecordRefused("numbers", "must be a list of phone numbers")
    return CustomerRecord(account=account, **given)  # type: ignore[arg-type]
