"""Who is called back among a month's completions: exclusions first, then the policy's share per service
type, stratified by employee. Pure and deterministic: the same cases, policy, lists and seed give the
same decisions. The rules and why are in docs/callbacks.md."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from ivr.callbacks.phones import normalise_phone
from ivr.callbacks.policy import Policy

# Why a completion is not called back (CallbackCandidate.exclusion_reason), in the order they are checked.
NO_USABLE_NUMBER = "no_usable_number"
DO_NOT_CALL = "do_not_call"
UNKNOWN_SERVICE_TYPE = "service_type_not_in_policy"
LATER_COMPLETION = "later_completion_same_customer"  # the customer's latest completion is the one kept
RECENTLY_CALLED = "recently_called_back"
NOT_SAMPLED = "not_sampled"  # eligible, but not drawn for its service type's share
REASONS = (
    NO_USABLE_NUMBER,
    DO_NOT_CALL,
    UNKNOWN_SERVICE_TYPE,
    LATER_COMPLETION,
    RECENTLY_CALLED,
    NOT_SAMPLED,
)


@dataclass(frozen=True)
class Case:
    """A completion as the selection sees it."""

    id: int
    service_type: str
    completed_at: datetime  # naive UTC
    phone: str  # as stored; normalised here
    employee: str


@dataclass(frozen=True)
class Decision:
    """Selected (reason None) or excluded with its reason."""

    completion_id: int
    selected: bool
    reason: str | None = None


def sample_size(share: float, cases: int, eligible: int, min_cases: int) -> int:
    """How many eligible cases of a service type are called back: all of them when the type had fewer than
    `min_cases` cases in the month (excluded ones count: they are cases), else ceil(share x eligible)."""
    if cases < min_cases:
        return eligible
    return min(eligible, math.ceil(Fraction(str(share)) * eligible))  # exact: 10% of 30 is 3, not 4


def allocate(target: int, capacities: Mapping[str, int], rng: random.Random) -> dict[str, int]:
    """Balance `target` call-backs over employees: one each in turn (the turn order drawn from `rng`),
    skipping an employee who has no cases left, so counts differ by at most one unless a cap is reached."""
    order = sorted(capacities)
    rng.shuffle(order)
    given = dict.fromkeys(order, 0)
    remaining = min(target, sum(capacities.values()))
    while remaining:
        for employee in order:
            if remaining and given[employee] < capacities[employee]:
                given[employee] += 1
                remaining -= 1
    return given


def decide(
    cases: Iterable[Case],
    policy: Policy,
    *,
    do_not_call: Collection[str],
    recent_callbacks: Mapping[str, Sequence[datetime]],
    seed: int,
) -> list[Decision]:
    """One decision per case, ordered by completion id. `do_not_call` holds E.164 numbers;
    `recent_callbacks` maps an E.164 number to when that customer was called back before."""
    ordered = sorted(cases, key=lambda case: case.id)
    decided: dict[int, Decision] = {}
    phones: dict[int, str] = {}
    for case in ordered:
        phone = normalise_phone(case.phone)
        if phone is None:
            decided[case.id] = Decision(case.id, False, NO_USABLE_NUMBER)
        elif phone in do_not_call:
            decided[case.id] = Decision(case.id, False, DO_NOT_CALL)
        elif case.service_type not in policy.shares:
            decided[case.id] = Decision(case.id, False, UNKNOWN_SERVICE_TYPE)
        else:
            phones[case.id] = phone

    latest: dict[str, Case] = {}
    for case in ordered:
        if case.id in phones:
            kept = latest.get(phones[case.id])
            if kept is None or (case.completed_at, case.id) > (kept.completed_at, kept.id):
                latest[phones[case.id]] = case
    window = timedelta(days=policy.recent_callback_days)
    eligible: dict[str, list[Case]] = defaultdict(list)
    for case in ordered:
        if case.id not in phones:
            continue
        phone = phones[case.id]
        if latest[phone].id != case.id:
            decided[case.id] = Decision(case.id, False, LATER_COMPLETION)
        elif any(when >= case.completed_at - window for when in recent_callbacks.get(phone, ())):
            decided[case.id] = Decision(case.id, False, RECENTLY_CALLED)
        else:
            eligible[case.service_type].append(case)

    counts: dict[str, int] = defaultdict(int)
    for case in ordered:
        counts[case.service_type] += 1
    for service_type, pool in sorted(eligible.items()):
        rng = random.Random(f"{seed}:{service_type}")
        target = sample_size(
            policy.shares[service_type], counts[service_type], len(pool), policy.min_cases_for_sampling
        )
        by_employee: dict[str, list[Case]] = defaultdict(list)
        for case in pool:
            by_employee[case.employee].append(case)
        quota = allocate(target, {name: len(items) for name, items in by_employee.items()}, rng)
        chosen: set[int] = set()
        for employee in sorted(by_employee):
            chosen.update(case.id for case in rng.sample(by_employee[employee], quota[employee]))
        for case in pool:
            selected = case.id in chosen
            decided[case.id] = Decision(case.id, selected, None if selected else NOT_SAMPLED)
    return [decided[case.id] for case in ordered]
