"""The wallboard's colour rules. Standard library only.

Each queue's limits (its own, else every queue's, else the built-in ones), the level of a figure against them,
and what makes a set of limits acceptable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

ALL_QUEUES = "*"  # the scope whose limits hold for every queue without its own

OK, AMBER, RED, NONE = "ok", "amber", "red", "none"  # NONE: no figure to judge (no call decided today)


@dataclass(frozen=True)
class Limits:
    """When a queue's figures turn amber or red: waiting and longest wait at or above, service level below."""

    waiting_amber: int
    waiting_red: int
    longest_wait_amber: int  # seconds
    longest_wait_red: int
    service_level_amber: int  # whole percent
    service_level_red: int


LIMIT_FIELDS = tuple(field.name for field in fields(Limits))
# Until a supervisor sets others: the report's target of 80 % answered within 20 s is where amber starts.
BUILT_IN = Limits(
    waiting_amber=3,
    waiting_red=6,
    longest_wait_amber=60,
    longest_wait_red=120,
    service_level_amber=80,
    service_level_red=60,
)

FIELD_WORDS = {
    "waiting_amber": "等待·黄 / waiting amber",
    "waiting_red": "等待·红 / waiting red",
    "longest_wait_amber": "最长等待·黄 / longest wait amber",
    "longest_wait_red": "最长等待·红 / longest wait red",
    "service_level_amber": "服务水平·黄 / service level amber",
    "service_level_red": "服务水平·红 / service level red",
}

Given = Mapping[str, int | None]  # a scope's stored limits; None: not set there


def limits_for(queue: str, stored: Mapping[str, Given]) -> Limits:
    """The limits that hold for `queue`: each from its own row, else the every-queue row, else built in."""
    own, every = stored.get(queue, {}), stored.get(ALL_QUEUES, {})
    values = {}
    for name in LIMIT_FIELDS:
        value = own.get(name)
        if value is None:
            value = every.get(name)
        values[name] = getattr(BUILT_IN, name) if value is None else value
    return Limits(**values)


def level_at_or_above(value: float | None, amber: int, red: int) -> str:
    """Red at or above `red`, amber at or above `amber` (waiting callers, seconds waited)."""
    if value is None:
        return NONE
    return RED if value >= red else AMBER if value >= amber else OK


def level_below(fraction: float | None, amber_percent: int, red_percent: int) -> str:
    """Red below `red_percent`, amber below `amber_percent` (a service level given as a fraction)."""
    if fraction is None:
        return NONE
    percent = fraction * 100
    return RED if percent < red_percent else AMBER if percent < amber_percent else OK


def limit_problems(limits: Limits) -> list[str]:
    """What is wrong with a queue's limits, in words (Chinese / English); empty when they are usable."""
    problems = []
    for name in ("waiting_amber", "waiting_red", "longest_wait_amber", "longest_wait_red"):
        if getattr(limits, name) < 1:
            problems.append(f"{FIELD_WORDS[name]}: 至少为 1 / must be at least 1")
    for name in ("service_level_amber", "service_level_red"):
        if not 0 <= getattr(limits, name) <= 100:
            problems.append(f"{FIELD_WORDS[name]}: 须在 0 到 100 之间 / must be from 0 to 100 (%)")
    if limits.waiting_amber > limits.waiting_red:
        problems.append("等待：黄色不能高于红色 / waiting: amber must not be above red")
    if limits.longest_wait_amber > limits.longest_wait_red:
        problems.append("最长等待：黄色不能高于红色 / longest wait: amber must not be above red")
    if limits.service_level_amber < limits.service_level_red:
        problems.append("服务水平：黄色不能低于红色 / service level: amber must not be below red")
    return problems
