"""The call-back sampling policy document: load (TOML or JSON) and validate, naming every problem."""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.toml")
HOTLINE_CALL = "hotline_call"  # the service type of answered agent calls; every policy must have it
_TOP_KEYS = {"min_cases_for_sampling", "recent_callback_days", "service_types"}
_TYPE_KEYS = {"label", "share"}


class InvalidPolicy(ValueError):
    """A policy document that cannot be used; `problems` names each thing wrong."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Policy:
    """A validated policy: shares per service type, the small-month threshold, the no-repeat period."""

    shares: dict[str, float]  # service type -> share called back, 0..1
    labels: dict[str, str]
    min_cases_for_sampling: int
    recent_callback_days: int
    version: int = 0  # the stored version (0: not stored)


def load_policy_file(path: Path = DEFAULT_POLICY_FILE) -> dict[str, Any]:
    """The raw document of a .toml or .json file; ValueError when it cannot be parsed."""
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(str(error)) from None
    if not isinstance(document, dict):
        raise ValueError("the document must be an object")
    return document


def _whole(value: Any, name: str, low: int, high: int, problems: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"{name}: must be a whole number from {low} to {high} (got {value!r})")
        return low
    if not low <= value <= high:
        problems.append(f"{name}: must be from {low} to {high} (got {value})")
    return value


def validate_policy(document: dict[str, Any], version: int = 0) -> Policy:
    """The document as a Policy; InvalidPolicy naming every problem otherwise."""
    problems: list[str] = []
    for key in sorted(set(document) - _TOP_KEYS):
        problems.append(f"{key}: unknown setting (known: {', '.join(sorted(_TOP_KEYS))})")
    for key in sorted(_TOP_KEYS - set(document)):
        problems.append(f"{key}: missing")
    min_cases = _whole(
        document.get("min_cases_for_sampling", 0), "min_cases_for_sampling", 0, 10_000, problems
    )
    recent = _whole(document.get("recent_callback_days", 0), "recent_callback_days", 0, 365, problems)
    shares: dict[str, float] = {}
    labels: dict[str, str] = {}
    types = document.get("service_types", {})
    if not isinstance(types, dict):
        problems.append("service_types: must be a table of service types")
        types = {}
    elif "service_types" in document and not types:
        problems.append("service_types: at least one service type is needed")
    elif types and HOTLINE_CALL not in types:
        problems.append(f"service_types: {HOTLINE_CALL!r} is missing (answered hotline calls use it)")
    for name, entry in types.items():
        where = f"service_types.{name}"
        if not name.replace("_", "").isalnum() or not name.islower() or len(name) > 50:
            problems.append(f"{where}: a service type is lower-case letters, digits and _ (up to 50)")
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table with label and share")
            continue
        for key in sorted(set(entry) - _TYPE_KEYS):
            problems.append(f"{where}.{key}: unknown setting (known: label, share)")
        label, share = entry.get("label"), entry.get("share")
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{where}.label: missing (a name people read)")
        if isinstance(share, bool) or not isinstance(share, int | float) or not math.isfinite(share):
            problems.append(f"{where}.share: must be a number from 0 to 1 (got {share!r})")
            continue
        if not 0 <= share <= 1:
            problems.append(f"{where}.share: must be from 0 to 1, e.g. 0.1 for 10% (got {share})")
        shares[name] = float(share)
        labels[name] = label if isinstance(label, str) else name
    if problems:
        raise InvalidPolicy(problems)
    return Policy(shares, labels, min_cases, recent, version)
