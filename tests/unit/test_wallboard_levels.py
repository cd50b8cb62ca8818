"""The wallboard's colour rules: which limits hold for a queue, the level of a figure, and usable limits."""

from __future__ import annotations

from dataclasses import replace

from ivr.queueing.wallboard_levels import (
    ALL_QUEUES,
    AMBER,
    BUILT_IN,
    NONE,
    OK,
    RED,
    level_at_or_above,
    level_below,
    limit_problems,
    limits_for,
)


def test_a_queue_takes_its_own_limit_else_every_queues_else_the_built_in_one():
    stored = {
        ALL_QUEUES: {"waiting_amber": 2, "waiting_red": 4, "service_level_amber": None},
        "safety": {"waiting_amber": 1, "waiting_red": None, "longest_wait_red": 30},
    }
    safety = limits_for("safety", stored)
    assert (safety.waiting_amber, safety.waiting_red, safety.longest_wait_red) == (1, 4, 30)
    assert safety.longest_wait_amber == BUILT_IN.longest_wait_amber
    assert safety.service_level_amber == BUILT_IN.service_level_amber  # None everywhere: built in
    billing = limits_for("billing", stored)
    assert (billing.waiting_amber, billing.waiting_red) == (2, 4)
    assert billing.longest_wait_red == BUILT_IN.longest_wait_red
    assert limits_for("billing", {}) == BUILT_IN


def test_waiting_and_longest_wait_turn_amber_then_red_at_or_above():
    assert [level_at_or_above(n, 3, 6) for n in (0, 2, 3, 5, 6, 40)] == [OK, OK, AMBER, AMBER, RED, RED]
    assert level_at_or_above(None, 3, 6) == NONE


def test_service_level_turns_amber_then_red_below():
    assert level_below(0.80, 80, 60) == OK  # the target itself is met
    assert level_below(0.7999, 80, 60) == AMBER
    assert level_below(0.60, 80, 60) == AMBER
    assert level_below(0.5999, 80, 60) == RED
    assert level_below(None, 80, 60) == NONE  # no call decided today: nothing to judge


def test_limits_that_cannot_work_are_named():
    assert limit_problems(BUILT_IN) == []
    problems = limit_problems(replace(BUILT_IN, waiting_amber=7, longest_wait_red=0, service_level_red=90))
    assert any("waiting: amber must not be above red" in p for p in problems)
    assert any("longest wait red: 至少为 1" in p for p in problems)
    assert any("service level: amber must not be below red" in p for p in problems)
    too_high = limit_problems(replace(BUILT_IN, service_level_amber=101))
    assert any("must be from 0 to 100" in p for p in too_high)
