"""What the wallboard shows: each queue's figures and levels, the last hour's gas emergencies, the agents.

Per queue the waiting callers, the longest wait and today's service level, each with its level against the
supervisors' limits; the gas emergencies of the last hour; the agents by state.

The figures are the live board's (ivr/queueing/board.py floor_now); only the levels are added here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.queueing.agent_states import STATES
from ivr.queueing.board import floor_now
from ivr.queueing.wallboard_levels import Limits, level_at_or_above, level_below, limits_for
from ivr.queueing.wallboard_thresholds import stored_limits
from routing.model import Rules


@dataclass(frozen=True)
class Figure:
    """One figure and its level (ok, amber, red; none when there is nothing to judge)."""

    value: float | int | None
    level: str


@dataclass(frozen=True)
class QueueFigures:
    """One queue on the wallboard."""

    name: str
    waiting: Figure
    longest_wait: Figure  # seconds
    service_level: Figure  # a fraction, None before the first call of the day is decided
    emergencies_waiting: int
    limits: Limits


@dataclass(frozen=True)
class AgentsInState:
    """How many agents are in one state, and who (the agents out of service are left out)."""

    state: str
    count: int
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Wallboard:
    """Everything on the wallboard at one moment."""

    now: str  # ISO, UTC
    local_time: str  # the centre's time zone
    day: str
    sl_seconds: int
    queues: list[QueueFigures]
    emergencies: list[dict[str, Any]]  # as on the live board, newest first
    agents: list[AgentsInState]

    def as_json(self) -> dict[str, Any]:
        """Plain values for /wallboard/data."""
        return asdict(self)


def _queue(row: dict[str, Any], limits: Limits) -> QueueFigures:
    longest = row["longest_wait"]
    level = row["today"]["service_level"]
    return QueueFigures(
        name=row["name"],
        waiting=Figure(
            row["waiting"], level_at_or_above(row["waiting"], limits.waiting_amber, limits.waiting_red)
        ),
        longest_wait=Figure(
            longest,
            level_at_or_above(longest or 0, limits.longest_wait_amber, limits.longest_wait_red),
        ),
        service_level=Figure(
            level, level_below(level, limits.service_level_amber, limits.service_level_red)
        ),
        emergencies_waiting=row["emergencies_waiting"],
        limits=limits,
    )


def _in_state(state: str, agents: list[dict[str, Any]]) -> AgentsInState:
    names = [agent["name"] for agent in agents if agent["state"] == state]
    return AgentsInState(state, len(names), names)


def wallboard(session: Session, *, rules: Rules, timezone: str, now: datetime) -> Wallboard:
    """The wallboard's figures now, with the levels of the limits stored by the supervisors."""
    floor = floor_now(session, rules=rules, timezone=timezone, now=now)
    stored = stored_limits(session)
    on_duty = [agent for agent in floor["agents"] if agent["active"]]
    return Wallboard(
        now=floor["now"],
        local_time=floor["local_time"],
        day=floor["day"],
        sl_seconds=floor["sl_seconds"],
        queues=[_queue(row, limits_for(row["name"], stored)) for row in floor["queues"]],
        emergencies=floor["emergencies"],
        agents=[_in_state(state, on_duty) for state in STATES],
    )
