"""Skill-based routing, pure: pair waiting calls with available agents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.hours import is_open
from routing.model import (
    CALLER_LANGUAGE,
    Agent,
    Filter,
    Match,
    Pairing,
    Placement,
    Rules,
    Step,
    WaitingCall,
)
from routing.pools import AgentIndex, Pool, Requirement

CANDIDATES_KEPT = 10  # candidates a Pairing lists, best first
SAFETY_WIDENING_STEP = -1


def matches(match: Match, call: WaitingCall) -> bool:
    """Whether a filter's conditions admit a call (None admits anything; an unknown class only None)."""
    return (
        (match.intents is None or call.intent in match.intents)
        and (match.languages is None or call.language in match.languages)
        and (match.emergency is None or match.emergency == call.emergency)
        and (match.customer_classes is None or call.customer_class in match.customer_classes)
    )


def matching_filter(rules: Rules, call: WaitingCall) -> Filter | None:
    """The first filter that admits the call."""
    return next((f for f in rules.filters if matches(f.match, call)), None)


def current_step(steps: Sequence[Step], elapsed: float) -> int:
    """The step a call is at after `elapsed` seconds: each step lasts its timeout, the last one for good."""
    boundary = 0.0
    for index, step in enumerate(steps):
        if step.timeout_seconds is None:
            return index
        boundary += step.timeout_seconds
        if elapsed < boundary:
            return index
    return len(steps) - 1


def group_open(rules: Rules, group: str | None, now: float) -> bool:
    """Whether a group is open now; a step without a group, or a group without a calendar, never closes."""
    calendar = rules.calendars.get(group) if group is not None else None
    return calendar is None or is_open(calendar, now)


def place(rules: Rules, call: WaitingCall, now: float) -> Placement:
    """The filter and step a waiting call is at now, and whether its group is open."""
    chosen = matching_filter(rules, call)
    if chosen is None or not chosen.steps:
        raise LookupError(f"no filter with steps admits call {call.id}: rules version {rules.version}")
    step = current_step(chosen.steps, max(0.0, now - call.waiting_since))
    # Safety is 24 hours: an emergency is never "closed", whatever its group's calendar says.
    open_now = call.emergency or group_open(rules, chosen.steps[step].group, now)
    return Placement(call.id, chosen.name, step, open_now, None if open_now else chosen.after_hours)


def serving_group(rules: Rules, call: WaitingCall, now: float) -> str | None:
    """The agent group whose step serves the call at `now` (the after-hours step's when its own is closed):
    the group whose wrap-up follows the call. None when that step names no group."""
    placement = place(rules, call, now)
    if placement.after_hours is not None and placement.after_hours.step is not None:
        return placement.after_hours.step.group
    chosen = next(f for f in rules.filters if f.name == placement.filter)
    return chosen.steps[placement.step].group


def widens(rules: Rules, elapsed: float) -> bool:
    """Whether an emergency that has waited `elapsed` seconds may take any available agent."""
    return rules.safety_any_agent_at_once or elapsed >= rules.safety_any_agent_after


def service_order(call: WaitingCall) -> tuple[bool, int, float, str]:
    """Sort key: emergencies first, then higher priority, then longest waiting; the id settles ties."""
    return (not call.emergency, -call.priority, call.waiting_since, call.id)


@dataclass(frozen=True)
class _Tier:
    """One pool the route draws from, and what it means for the reason."""

    pool: Pool
    step: int  # the filter's step the agents match; SAFETY_WIDENING_STEP for "any agent"
    requirement: Requirement


@dataclass(frozen=True)
class _Route:
    """How calls of one kind are served at this moment: their pools in order of preference."""

    filter: Filter
    step: int
    tiers: tuple[_Tier, ...]
    after_hours: bool  # drawing on the filter's after-hours step, its own group being closed


def pair(rules: Rules, calls: Sequence[WaitingCall], agents: Sequence[Agent], now: float) -> list[Pairing]:
    """Pairings for this moment: safety first, then priority, then longest waiting; best agent for each."""
    if not calls:
        return []
    index = AgentIndex(agents)
    if not index.remaining:
        return []
    planner = _Planner(rules, index, now)
    pairings: list[Pairing] = []
    for call in sorted(calls, key=service_order):
        route = planner.route(call)
        if route is None:
            continue
        pairing = _serve(route, call, index, rules, now)
        if pairing is not None:
            pairings.append(pairing)
            if not index.remaining:
                break
    return pairings


class _Planner:
    """Finds each call's route, remembering filters, calendars and routes already worked out this moment."""

    def __init__(self, rules: Rules, index: AgentIndex, now: float):
        self.rules, self.index, self.now = rules, index, now
        self._filters: dict[tuple[str, str, bool, str | None], int | None] = {}
        self._open: dict[str | None, bool] = {}
        self._routes: dict[tuple[int, int, str, bool, bool, bool], _Route | None] = {}

    def route(self, call: WaitingCall) -> _Route | None:
        """The route for a call now, or None when nobody may take it (closed, voicemail, no filter)."""
        key = (call.intent, call.language, call.emergency, call.customer_class)
        if key in self._filters:
            position = self._filters[key]
        else:
            filters = enumerate(self.rules.filters)
            position = self._filters[key] = next((i for i, f in filters if matches(f.match, call)), None)
        if position is None:
            return None
        chosen = self.rules.filters[position]
        if not chosen.steps:
            return None
        elapsed = max(0.0, self.now - call.waiting_since)
        step = current_step(chosen.steps, elapsed)
        widened = call.emergency and widens(self.rules, elapsed)
        route_key = (position, step, call.language, call.emergency, call.callback, widened)
        if route_key not in self._routes:
            self._routes[route_key] = self._build(chosen, step, call, widened)
        return self._routes[route_key]

    def _is_open(self, group: str | None) -> bool:
        if group not in self._open:
            self._open[group] = group_open(self.rules, group, self.now)
        return self._open[group]

    def _build(self, chosen: Filter, step: int, call: WaitingCall, widened: bool) -> _Route | None:
        steps = chosen.steps
        after_hours = False
        if call.emergency:
            active = list(enumerate(steps[: step + 1]))
        elif self._is_open(steps[step].group):
            # Widening adds earlier steps' agents, but not those of a step whose own group is closed.
            active = [(j, s) for j, s in enumerate(steps[: step + 1]) if self._is_open(s.group)]
        elif call.callback:
            return None  # a call-back waits for its own group to open, not for the night shift
        else:
            fallback = chosen.after_hours
            if fallback is None or fallback.action != "step" or fallback.step is None:
                return None  # voicemail (or nothing configured): the shell takes a message
            if not self._is_open(fallback.step.group):
                return None
            active, after_hours = [(step, fallback.step)], True
        tiers: list[_Tier] = []
        seen: set[Requirement] = set()
        for j, s in active:
            requirement = requirement_of(s, call.language)
            if requirement not in seen:
                seen.add(requirement)
                tiers.append(_Tier(self.index.pool(requirement), j, requirement))
        if widened:
            # Any agent at all: those speaking the caller's language first, ranked by the first step's skill.
            skill = steps[0].skill
            for requirement in ((skill, 0, call.language), (skill, 0, None)):
                tiers.append(_Tier(self.index.pool(requirement), SAFETY_WIDENING_STEP, requirement))
        return _Route(chosen, step, tuple(tiers), after_hours)


def requirement_of(step: Step, caller_language: str) -> Requirement:
    """What an agent needs to take a call at this step: skill, minimum proficiency, language (None: any)."""
    language = caller_language if step.language == CALLER_LANGUAGE else step.language
    return (step.skill, step.min_proficiency, language)


def _serve(route: _Route, call: WaitingCall, index: AgentIndex, rules: Rules, now: float) -> Pairing | None:
    """Take the best free agent of the route for the call, listing the runners-up."""
    tiers = [tier for tier in route.tiers if tier.pool.free]
    if not tiers:
        return None
    agents = index.agents
    seen: set[int] = set()
    ranked: list[tuple[int, _Tier]] = []
    for tier in tiers:
        members = tier.pool.members
        position = index.first_free(tier.pool)
        while position < len(members) and len(ranked) < CANDIDATES_KEPT:
            agent = members[position]
            if agent not in seen:
                seen.add(agent)
                ranked.append((agent, tier))
            position = index.next_free(tier.pool, position + 1)
        if len(ranked) >= CANDIDATES_KEPT:
            break
    # Exact when the candidates are all there is; otherwise the largest tier is a floor (tiers overlap).
    exact = len(ranked) < CANDIDATES_KEPT or len(tiers) == 1
    eligible = max(len(ranked), max(tier.pool.free for tier in tiers))
    best, tier = ranked[0]
    index.take(best)
    candidates = tuple(index.candidate(a, t.pool.skill) for a, t in ranked)
    step = route.step if tier.step != SAFETY_WIDENING_STEP else SAFETY_WIDENING_STEP
    count = str(eligible) if exact else f"{eligible}+"
    reason = _reason(route, call, agents[best], tier, count, rules, now)
    return Pairing(call.id, agents[best].id, route.filter.name, step, reason, candidates, route.after_hours)


def _describe(requirement: Requirement, group: str | None = None) -> str:
    skill, minimum, language = requirement
    text = f"{skill}>={minimum}, {language or 'any language'}"
    return f"{text}, group {group}" if group else text


def _reason(
    route: _Route, call: WaitingCall, agent: Agent, tier: _Tier, count: str, rules: Rules, now: float
) -> str:
    """The decision in plain words, for a supervisor reading the routing log."""
    steps = route.filter.steps
    elapsed = max(0.0, now - call.waiting_since)
    current = requirement_of(steps[route.step], call.language)
    parts = [
        f"filter {route.filter.name} step {route.step + 1} of {len(steps)} ({_describe(current)})"
        f" after {elapsed:.0f} s waiting"
    ]
    if route.after_hours and route.filter.after_hours and route.filter.after_hours.step:
        fallback = route.filter.after_hours.step
        parts.append(
            f"group {steps[route.step].group} closed, so its after-hours step"
            f" ({_describe(requirement_of(fallback, call.language), fallback.group)})"
        )
    if call.callback:
        parts.append("a call-back")
    who = f"agent {agent.id}"
    if tier.step == SAFETY_WIDENING_STEP:
        if rules.safety_any_agent_at_once:
            why = "the next free agent of any group takes it at once (step -1)"
            waited = ""
        else:
            why = "any available agent may take it (step -1)"
            waited = f" waiting {elapsed:.0f} s >= {rules.safety_any_agent_after:.0f} s"
        parts.append(f"emergency{waited} with no agent of its steps free, so {why}")
        speaks = "speaks" if call.language in agent.languages else "does not speak"
        who += f", {speaks} {call.language}"
    elif tier.step != route.step and not route.after_hours:
        who += f" (matches earlier step {tier.step + 1}: {_describe(tier.requirement)})"
    skill = tier.pool.skill
    parts.append(
        f"best of {count} eligible: {who}, {skill} proficiency {agent.skills.get(skill, 0)},"
        f" idle {max(0.0, now - agent.idle_since):.0f} s"
    )
    return "; ".join(parts)
