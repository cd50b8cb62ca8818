"""How long a waiting caller will wait: from their position, the agents able to take them, handling times."""

from __future__ import annotations

import math
from collections.abc import Iterable


def estimated_wait(
    position: int,
    eligible_agents: int,
    mean_handle_seconds: float,
    *,
    free_agents: int = 0,
    first_release_seconds: float | None = None,
) -> float:
    """Expected seconds until an agent takes the caller at `position` (1 = next); inf if nobody can.

    The caller needs `position - free_agents` agents to become free. While all `eligible_agents` are busy
    they free up one every `mean_handle_seconds / eligible_agents` on average (exactly so when handling
    times are exponential), so the wait is that many releases. `first_release_seconds`, when the shell
    knows it (from how long the current calls have lasted), replaces the first of them.
    """
    if position < 1:
        raise ValueError("position counts from 1 (the next caller to be served)")
    releases = position - max(0, free_agents)
    if releases <= 0:
        return 0.0
    if eligible_agents <= 0:
        return math.inf
    between = max(0.0, mean_handle_seconds) / eligible_agents
    if first_release_seconds is None:
        return releases * between
    return max(0.0, first_release_seconds) + (releases - 1) * between


def mean_handle_seconds(recent: Iterable[float], default: float) -> float:
    """Mean of recent handling times (talk plus wrap-up), or `default` when there are none."""
    total, count = 0.0, 0
    for seconds in recent:
        total += seconds
        count += 1
    return total / count if count else default


def asterisk_holdtime(previous: int, hold_seconds: int) -> int:
    """Asterisk app_queue's running hold time: (3 * previous + this) / 4 in whole seconds, rounded down.

    Updated with each answered caller's hold time; the queue announces it (less the time already waited)
    as the estimated wait, whatever the caller's position and however many agents are logged in.
    """
    return (3 * previous + hold_seconds) // 4
