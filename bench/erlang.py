"""The real router in a simulated call centre, beside Erlang C for the same load.

    .venv/bin/python bench/erlang.py [--runs 4] [--calls 200000]

Poisson arrivals, exponential handling times, no abandonment, one filter and one skill, all agents equal.
`pair()` is called at every arrival and at every agent release, exactly as the dispatcher would. Erlang C
assumes first-come-first-served with any free agent taking the next caller: if the router orders calls
and frees agents correctly, the simulation must land on Erlang C's service level, ASA, P(wait), occupancy.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing import erlang  # noqa: E402
from routing.model import Agent, Filter, Match, Rules, Step, WaitingCall  # noqa: E402
from routing.router import pair  # noqa: E402

SERVICE_SECONDS = 20.0  # service level: answered within this many seconds
RULES = Rules(version=0, filters=(Filter("everyone", Match(), (Step("general", 1, None),)),))
SKILLS, LANGUAGES = {"general": 3}, frozenset({"zh-CN"})
WARM_UP_SHARE = 0.02  # the first calls meet an empty centre: left out of the figures


@dataclass(frozen=True)
class ErlangC:
    """Erlang C figures for an offered load."""

    p_wait: float
    service_level: float
    asa: float
    occupancy: float


def erlang_c(calls_per_hour: float, handle_seconds: float, agents: int, answer_within: float) -> ErlangC:
    """Erlang C as the product computes it (routing/erlang.py: the Erlang B recursion)."""
    load = erlang.offered_load(calls_per_hour, 3600, handle_seconds)  # offered load in Erlangs
    if load >= agents:
        raise ValueError(f"load {load:.2f} E needs more than {agents} agents")
    figures = erlang.staffing(agents, load, handle_seconds, answer_within)
    return ErlangC(figures.p_wait, figures.service_level, figures.asa, figures.occupancy)


@dataclass
class Hooks:
    """What a caller of `simulate` may watch: each arrival, answer and release."""

    arrival: Callable[[int, int, int, float], None] = lambda number, position, free, now: None
    answer: Callable[[int, float], None] = lambda number, wait: None
    release: Callable[[float], None] = lambda handled: None


@dataclass
class Outcome:
    """Waits of the calls counted (after the warm-up) and the agents' busy time over the same span."""

    waits: list[float] = field(default_factory=list)
    busy_seconds: float = 0.0
    span_seconds: float = 0.0
    pair_calls: int = 0


def simulate(
    seed: int,
    calls: int,
    calls_per_hour: float,
    handle_seconds: float,
    agents: int,
    hooks: Hooks | None = None,
) -> Outcome:
    """Run `calls` arrivals through the router; returns the waits and the occupancy inputs."""
    hooks = hooks or Hooks()
    rng = random.Random(seed)
    rate = calls_per_hour / 3600
    staff = {i: Agent(i, SKILLS, LANGUAGES, True, 0.0) for i in range(1, agents + 1)}
    on_call = {i: Agent(i, SKILLS, LANGUAGES, False, 0.0) for i in staff}  # built once: replace() is slow
    waiting: dict[str, WaitingCall] = {}  # insertion order = arrival order
    numbers: dict[str, int] = {}
    events: list[tuple[float, int, int]] = []  # (time, kind 0 = arrival / 1 = release, agent or call number)
    heapq.heappush(events, (rng.expovariate(rate), 0, 0))
    warm_up = int(calls * WARM_UP_SHARE)
    outcome = Outcome()
    busy_since: dict[int, float] = {}
    busy: list[tuple[float, float]] = []  # (began, ended) of every handled call
    start = end = 0.0

    def dispatch(now: float) -> None:
        outcome.pair_calls += 1
        for pairing in pair(RULES, list(waiting.values()), list(staff.values()), now):
            call = waiting.pop(pairing.call_id)
            number = numbers.pop(pairing.call_id)
            staff[pairing.agent_id] = on_call[pairing.agent_id]
            busy_since[pairing.agent_id] = now
            wait = now - call.waiting_since
            hooks.answer(number, wait)
            if number >= warm_up:
                outcome.waits.append(wait)
            heapq.heappush(events, (now + rng.expovariate(1 / handle_seconds), 1, pairing.agent_id))

    while events:
        now, kind, subject = heapq.heappop(events)
        if kind == 0:
            if subject == warm_up:
                start = now
            call_id = f"c{subject}"
            waiting[call_id] = WaitingCall(call_id, "agent", "zh-CN", now)
            numbers[call_id] = subject
            free = sum(agent.available for agent in staff.values())
            hooks.arrival(subject, len(waiting), free, now)
            if subject + 1 < calls:
                heapq.heappush(events, (now + rng.expovariate(rate), 0, subject + 1))
            else:
                end = now  # the last arrival closes the measured span
            dispatch(now)
        else:
            began = busy_since.pop(subject)
            busy.append((began, now))
            hooks.release(now - began)
            staff[subject] = Agent(subject, SKILLS, LANGUAGES, True, now)
            dispatch(now)
    # Occupancy over the measured span only: busy time clipped to [first counted arrival, last arrival].
    outcome.busy_seconds = sum(max(0.0, min(ended, end) - max(began, start)) for began, ended in busy)
    outcome.span_seconds = end - start
    return outcome


def figures(outcome: Outcome, agents: int) -> ErlangC:
    """The simulated counterparts of the Erlang C figures."""
    waits = outcome.waits
    return ErlangC(
        p_wait=sum(w > 0 for w in waits) / len(waits),
        service_level=sum(w <= SERVICE_SECONDS for w in waits) / len(waits),
        asa=statistics.fmean(waits),
        occupancy=outcome.busy_seconds / (agents * outcome.span_seconds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="independent seeded runs")
    parser.add_argument("--calls", type=int, default=200_000, help="calls per run")
    parser.add_argument("--rate", type=float, default=200.0, help="calls per hour")
    parser.add_argument("--handle", type=float, default=180.0, help="mean handling seconds")
    parser.add_argument("--agents", type=int, default=14)
    args = parser.parse_args()

    theory = erlang_c(args.rate, args.handle, args.agents, SERVICE_SECONDS)
    print(
        f"Erlang C check: {args.rate:.0f} calls/h, {args.handle:.0f} s handling, {args.agents} agents,"
        f" {args.runs} runs x {args.calls} calls (first {WARM_UP_SHARE:.0%} of each left out)"
    )
    runs = []
    started = time.perf_counter()
    for seed in range(1, args.runs + 1):
        outcome = simulate(seed, args.calls, args.rate, args.handle, args.agents)
        runs.append((outcome, figures(outcome, args.agents)))
        f = runs[-1][1]
        print(
            f"  run {seed}: P(wait) {f.p_wait:.4f}  SL {f.service_level:.2%}  ASA {f.asa:6.2f} s"
            f"  occupancy {f.occupancy:.2%}  ({outcome.pair_calls} pair() calls)"
        )
    elapsed = time.perf_counter() - started
    pooled = Outcome(
        waits=[w for outcome, _ in runs for w in outcome.waits],
        busy_seconds=sum(outcome.busy_seconds for outcome, _ in runs),
        span_seconds=sum(outcome.span_seconds for outcome, _ in runs),
    )
    simulated = figures(pooled, args.agents)
    print(f"  {'':<16}{'simulated':>12}{'Erlang C':>12}{'difference':>12}")
    checks = [
        ("P(wait)", simulated.p_wait, theory.p_wait, "{:.4f}"),
        ("service level", simulated.service_level, theory.service_level, "{:.2%}"),
        ("ASA (s)", simulated.asa, theory.asa, "{:.2f}"),
        ("occupancy", simulated.occupancy, theory.occupancy, "{:.2%}"),
    ]
    worst = 0.0
    for name, sim, exact, fmt in checks:
        difference = (sim - exact) / exact
        worst = max(worst, abs(difference))
        print(f"  {name:<16}{fmt.format(sim):>12}{fmt.format(exact):>12}{difference:>+12.2%}")
    spread = (
        statistics.stdev(f.asa for _, f in runs) / math.sqrt(len(runs)) if len(runs) > 1 else float("nan")
    )
    print(f"  ASA standard error across runs: {spread:.2f} s")
    calls_made = sum(outcome.pair_calls for outcome, _ in runs)
    print(
        f"  largest relative difference {worst:.2%} ({'within' if worst <= 0.05 else 'OUTSIDE'} 5 %);"
        f" {calls_made} pair() calls in {elapsed:.1f} s ({elapsed / calls_made * 1e6:.1f} us each)"
    )


if __name__ == "__main__":
    main()
