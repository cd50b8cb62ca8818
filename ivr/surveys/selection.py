"""Who is called back among a draw's completions. Pure and deterministic.

Exclusions first, then the policy's share per service type and month, counted on the month so far, stratified
by employee over the month. The same cases, policy, lists, month figures and seed give the same decisions. The
rules and why are in docs/callbacks.md, "The daily draw"."""

from __future__ import annotations

import heapq
import math
import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from ivr.surveys.policy import Policy
from ivr.telephony.phones import normalise_phone

# Why a completion is not called back (CallbackCandidate.exclusion_reason), in the order they are checked.
NO_USABLE_NUMBER = "no_usable_number"
DO_NOT_CALL = "do_not_call"
UNKNOWN_SERVICE_TYPE = "service_type_not_in_policy"
LATER_COMPLETION = "later_completion_same_customer"  # the customer's latest completion is the one kept
RECENTLY_CALLED = "recently_called_back"  # a person answered a call-back within recent_callback_days
CALLBACK_PENDING = "callback_pending"  # a call-back of the customer is still to be made
NOT_SAMPLED = "not_sampled"  # eligible, but not drawn for its service type's share
REASONS = (
    NO_USABLE_NUMBER,
    DO_NOT_CALL,
    UNKNOWN_SERVICE_TYPE,
    LATER_COMPLETION,
    RECENTLY_CALLED,
    CALLBACK_PENDING,
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
    month: str = ""  # the local month (YYYY-MM) whose figures it counts in


@dataclass(frozen=True)
class Decision:
    """Selected (reason None) or excluded with its reason."""

    completion_id: int
    selected: bool
    reason: str | None = None


@dataclass(frozen=True)
class SoFar:
    """A service type's figures in a month from earlier draws."""

    cases: int = 0  # every decided completion, excluded ones included
    eligible: int = 0  # selected or not_sampled
    selected: int = 0
    by_employee: Mapping[str, int] = field(default_factory=dict)  # selected per employee


def batch_quota(
    share: float,
    *,
    so_far: SoFar,
    batch_cases: int,
    batch_eligible: int,
    previous_month_cases: int,
    min_cases: int,
) -> int:
    """How many of a batch's eligible cases of one type and month are called back. Every one while the
    month so far (this batch counted, excluded cases too) and last month both have fewer than `min_cases`
    cases; otherwise what brings the month's selected up to ceil(share x eligible so far)."""
    if so_far.cases + batch_cases < min_cases and previous_month_cases < min_cases:
        return batch_eligible
    # Exact: 10% of 30 is 3, not ceil(3.0000000000000004) = 4.
    target = math.ceil(Fraction(str(share)) * (so_far.eligible + batch_eligible))
    return min(batch_eligible, max(0, target - so_far.selected))


def allocate(
    quota: int,
    capacities: Mapping[str, int],
    rng: random.Random,
    already: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Share `quota` call-backs over employees one at a time, each to the employee with the fewest selected
    so far (`already` plus this batch; ties in an order drawn from `rng`), skipping an employee with no case
    left, so counts differ by at most one unless an employee runs out of cases."""
    already = already or {}
    order = sorted(capacities)
    rng.shuffle(order)
    given = dict.fromkeys(order, 0)
    heap = [(already.get(name, 0), rank, name) for rank, name in enumerate(order) if capacities[name] > 0]
    heapq.heapify(heap)
    remaining = quota
    while remaining and heap:
        count, rank, name = heapq.heappop(heap)
        given[name] += 1
        remaining -= 1
        if given[name] < capacities[name]:
            heapq.heappush(heap, (count + 1, rank, name))
    return given


def decide(
    cases: Iterable[Case],
    policy: Policy,
    *,
    do_not_call: Collection[str],
    recent_callbacks: Mapping[str, Sequence[datetime]],
    seed: int,
    pending: Collection[str] = (),
    so_far: Mapping[tuple[str, str], SoFar] | None = None,
    previous_month_cases: Mapping[tuple[str, str], int] | None = None,
) -> list[Decision]:
    """One decision per case, ordered by completion id. `do_not_call` and `pending` hold E.164 numbers
    (on the list; with a call-back still to be made); `recent_callbacks` maps an E.164 number to when a
    person answered a call-back of it. `so_far` holds earlier draws' figures per (month, service type);
    `previous_month_cases` the cases of the month before, per (month, service type)."""
    so_far = so_far or {}
    previous_month_cases = previous_month_cases or {}
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

    # The same customer twice in a draw (even across a month's end): only the latest is called about.
    latest: dict[str, Case] = {}
    for case in ordered:
        if case.id in phones:
            kept = latest.get(phones[case.id])
            if kept is None or (case.completed_at, case.id) > (kept.completed_at, kept.id):
                latest[phones[case.id]] = case
    window = timedelta(days=policy.recent_callback_days)
    eligible: dict[tuple[str, str], list[Case]] = defaultdict(list)
    for case in ordered:
        if case.id not in phones:
            continue
        phone = phones[case.id]
        if latest[phone].id != case.id:
            decided[case.id] = Decision(case.id, False, LATER_COMPLETION)
        elif any(when >= case.completed_at - window for when in recent_callbacks.get(phone, ())):
            decided[case.id] = Decision(case.id, False, RECENTLY_CALLED)
        elif phone in pending:
            decided[case.id] = Decision(case.id, False, CALLBACK_PENDING)
        else:
            eligible[case.month, case.service_type].append(case)

    counts: dict[tuple[str, str], int] = defaultdict(int)
    for case in ordered:
        counts[case.month, case.service_type] += 1
    for (month, service_type), pool in sorted(eligible.items()):
        rng = random.Random(f"{seed}:{month}:{service_type}")
        before = so_far.get((month, service_type), SoFar())
        quota = batch_quota(
            policy.shares[service_type],
            so_far=before,
            batch_cases=counts[month, service_type],
            batch_eligible=len(pool),
            previous_month_cases=previous_month_cases.get((month, service_type), 0),
            min_cases=policy.min_cases_for_sampling,
        )
        by_employee: dict[str, list[Case]] = defaultdict(list)
        for case in pool:
            by_employee[case.employee].append(case)
        given = allocate(
            quota, {name: len(items) for name, items in by_employee.items()}, rng, before.by_employee
        )
        chosen: set[int] = set()
        for employee in sorted(by_employee):
            chosen.update(case.id for case in rng.sample(by_employee[employee], given[employee]))
        for case in pool:
            selected = case.id in chosen
            decided[case.id] = Decision(case.id, selected, None if selected else NOT_SAMPLED)
    return [decided[case.id] for case in ordered]
