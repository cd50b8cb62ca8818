"""One routing decision at scale: pair() over 1,000 agents and 10,000 waiting callers.

    .venv/bin/python bench/routing_decision.py [--repeat 50] [--seed 7]

Prints median and p99 of pair() on the full input, beside two baselines from the same run: sorting the
calls alone (the floor any router pays) and the naive O(calls x agents) reference on a smaller input,
whose answers must equal pair()'s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ivr.configuration.rules.convert import rules_from_raw  # noqa: E402
from ivr.configuration.rules.validation import load_rules_file  # noqa: E402
from routing.model import Agent, Rules, WaitingCall  # noqa: E402
from routing.reference import naive_pair  # noqa: E402
from routing.router import pair, service_order  # noqa: E402

# A weekday morning in Shanghai, every group open.
NOW = datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
# (share, skills with proficiency ranges) of the agent population.
PROFILES: list[tuple[float, dict[str, tuple[int, int]]]] = [
    (0.12, {"safety": (2, 5), "repair": (1, 4)}),
    (0.33, {"billing": (1, 5), "general": (2, 4)}),
    (0.20, {"repair": (1, 5), "general": (1, 3)}),
    (0.10, {"complaint": (1, 5), "general": (2, 4)}),
    (0.25, {"general": (1, 5)}),
]
INTENTS = [("billing", 0.40, 5), ("repair", 0.25, 5), ("agent", 0.20, 4), ("complaint", 0.10, 6)]


def make_agents(rng: random.Random, count: int, available_share: float) -> list[Agent]:
    """Agents with a realistic mix of skills and languages (most Mandarin only, some bilingual)."""
    agents = []
    shares = [share for share, _ in PROFILES]
    for agent_id in range(1, count + 1):
        (_, profile) = rng.choices(PROFILES, weights=shares)[0]
        skills = {skill: rng.randint(low, high) for skill, (low, high) in profile.items()}
        roll = rng.random()
        languages = {"zh-CN"} if roll < 0.85 else {"zh-CN", "en-US"} if roll < 0.97 else {"en-US"}
        agents.append(
            Agent(
                id=agent_id,
                skills=skills,
                languages=frozenset(languages),
                available=rng.random() < available_share,
                idle_since=NOW - rng.uniform(0, 900),
            )
        )
    return agents


def make_calls(rng: random.Random, count: int) -> list[WaitingCall]:
    """Waiting callers: intents as the menu sends them, 5 % gas leaks, 10 % English, 3 % call-backs."""
    calls = []
    weights = [weight for _, weight, _ in INTENTS]
    for number in range(count):
        emergency = rng.random() < 0.05
        intent, _, priority = ("safety", 0, 10) if emergency else rng.choices(INTENTS, weights=weights)[0]
        roll = rng.random()
        calls.append(
            WaitingCall(
                id=f"CA{number:08d}",
                intent=intent,
                language="en-US" if rng.random() < 0.10 else "zh-CN",
                waiting_since=NOW - rng.uniform(0, 600),
                priority=priority,
                emergency=emergency,
                customer_class="residential" if roll < 0.85 else "commercial" if roll < 0.95 else None,
                callback=rng.random() < 0.03,
            )
        )
    return calls


def timed(function: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per run, after one warm-up run."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def row(label: str, times: list[float]) -> str:
    return f"  {label:<52} median {statistics.median(times):8.2f} ms   p99 {p99(times):8.2f} ms"


def decisions(
    rules: Rules, calls: list[WaitingCall], agents: list[Agent]
) -> list[tuple[str, int, str, int, bool]]:
    return [(p.call_id, p.agent_id, p.filter, p.step, p.after_hours) for p in pair(rules, calls, agents, NOW)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rules = rules_from_raw(load_rules_file(), 1)

    agents = make_agents(rng, 1000, available_share=1.0)
    calls = make_calls(rng, 10_000)
    surge_agents = make_agents(rng, 1000, available_share=0.05)
    small_agents = make_agents(rng, 1000, available_share=1.0)
    small_calls = make_calls(rng, 1000)

    result = pair(rules, calls, agents, NOW)
    print(f"routing decision benchmark (seed {args.seed}, {args.repeat} runs each, after one warm-up)")
    # The machine is shared: a busy one stretches every figure, so the ratios are the figures to compare.
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    print(f"  full input: {len(calls)} calls waiting, {len(agents)} agents, all free: {len(result)} paired")
    full = timed(lambda: pair(rules, calls, agents, NOW), args.repeat)
    surge = timed(lambda: pair(rules, calls, surge_agents, NOW), args.repeat)
    sort_only = timed(lambda: sorted(calls, key=service_order), args.repeat)
    print(row("pair(): 10,000 calls x 1,000 agents (all available)", full))
    print(
        row(
            f"pair(): 10,000 calls, {sum(a.available for a in surge_agents)} of 1,000 agents available", surge
        )
    )
    print(row("baseline: sorting the 10,000 calls alone", sort_only))
    print(f"  ratio pair() / sort alone: {statistics.median(full) / statistics.median(sort_only):.1f}x")

    small = timed(lambda: pair(rules, small_calls, small_agents, NOW), args.repeat)
    naive = timed(lambda: naive_pair(rules, small_calls, small_agents, NOW), max(3, args.repeat // 10))
    same = decisions(rules, small_calls, small_agents) == naive_pair(rules, small_calls, small_agents, NOW)
    print(row("pair(): 1,000 calls x 1,000 agents", small))
    print(row("baseline: naive O(calls x agents), same input", naive))
    ratio = statistics.median(naive) / statistics.median(small)
    print(f"  ratio naive / pair(): {ratio:.0f}x; same pairings as pair(): {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
