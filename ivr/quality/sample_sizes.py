"""The daily audit sample, pure: how many calls, how many per agent, and which ones (standard library only).

`draw(recordings, seed, rate, ...)` is deterministic: the same recordings (in any order) and the same seed
give the same sample, on any machine and any Python version, because every random choice is a SHA-256 of
the seed and a recording id (or an agent id) rather than a call into `random`. docs/audit.md explains.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

MIN_RATE = Fraction(1, 10)  # DOMAIN: quality staff listen to at least 10% of the recorded calls every day
ALGORITHM = "stratified-balanced/1"  # stored with each sample; change it if the draw below ever changes
OVERSAMPLE_CHOICES = ("billing", "safety", "repair", "complaint", "agent")  # the call intents

AgentKey = int | None  # a recording without an agent forms its own stratum (None)


@dataclass(frozen=True)
class Candidate:
    """One recorded call that may be drawn: its recording, agent, length and what the call was about."""

    recording_id: int
    agent_id: AgentKey
    call_sid: str = ""
    duration_seconds: int | None = None
    intent: str | None = None
    emergency: bool = False
    complaint_class: str | None = None

    def is_long_enough(self, min_duration: int) -> bool:
        """At least `min_duration` seconds long; an unknown length never counts as long enough."""
        if min_duration <= 0:
            return True
        return self.duration_seconds is not None and self.duration_seconds >= min_duration

    def is_oversampled(self, oversample: Collection[str]) -> bool:
        """An intent to over-sample (an emergency counts as safety, a complaint class as complaint)."""
        return (
            (self.intent is not None and self.intent in oversample)
            or (self.emergency and "safety" in oversample)
            or (bool(self.complaint_class) and "complaint" in oversample)
        )


@dataclass(frozen=True)
class Draw:
    """A drawn sample and the figures that explain it."""

    items: tuple[Candidate, ...]  # sorted by agent, then recording id
    seed: int
    rate: Fraction  # the rate applied (never under MIN_RATE)
    recorded: int
    at_rate: int  # ceil(rate × recorded)
    target: int  # at_rate raised to one call per agent, at most every call
    available: dict[AgentKey, int]  # recorded calls per agent
    allocation: dict[AgentKey, int]  # sampled calls per agent
    min_duration: int
    oversample: tuple[str, ...]
    long_calls: int  # recorded calls at least min_duration long
    short_drawn: int  # drawn although shorter than min_duration (to reach the rate and every agent)
    oversampled_calls: int
    oversampled_drawn: int
    notes: tuple[str, ...]

    def params(self) -> dict[str, Any]:
        """The figures to store with the sample (JSON)."""
        return {
            "algorithm": ALGORITHM,
            "min_duration": self.min_duration,
            "oversample": list(self.oversample),
            "at_rate": self.at_rate,
            "target": self.target,
            "recorded_per_agent": {agent_label(k): n for k, n in self.available.items()},
            "sampled_per_agent": {agent_label(k): n for k, n in self.allocation.items()},
            "long_calls": self.long_calls,
            "short_drawn": self.short_drawn,
            "oversampled_calls": self.oversampled_calls,
            "oversampled_drawn": self.oversampled_drawn,
            "notes": list(self.notes),
        }


def agent_label(agent: AgentKey) -> str:
    """How an agent is named in stored figures: its id, or "none" for recordings without an agent."""
    return "none" if agent is None else str(agent)


def agent_order(agent: AgentKey) -> tuple[bool, int]:
    """Agents in id order, recordings without an agent last."""
    return (agent is None, agent or 0)


def effective_rate(rate: float) -> Fraction:
    """The rate as an exact fraction raised to the 10% floor; above 1 (or not a number) it is an error."""
    if not math.isfinite(rate) or rate > 1:
        raise ValueError(f"an audit rate is a share between 0.10 and 1, not {rate!r}")
    # str() first: 0.1 is 1/10 here, not 0.1000000000000000055..., so 30 calls give 3, not 4.
    exact = Fraction(str(rate)) if rate > 0 else Fraction(0)
    return max(exact, MIN_RATE)


def target_size(recorded: int, rate: float, strata: int = 0) -> int:
    """ceil(rate × recorded) with the 10% floor, raised to one call per stratum, at most every call."""
    if recorded <= 0:
        return 0
    return min(recorded, max(math.ceil(effective_rate(rate) * recorded), strata))


def allocate(
    available: Mapping[AgentKey, int], size: int, tiebreak: Callable[[AgentKey], Any] = agent_order
) -> dict[AgentKey, int]:
    """Spread `size` calls over the agents as evenly as their calls allow (water-filling).

    Round after round every agent with unsampled calls gets one more, so every agent gets one before anyone
    gets two; an agent whose calls are all taken drops out. When a round cannot be completed, the remaining
    calls go to the agents with the most unsampled calls (ties: `tiebreak`, smallest first). So the counts
    of any two agents differ by at most one, unless the smaller one has had every call sampled.
    """
    agents = sorted((k for k, n in available.items() if n > 0), key=agent_order)
    counts = dict.fromkeys(agents, 0)
    remaining = min(max(size, 0), sum(available[k] for k in agents))
    while remaining > 0:
        open_agents = [k for k in agents if counts[k] < available[k]]
        if len(open_agents) <= remaining:
            for k in open_agents:
                counts[k] += 1
            remaining -= len(open_agents)
            continue
        open_agents.sort(key=lambda k: (-(available[k] - counts[k]), tiebreak(k)))
        for k in open_agents[:remaining]:
            counts[k] += 1
        remaining = 0
    return counts


def draw(
    recordings: Iterable[Candidate],
    seed: int,
    rate: float,
    *,
    min_duration: int = 0,
    oversample: Collection[str] = (),
) -> Draw:
    """The audit sample of one day's recorded calls: pure and deterministic in (recordings, seed, options).

    Size: ceil(rate × recorded calls), rate never under 10%, raised so every agent has at least one call.
    Per agent: balanced (`allocate`), not proportional to how many calls each agent took.
    Within an agent, calls are taken in this order, each group in seeded random order:
    long enough and over-sampled, long enough, too short and over-sampled, too short. So the minimum
    duration and the over-sampled intents choose *which* calls fill an agent's share, never how many.
    """
    ordered: Sequence[Candidate] = sorted(recordings, key=lambda c: c.recording_id)
    ids = [c.recording_id for c in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("a recording appears twice in the candidates")
    if min_duration < 0:
        raise ValueError("the minimum duration cannot be negative")
    wanted = tuple(sorted(set(oversample)))
    unknown = set(wanted) - set(OVERSAMPLE_CHOICES)
    if unknown:
        raise ValueError(f"unknown intent(s) to over-sample: {', '.join(sorted(unknown))}")
    exact_rate = effective_rate(rate)

    by_agent: dict[AgentKey, list[Candidate]] = {}
    for candidate in ordered:
        by_agent.setdefault(candidate.agent_id, []).append(candidate)
    by_agent = {k: by_agent[k] for k in sorted(by_agent, key=agent_order)}
    available = {k: len(v) for k, v in by_agent.items()}

    recorded = len(ordered)
    at_rate = math.ceil(exact_rate * recorded)
    target = target_size(recorded, rate, strata=len(by_agent))
    allocation = allocate(available, target, tiebreak=lambda k: _key(seed, "agent", agent_label(k)))

    def rank(c: Candidate) -> tuple[bool, bool, int]:
        return (
            not c.is_long_enough(min_duration),
            not c.is_oversampled(wanted),
            _key(seed, "rec", c.recording_id),
        )

    chosen: list[Candidate] = []
    for agent, calls in by_agent.items():
        chosen.extend(sorted(sorted(calls, key=rank)[: allocation[agent]], key=lambda c: c.recording_id))

    long_calls = sum(c.is_long_enough(min_duration) for c in ordered)
    short_drawn = sum(not c.is_long_enough(min_duration) for c in chosen)
    notes: list[str] = []
    if target > at_rate:
        notes.append(
            f"{len(by_agent)} agents with recorded calls need at least one call each: "
            f"the sample is {target} calls, not {at_rate}"
        )
    if short_drawn:
        notes.append(
            f"only {long_calls} of {recorded} recorded calls are at least {min_duration}s long; "
            f"{short_drawn} shorter call(s) were drawn so that the sample keeps the rate and every agent"
        )
    return Draw(
        items=tuple(chosen),
        seed=seed,
        rate=exact_rate,
        recorded=recorded,
        at_rate=at_rate,
        target=target,
        available=available,
        allocation=allocation,
        min_duration=min_duration,
        oversample=wanted,
        long_calls=long_calls,
        short_drawn=short_drawn,
        oversampled_calls=sum(c.is_oversampled(wanted) for c in ordered),
        oversampled_drawn=sum(c.is_oversampled(wanted) for c in chosen),
        notes=tuple(notes),
    )


def _key(seed: int, kind: str, value: object) -> int:
    """A seeded random number for one recording or agent, the same everywhere and for ever."""
    digest = hashlib.sha256(f"{seed}:{kind}:{value}".encode()).digest()
    return int.from_bytes(digest[:8], "big")
