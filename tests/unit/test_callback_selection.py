"""Call-back selection, pure: the policy document, phone numbers, batch quotas on the month so far,
stratification over the month, exclusions."""

from __future__ import annotations

import copy
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from ivr.surveys.policy import InvalidPolicy, Policy, load_policy_file, validate_policy
from ivr.surveys.selection import (
    CALLBACK_PENDING,
    DO_NOT_CALL,
    LATER_COMPLETION,
    NO_USABLE_NUMBER,
    NOT_SAMPLED,
    RECENTLY_CALLED,
    UNKNOWN_SERVICE_TYPE,
    Case,
    SoFar,
    allocate,
    batch_quota,
    decide,
)
from ivr.telephony.phones import normalise_phone

MONTH_START = datetime(2026, 3, 1)


def default_policy() -> Policy:
    return validate_policy(load_policy_file())


def cases(service_type: str, employees: dict[str, int], first_id: int = 1) -> list[Case]:
    """`employees`: name -> how many cases; every case a distinct customer."""
    made, next_id = [], first_id
    for employee, count in employees.items():
        for _ in range(count):
            when = MONTH_START + timedelta(hours=next_id)
            made.append(Case(next_id, service_type, when, f"+86138{next_id:08d}", employee))
            next_id += 1
    return made


def run(
    all_cases, *, policy=None, do_not_call=(), recent=None, seed=7, pending=(), so_far=None, previous=None
):
    return decide(
        all_cases,
        policy or default_policy(),
        do_not_call=set(do_not_call),
        recent_callbacks=recent or {},
        seed=seed,
        pending=set(pending),
        so_far=so_far,
        previous_month_cases=previous,
    )


# --- the policy document ---


def test_the_shipped_policy_has_the_domain_shares():
    policy = default_policy()
    assert policy.min_cases_for_sampling == 20
    assert policy.recent_callback_days == 30
    for full in ("appliance_install_repair", "paid_repair", "leak_repair"):
        assert policy.shares[full] == 1.0
    for tenth in ("small_installation", "ignition", "free_repair", "safety_inspection", "service_hall"):
        assert policy.shares[tenth] == 0.1
    assert policy.shares["hotline_call"] == 0.1


def test_policy_validation_names_every_problem():
    document = copy.deepcopy(load_policy_file())
    document["service_types"]["paid_repair"]["share"] = 1.5
    document["service_types"]["ignition"]["share"] = "ten"
    del document["service_types"]["hotline_call"]
    document["service_types"]["free_repair"]["weight"] = 2
    document["min_cases_for_sampling"] = -1
    document["colour"] = "blue"
    with pytest.raises(InvalidPolicy) as raised:
        validate_policy(document)
    assert raised.value.problems == [
        "colour: unknown setting (known: min_cases_for_sampling, recent_callback_days, service_types)",
        "min_cases_for_sampling: must be from 0 to 10000 (got -1)",
        "service_types: 'hotline_call' is missing (answered hotline calls use it)",
        "service_types.paid_repair.share: must be from 0 to 1, e.g. 0.1 for 10% (got 1.5)",
        "service_types.ignition.share: must be a number from 0 to 1 (got 'ten')",
        "service_types.free_repair.weight: unknown setting (known: label, share)",
    ]


def test_policy_validation_names_missing_settings():
    with pytest.raises(InvalidPolicy) as raised:
        validate_policy({"service_types": {}})
    assert "min_cases_for_sampling: missing" in raised.value.problems
    assert "recent_callback_days: missing" in raised.value.problems
    assert "service_types: at least one service type is needed" in raised.value.problems


# --- phone numbers ---


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+8613800000001", "+8613800000001"),
        ("13800000001", "+8613800000001"),
        ("138-0000-0001", "+8613800000001"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("12800000001", None),  # not a mobile prefix
        ("1380000000", None),  # 10 digits
        ("anonymous", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_normalisation(raw, expected):
    assert normalise_phone(raw) == expected


# --- how many, per service type and batch ---


@pytest.mark.parametrize(
    ("share", "cases_so_far", "eligible_so_far", "selected_so_far", "batch", "previous", "expected"),
    [
        (1.0, 0, 0, 0, 50, 0, 50),  # 100%
        (0.1, 0, 0, 0, 30, 0, 3),  # exact arithmetic: not ceil(3.0000000000000004) = 4
        (0.1, 0, 0, 0, 19, 0, 19),  # under 20 cases, last month too: all
        (0.1, 0, 0, 0, 19, 25, 2),  # under 20 so far, but last month had 25: ceil(1.9)
        (0.1, 0, 0, 0, 20, 0, 2),  # 20 is not "fewer than 20"
        (0.1, 10, 10, 10, 9, 0, 9),  # 19 so far with this batch: still all
        (0.1, 15, 15, 15, 5, 0, 0),  # 20 now: ceil(2.0) = 2, 15 already selected: none more
        (0.1, 40, 40, 4, 10, 0, 1),  # ceil(5.0) - 4
        (0.1, 41, 41, 5, 1, 0, 0),  # ceil(4.2) = 5, already 5
        (0.1, 41, 41, 5, 9, 0, 0),  # ceil(5.0) = 5, already 5
        (0.1, 41, 41, 5, 10, 0, 1),  # ceil(5.1) = 6
        (0.0, 40, 40, 0, 40, 0, 0),
    ],
)
def test_batch_quota(share, cases_so_far, eligible_so_far, selected_so_far, batch, previous, expected):
    so_far = SoFar(cases_so_far, eligible_so_far, selected_so_far)
    quota = batch_quota(
        share,
        so_far=so_far,
        batch_cases=batch,
        batch_eligible=batch,
        previous_month_cases=previous,
        min_cases=20,
    )
    assert quota == expected


def test_the_under_twenty_rule_counts_the_batch_excluded_cases_too():
    # 5 of 21 cases in the batch are excluded (not eligible): the type has 21 cases, so it is sampled.
    quota = batch_quota(
        0.1, so_far=SoFar(), batch_cases=21, batch_eligible=16, previous_month_cases=0, min_cases=20
    )
    assert quota == 2


def test_a_full_share_type_is_all_called_back():
    decisions = run(cases("leak_repair", {"王": 30, "李": 5}))
    assert all(d.selected and d.reason is None for d in decisions)


def test_a_tenth_share_type_draws_ceil_of_a_tenth():
    decisions = run(cases("safety_inspection", {"王": 21, "李": 20}))  # 41 cases -> ceil(4.1) = 5
    assert sum(d.selected for d in decisions) == 5
    assert {d.reason for d in decisions if not d.selected} == {NOT_SAMPLED}


def test_a_type_under_twenty_cases_is_all_called_back():
    decisions = run(cases("ignition", {"王": 10, "李": 9}))
    assert all(d.selected for d in decisions)


def test_the_under_twenty_rule_counts_excluded_cases_too():
    # 20 cases, 3 of them on the do-not-call list: the type had 20 cases, so it is sampled (10% of 17 -> 2).
    all_cases = cases("ignition", {"王": 20})
    decisions = run(all_cases, do_not_call={c.phone for c in all_cases[:3]})
    assert sum(d.selected for d in decisions) == 2


def test_service_types_are_sampled_separately():
    mixed = cases("paid_repair", {"王": 25}) + cases("free_repair", {"王": 30}, first_id=100)
    by_id = {d.completion_id: d for d in run(mixed)}
    selected = Counter(c.service_type for c in mixed if by_id[c.id].selected)
    assert selected == {"paid_repair": 25, "free_repair": 3}


# --- stratified by employee ---


def test_call_backs_are_balanced_over_employees():
    all_cases = cases("free_repair", {"王": 80, "李": 30, "张": 10})  # 120 cases -> 12, 4 each
    by_id = {d.completion_id: d for d in run(all_cases)}
    per_employee = Counter(c.employee for c in all_cases if by_id[c.id].selected)
    assert per_employee == {"王": 4, "李": 4, "张": 4}


def test_an_employee_with_few_cases_gives_up_the_rest_to_the_others():
    all_cases = cases("free_repair", {"王": 100, "李": 100, "张": 1})  # 201 cases -> 21
    by_id = {d.completion_id: d for d in run(all_cases)}
    per_employee = Counter(c.employee for c in all_cases if by_id[c.id].selected)
    assert per_employee == {"王": 10, "李": 10, "张": 1}


@pytest.mark.parametrize("seed", range(20))
def test_allocation_differs_by_at_most_one_without_caps(seed):
    given = allocate(17, {"a": 50, "b": 50, "c": 50, "d": 50, "e": 50}, random.Random(seed))
    assert sum(given.values()) == 17
    assert max(given.values()) - min(given.values()) == 1


def test_the_remainder_goes_round_robin_in_a_seeded_order():
    capacities = {name: 10 for name in "abcdefgh"}
    winners = {
        frozenset(k for k, v in allocate(3, capacities, random.Random(seed)).items() if v)
        for seed in range(30)
    }
    assert len(winners) > 1  # not always the same employees alphabetically first
    assert allocate(3, capacities, random.Random(5)) == allocate(3, capacities, random.Random(5))


def test_the_batch_goes_first_to_the_employees_with_fewest_this_month():
    already = {"王": 3, "李": 0, "张": 1}
    given = allocate(4, {"王": 10, "李": 10, "张": 10}, random.Random(1), already)
    assert given == {"王": 0, "李": 3, "张": 1}  # 3, 0, 1 so far -> 3, 3, 2
    totals = {name: already[name] + given[name] for name in already}
    assert max(totals.values()) - min(totals.values()) <= 1


def test_an_employee_without_a_case_in_the_batch_is_skipped():
    given = allocate(2, {"王": 5}, random.Random(1), {"王": 9, "李": 0})
    assert given == {"王": 2}


def draw_days(days, *, previous=0, seed=7, policy=None):
    """Draw day after day of one month, carrying the month's figures like the database does."""
    policy = policy or default_policy()
    cases_so_far: Counter[str] = Counter()
    eligible: Counter[str] = Counter()
    selected: Counter[str] = Counter()
    by_employee: dict[str, Counter[str]] = {}
    decided = []
    for day in days:
        so_far = {
            ("2026-03", kind): SoFar(
                cases_so_far[kind], eligible[kind], selected[kind], by_employee.get(kind, {})
            )
            for kind in cases_so_far
        }
        previous_cases = {("2026-03", kind): previous for kind in policy.shares}
        for case, decision in zip(
            sorted(day, key=lambda c: c.id),
            run(day, seed=seed, so_far=so_far, previous=previous_cases, policy=policy),
            strict=True,
        ):
            cases_so_far[case.service_type] += 1
            eligible[case.service_type] += decision.selected or decision.reason == NOT_SAMPLED
            if decision.selected:
                selected[case.service_type] += 1
                by_employee.setdefault(case.service_type, Counter())[case.employee] += 1
            decided.append((case, decision))
    return decided


def month_of_days(service_type, per_day, employees, days=30):
    """`per_day` cases a day, employees taking turns, in the month's local month '2026-03'."""
    made, next_id = [], 1
    for day in range(days):
        today = []
        for _ in range(per_day):
            when = MONTH_START + timedelta(days=day, minutes=next_id)
            employee = employees[next_id % len(employees)]
            today.append(Case(next_id, service_type, when, f"+86138{next_id:08d}", employee, "2026-03"))
            next_id += 1
        made.append(today)
    return made


def test_day_by_day_draws_give_the_share_after_a_big_month():
    decided = draw_days(month_of_days("free_repair", 4, ["王", "李", "张"]), previous=25)
    assert sum(d.selected for _, d in decided) == 12  # ceil(10% of 120), as a single draw would give


def test_day_by_day_draws_call_every_case_while_the_month_and_last_month_are_small():
    decided = draw_days(month_of_days("free_repair", 1, ["王", "李"], days=19))
    assert all(d.selected for _, d in decided)  # 19 cases, last month none: all called


def test_a_month_growing_past_twenty_after_a_small_month_keeps_more_than_its_share():
    decided = draw_days(month_of_days("free_repair", 2, ["王", "李"]))  # 60 cases, last month none
    selected = [case.id for case, d in decided if d.selected]
    # Days 1-9 (18 cases) all; from day 10 the month has 20 cases and 18 >= ceil(10% of 60) = 6: none more.
    assert selected == list(range(1, 19))


@pytest.mark.parametrize("seed", range(5))
def test_day_by_day_draws_balance_employees_over_the_month(seed):
    days = month_of_days("free_repair", 7, ["王", "李", "张", "赵"])  # 210 cases -> 21
    decided = draw_days(days, previous=100, seed=seed)
    per_employee = Counter(case.employee for case, d in decided if d.selected)
    assert sum(per_employee.values()) == 21
    assert max(per_employee.values()) - min(per_employee.values()) <= 1


# --- exclusions ---


def test_every_exclusion_is_recorded_with_its_reason():
    base = datetime(2026, 3, 10, 9)
    all_cases = [
        Case(1, "paid_repair", base, "anonymous", "王"),
        Case(2, "paid_repair", base, "", "王"),
        Case(3, "paid_repair", base, "+8613800000003", "王"),  # on the do-not-call list
        Case(4, "meter_swap", base, "+8613800000004", "王"),  # not in the policy
        Case(5, "paid_repair", base, "13800000005", "王"),  # earlier completion of the same customer
        Case(6, "leak_repair", base + timedelta(days=2), "+8613800000005", "李"),  # ... the latest one
        Case(7, "paid_repair", base, "+8613800000007", "王"),  # called back 20 days before
        Case(8, "paid_repair", base, "+8613800000008", "王"),  # called back 40 days before: fine
        Case(9, "paid_repair", base, "+8613800000009", "王"),  # a call-back still to be made
        Case(10, "paid_repair", base, "+8613800000010", "王"),  # both: recently called back comes first
    ]
    recent = {
        "+8613800000007": [base - timedelta(days=20)],
        "+8613800000008": [base - timedelta(days=40)],
        "+8613800000010": [base - timedelta(days=2)],
    }
    pending = {"+8613800000009", "+8613800000010"}
    decisions = run(all_cases, do_not_call={"+8613800000003"}, recent=recent, pending=pending)
    assert [(d.completion_id, d.selected, d.reason) for d in decisions] == [
        (1, False, NO_USABLE_NUMBER),
        (2, False, NO_USABLE_NUMBER),
        (3, False, DO_NOT_CALL),
        (4, False, UNKNOWN_SERVICE_TYPE),
        (5, False, LATER_COMPLETION),
        (6, True, None),
        (7, False, RECENTLY_CALLED),
        (8, True, None),
        (9, False, CALLBACK_PENDING),
        (10, False, RECENTLY_CALLED),
    ]


def test_the_no_repeat_period_comes_from_the_policy():
    base = datetime(2026, 3, 10, 9)
    case = Case(1, "paid_repair", base, "+8613800000001", "王")
    recent = {"+8613800000001": [base - timedelta(days=20)]}
    shorter = validate_policy({**load_policy_file(), "recent_callback_days": 14})
    assert run([case], recent=recent)[0].reason == RECENTLY_CALLED
    assert run([case], recent=recent, policy=shorter)[0].selected


# --- determinism ---


def test_the_same_seed_gives_the_same_selection_whatever_the_input_order():
    all_cases = cases("free_repair", {"王": 60, "李": 45, "张": 30}) + cases("hotline_call", {"赵": 90}, 500)
    first = run(all_cases, seed=42)
    shuffled = list(all_cases)
    random.Random(1).shuffle(shuffled)
    assert run(shuffled, seed=42) == first
    assert run(all_cases, seed=43) != first


def test_the_same_customer_in_two_months_of_one_draw_is_called_once():
    early = Case(1, "paid_repair", datetime(2026, 2, 28, 15), "+8613800000001", "王", "2026-02")
    late = Case(2, "paid_repair", datetime(2026, 3, 1, 2), "+8613800000001", "李", "2026-03")
    assert [(d.selected, d.reason) for d in run([early, late])] == [(False, LATER_COMPLETION), (True, None)]
