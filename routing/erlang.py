"""Erlang C: how many agents a load of calls needs for a service level. Pure, standard library only.

The offered load A (in Erlangs) is calls x handling time / period. With N agents, Erlang C gives the
probability that a caller has to wait, P(wait); from it the service level (share answered within t s),
the average speed of answer and the occupancy. P(wait) is computed from Erlang B by its recursion
B(0) = 1, B(n) = A B(n-1) / (n + A B(n-1)), then C = N B / (N - A (1 - B)): no factorial and no power of
A is ever formed, so it stays exact to rounding for thousands of agents (the textbook formula overflows a
float near 170 agents).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_AGENTS = 100_000  # a search beyond this means the input cannot be met (or makes no sense)


@dataclass(frozen=True)
class Staffing:
    """Agents for one period and what they achieve by Erlang C."""

    agents: int
    load: float  # Erlangs offered
    p_wait: float  # probability a caller waits at all
    service_level: float  # share of callers answered within the target seconds
    asa: float  # average speed of answer, seconds, over all callers
    occupancy: float  # share of the agents' time spent handling calls


def offered_load(calls: float, period_seconds: float, handle_seconds: float) -> float:
    """Erlangs offered: calls arriving in the period times their handling time, over the period."""
    if period_seconds <= 0:
        raise ValueError("the period must be longer than 0 s")
    if calls < 0 or handle_seconds < 0:
        raise ValueError("calls and handling time cannot be negative")
    return calls * handle_seconds / period_seconds


def erlang_b(agents: int, load: float) -> float:
    """Probability that all `agents` are busy in a loss system (Erlang B), by the stable recursion."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load cannot be negative")
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def probability_of_waiting(agents: int, load: float) -> float:
    """Erlang C: the probability that a caller waits; 1 when the agents cannot keep up (load >= agents)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return 1.0
    blocking = erlang_b(agents, load)
    return agents * blocking / (agents - load * (1 - blocking))


def service_level(agents: int, load: float, handle_seconds: float, answer_within_seconds: float) -> float:
    """Share of callers answered within `answer_within_seconds`: 1 - P(wait) e^(-(N - A) t / h)."""
    if load <= 0:
        return 1.0
    if agents <= load:
        return 0.0  # the queue grows without end: in the long run nobody is answered in time
    p_wait = probability_of_waiting(agents, load)
    return 1.0 - p_wait * math.exp(-(agents - load) * answer_within_seconds / handle_seconds)


def average_speed_of_answer(agents: int, load: float, handle_seconds: float) -> float:
    """Mean wait over all callers (those answered at once count 0 s): P(wait) h / (N - A)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return math.inf
    return probability_of_waiting(agents, load) * handle_seconds / (agents - load)


def occupancy(agents: int, load: float) -> float:
    """Share of the agents' time spent on calls: A / N (at most 1: beyond that calls pile up)."""
    if agents <= 0:
        return 0.0 if load <= 0 else 1.0
    return min(1.0, load / agents)


def staffing(agents: int, load: float, handle_seconds: float, answer_within_seconds: float) -> Staffing:
    """Every Erlang C figure for `agents` agents at `load` Erlangs."""
    return Staffing(
        agents=agents,
        load=load,
        p_wait=probability_of_waiting(agents, load),
        service_level=service_level(agents, load, handle_seconds, answer_within_seconds),
        asa=average_speed_of_answer(agents, load, handle_seconds),
        occupancy=occupancy(agents, load),
    )


def agents_needed(
    calls: float,
    period_seconds: float,
    handle_seconds: float,
    target_level: float,
    answer_within_seconds: float,
    max_occupancy: float | None = None,
) -> Staffing:
    """The fewest agents that answer `target_level` of the calls within the seconds given (and, if asked,
    keep occupancy at or under `max_occupancy`); no calls need no agents."""
    if not 0 < target_level < 1:
        # 100 % is out of reach: with any load some caller meets every agent busy.
        raise ValueError("the target service level must be between 0 and 100 % (both excluded)")
    if answer_within_seconds < 0:
        raise ValueError("the answer time of the target cannot be negative")
    if max_occupancy is not None and not 0 < max_occupancy <= 1:
        raise ValueError("the maximum occupancy must be above 0 and at most 100 %")
    if calls > 0 and handle_seconds <= 0:
        raise ValueError("the handling time must be longer than 0 s")
    load = offered_load(calls, period_seconds, handle_seconds)
    if load <= 0:
        return staffing(0, 0.0, handle_seconds, answer_within_seconds)
    if load >= MAX_AGENTS:
        raise ValueError(f"more than {MAX_AGENTS} agents would be needed: check the calls and handling time")
    agents = math.floor(load) + 1  # the fewest with which the queue does not grow without end
    if max_occupancy is not None:
        agents = max(agents, math.ceil(load / max_occupancy - 1e-9))
    # Erlang B carried along as agents are added: each candidate costs one step of the recursion, so a
    # centre of thousands of agents is sized in one pass instead of one pass per candidate.
    blocking = erlang_b(agents, load)
    while agents <= MAX_AGENTS:
        p_wait = agents * blocking / (agents - load * (1 - blocking))
        level = 1.0 - p_wait * math.exp(-(agents - load) * answer_within_seconds / handle_seconds)
        if level >= target_level:
            return staffing(agents, load, handle_seconds, answer_within_seconds)
        agents += 1
        blocking = load * blocking / (agents + load * blocking)
    raise ValueError(f"more than {MAX_AGENTS} agents would be needed: check the calls and handling time")
