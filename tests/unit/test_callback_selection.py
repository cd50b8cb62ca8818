"""Call-back selection, pure: the policy document, phone numbers, sample sizes, stratification, exclusions."""

from __future__ import annotations

import copy
import random
from collections import Counter
from datetime import datetime, timedelta

import pytest

from ivr.callbacks.phones import normalise_phone
from ivr.callbacks.policy import InvalidPolicy, Policy, load_policy_file, validate_policy
from ivr.callbacks.selection import (
    DO_NOT_CALL,
    LATER_COMPLETION,
    NO_USABLE_NUMBER,
    NOT_SAMPLED,
    RECENTLY_CALLED,
    UNKNOWN_SERVICE_TYPE,
    Case,
    allocate,
    decide,
    sample_size,
)

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


def run(all_cases, *, policy=None, do_not_call=(), recent=None, seed=7):
    return decide(
        all_cases,
        policy or default_policy(),
        do_not_call=set(do_not_call),
        recent_callbacks=recent or {},
        seed=seed,
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


# --- how many, per service type ---


@pytest.mark.parametrize(
    ("share", "cases_in_month", "eligible", "expected"),
    [
        (1.0, 50, 50, 50),  # 100%
        (0.1, 30, 30, 3),  # exact arithmetic: not ceil(3.0000000000000004) = 4
        (0.1, 25, 21, 3),  # ceil(2.1)
        (0.1, 19, 19, 19),  # under 20 cases: all
        (0.1, 19, 12, 12),  # under 20 cases: all the eligible ones
        (0.1, 20, 20, 2),  # 20 is not "fewer than 20"
        (0.0, 40, 40, 0),
    ],
)
def test_sample_size(share, cases_in_month, eligible, expected):
    assert sample_size(share, cases_in_month, eligible, min_cases=20) == expected


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
    ]
    recent = {"+8613800000007": [base - timedelta(days=20)], "+8613800000008": [base - timedelta(days=40)]}
    decisions = run(all_cases, do_not_call={"+8613800000003"}, recent=recent)
    assert [(d.completion_id, d.selected, d.reason) for d in decisions] == [
        (1, False, NO_USABLE_NUMBER),
        (2, False, NO_USABLE_NUMBER),
        (3, False, DO_NOT_CALL),
        (4, False, UNKNOWN_SERVICE_TYPE),
        (5, False, LATER_COMPLETION),
        (6, True, None),
        (7, False, RECENTLY_CALLED),
        (8, True, None),
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
