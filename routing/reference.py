"""The router's rules written the plain way, O(calls x agents): the oracle tests and benchmarks compare to."""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import CALLER_LANGUAGE, Agent, Rules, Step, WaitingCall
from routing.router import current_step, group_open, matching_filter, service_order

# (call id, agent id, filter, step, after hours): what a Pairing decides, without the explanation.
Decision = tuple[str, int, str, int, bool]


def _qualifies(agent: Agent, step: Step, caller_language: str) -> bool:
    language = caller_language if step.language == CALLER_LANGUAGE else step.language
    return agent.skills.get(step.skill, 0) >= step.min_proficiency and (
        language is None or language in agent.languages
    )


def naive_pair(
    rules: Rules, calls: Sequence[WaitingCall], agents: Sequence[Agent], now: float
) -> list[Decision]:
    """Every call in service order looks at every agent: slow, obviously right, same answers as `pair`."""
    taken: set[int] = set()
    decisions: list[Decision] = []
    for call in sorted(calls, key=service_order):
        chosen = matching_filter(rules, call)
        if chosen is None or not chosen.steps:
            continue
        steps = chosen.steps
        elapsed = max(0.0, now - call.waiting_since)
        step = current_step(steps, elapsed)
        after_hours = False
        if call.emergency:
            tiers = list(steps[: step + 1])
        elif group_open(rules, steps[step].group, now):
            tiers = [s for s in steps[: step + 1] if group_open(rules, s.group, now)]
        elif call.callback:
            continue
        else:
            fallback = chosen.after_hours
            if not (fallback and fallback.action == "step" and fallback.step):
                continue
            if not group_open(rules, fallback.step.group, now):
                continue
            tiers, after_hours = [fallback.step], True
        at_once = rules.safety_any_agent_at_once
        widened = call.emergency and (at_once or elapsed >= rules.safety_any_agent_after)
        best: tuple[tuple[int, int, float, int], Agent, int] | None = None
        for agent in agents:
            if not agent.available or agent.id in taken:
                continue
            rank: tuple[int, int, float, int] | None = None
            for tier, s in enumerate(tiers):
                if _qualifies(agent, s, call.language):
                    rank = (tier, -agent.skills.get(s.skill, 0), agent.idle_since, agent.id)
                    break
            if rank is None and widened:
                tier = len(tiers) + (0 if call.language in agent.languages else 1)
                rank = (tier, -agent.skills.get(steps[0].skill, 0), agent.idle_since, agent.id)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, agent, step if rank[0] < len(tiers) else -1)
        if best is not None:
            taken.add(best[1].id)
            decisions.append((call.id, best[1].id, chosen.name, best[2], after_hours))
    return decisions
