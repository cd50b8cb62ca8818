"""The sampling policy as a form, and the form's fields read back into a document. Pure.

The document is shown as fields (shares in percent); the fields are read back with a message per field
(docs/callbacks.md, "The settings page")."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ivr.surveys.policy import HOTLINE_CALL, InvalidPolicy, validate_policy

MAX_MIN_CASES = 10_000
MAX_RECENT_DAYS = 365
MAX_LABEL = 200
_TYPE_KEY = re.compile(r"[a-z0-9_]{1,50}")
_PROBLEM_PATH = re.compile(r"service_types\.([^.:]+)\.(label|share):")


@dataclass(frozen=True)
class TypeRow:
    """One service type's fields, as typed or shown: its key, label and share in percent."""

    key: str
    label: str
    percent: str
    remove: bool = False


@dataclass
class PolicyForm:
    """The whole form: the two settings that apply to every type, one row per type, and a row to add one."""

    min_cases: str
    recent_days: str
    types: list[TypeRow]
    new: TypeRow = field(default_factory=lambda: TypeRow("", "", ""))
    errors: dict[str, str] = field(default_factory=dict)  # field name -> what is wrong with it


def percent_text(share: Any) -> str:
    """0.1 -> '10', 0.125 -> '12.5' (a share as the form shows it)."""
    if isinstance(share, bool) or not isinstance(share, int | float):
        return str(share)
    return f"{share * 100:.4f}".rstrip("0").rstrip(".")


def form_of(document: Mapping[str, Any]) -> PolicyForm:
    """The form showing a (valid) policy document."""
    types = document.get("service_types") or {}
    return PolicyForm(
        min_cases=str(document.get("min_cases_for_sampling", "")),
        recent_days=str(document.get("recent_callback_days", "")),
        types=[
            TypeRow(key, str(entry.get("label", "")), percent_text(entry.get("share")))
            for key, entry in types.items()
        ],
    )


def _whole(text: str, name: str, high: int, errors: dict[str, str]) -> int:
    if not text.strip().isdigit() or int(text) > high:
        errors[name] = f"填写 0 到 {high} 的整数 / a whole number from 0 to {high}"
        return 0
    return int(text)


def _share(text: str, name: str, errors: dict[str, str]) -> float:
    """A percent as typed ('10', '12.5', '10%') -> the share 0..1."""
    cleaned = text.strip().removesuffix("%").strip()
    try:
        percent = Decimal(cleaned)
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite() or not 0 <= percent <= 100:
        errors[name] = f"填写 0 到 100 的百分比 / a percentage from 0 to 100 (got {text.strip()!r})"
        return 0.0
    if percent.as_tuple().exponent < -4:  # type: ignore[operator]
        errors[name] = "最多四位小数 / at most 4 decimal places"
        return 0.0
    return float(percent / 100)


def _label(text: str, name: str, errors: dict[str, str]) -> str:
    label = text.strip()
    if not label:
        errors[name] = "填写名称 / give the name people read"
    elif len(label) > MAX_LABEL:
        errors[name] = f"最多 {MAX_LABEL} 个字 / at most {MAX_LABEL} characters"
    return label


def read_form(values: Mapping[str, str], keys: Sequence[str]) -> tuple[PolicyForm, dict[str, Any] | None]:
    """The posted fields as a form and, when every field is right, the policy document they make.

    `keys`: the service types the form showed (hidden fields, in order). Fields: min_cases_for_sampling,
    recent_callback_days, label.<key>, share.<key> (percent), remove.<key>, new_key, new_label, new_share.
    """
    errors: dict[str, str] = {}
    form = PolicyForm(
        min_cases=values.get("min_cases_for_sampling", ""),
        recent_days=values.get("recent_callback_days", ""),
        types=[
            TypeRow(
                key, values.get(f"label.{key}", ""), values.get(f"share.{key}", ""), f"remove.{key}" in values
            )
            for key in keys
        ],
        new=TypeRow(
            values.get("new_key", "").strip(), values.get("new_label", ""), values.get("new_share", "")
        ),
        errors=errors,
    )
    document: dict[str, Any] = {
        "min_cases_for_sampling": _whole(form.min_cases, "min_cases_for_sampling", MAX_MIN_CASES, errors),
        "recent_callback_days": _whole(form.recent_days, "recent_callback_days", MAX_RECENT_DAYS, errors),
    }
    types: dict[str, dict[str, Any]] = {}
    for row in form.types:
        if row.remove:
            if row.key == HOTLINE_CALL:
                errors[f"remove.{row.key}"] = "热线通话不能删除 / answered hotline calls use this type"
            continue
        label = _label(row.label, f"label.{row.key}", errors)
        types[row.key] = {"label": label, "share": _share(row.percent, f"share.{row.key}", errors)}
    new = form.new
    if new.key or new.label.strip() or new.percent.strip():
        if not _TYPE_KEY.fullmatch(new.key):
            errors["new_key"] = "小写字母、数字和 _，最多 50 个 / lower-case letters, digits and _ (up to 50)"
        elif new.key in keys:
            errors["new_key"] = f"已有此类型 / {new.key!r} is in the policy already"
        label = _label(new.label, "new_label", errors)
        types[new.key] = {"label": label, "share": _share(new.percent, "new_share", errors)}
    document["service_types"] = types
    if errors:
        return form, None
    try:
        validate_policy(document)
    except InvalidPolicy as invalid:  # what the fields alone cannot see, e.g. a hidden key tampered with
        for problem in invalid.problems:
            match = _PROBLEM_PATH.match(problem)
            name = f"{match[2]}.{match[1]}" if match else "form"
            errors[name] = f"{errors[name]}; {problem}" if name in errors else problem
        return form, None
    return form, document
