"""Erlang C (routing/erlang.py) against published figures, the benchmark's, and the direct formula."""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import pytest

from routing.erlang import (
    MAX_AGENTS,
    agents_needed,
    average_speed_of_answer,
    erlang_b,
    occupancy,
    offered_load,
    probability_of_waiting,
    service_level,
    staffing,
)


def direct_erlang_c(agents: int, load: Fraction) -> Fraction:
    """The textbook formula with factorials and powers, in exact fractions (fine for small N)."""
    top = load**agents / math.factorial(agents) * Fraction(agents) / (agents - load)
    bottom = sum(load**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


# ---------------------------------------------------------------- the textbook example


def test_the_textbook_example_100_calls_in_30_minutes_of_3_minutes_at_80_20_needs_14_agents():
    # The worked example of "Erlang C formula - made simple" (Call Centre Helper): 100 calls per half hour,
    # 180 s average handling time, 80 % in 20 s. Traffic 10 Erlangs; 11 agents: P(wait) 68.21 %,
    # service level 39 %, ASA 122.8 s; 13 agents fall just short (79.6 %), 14 agents reach 88.8 %.
    assert offered_load(100, 1800, 180) == pytest.approx(10.0)
    assert probability_of_waiting(11, 10.0) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(11, 10.0, 180, 20) == pytest.approx(0.3896, abs=5e-5)
    assert average_speed_of_answer(11, 10.0, 180) == pytest.approx(122.8, abs=0.05)
    assert service_level(13, 10.0, 180, 20) == pytest.approx(0.7956, abs=5e-5)
    plan = agents_needed(100, 1800, 180, 0.80, 20)
    assert plan.agents == 14
    assert plan.service_level == pytest.approx(0.8884, abs=5e-5)
    assert plan.occupancy == pytest.approx(10 / 14)


def test_the_benchmarks_erlang_c_figures_200_calls_an_hour_180_s_14_agents():
    # The "Erlang C" column of docs/routing.md (bench/erlang.py): P(wait) 0.1741, SL 88.84 %, ASA 7.84 s,
    # occupancy 71.43 %; the same load per hour as the textbook's per half hour.
    load = offered_load(200, 3600, 180)
    figures = staffing(14, load, 180, 20)
    assert round(figures.p_wait, 4) == 0.1741
    assert round(figures.service_level * 100, 2) == 88.84
    assert round(figures.asa, 2) == 7.84
    assert round(figures.occupancy * 100, 2) == 71.43


def test_the_bench_now_computes_with_the_product_formula():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "erlang.py"
    spec = importlib.util.spec_from_file_location("bench_erlang", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up there
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules[spec.name]
    theirs = bench.erlang_c(200, 180, 14, 20)
    ours = staffing(14, 10.0, 180, 20)
    assert (theirs.p_wait, theirs.service_level, theirs.asa, theirs.occupancy) == (
        ours.p_wait,
        ours.service_level,
        ours.asa,
        ours.occupancy,
    )


# ---------------------------------------------------------------- stability and the exact formula


@pytest.mark.parametrize(("agents", "load"), [(1, Fraction(1, 2)), (5, Fraction(37, 10)), (30, Fraction(25))])
def test_the_recursion_matches_the_exact_factorial_formula(agents, load):
    exact = direct_erlang_c(agents, load)
    assert probability_of_waiting(agents, float(load)) == pytest.approx(float(exact), rel=1e-12)


def test_thousands_of_agents_need_no_factorial_and_do_not_overflow():
    # 171! is beyond a float: the textbook formula fails here, the recursion does not.
    with pytest.raises(OverflowError):
        float(math.factorial(171))
    p_wait = probability_of_waiting(2000, 1950.0)
    assert 0 < p_wait < 1 and not math.isnan(p_wait)
    plan = agents_needed(100_000, 3600, 300, 0.90, 20)  # 8,333 Erlangs
    assert plan.load == pytest.approx(8333.333, abs=1e-3)
    assert plan.service_level >= 0.90
    assert service_level(plan.agents - 1, plan.load, 300, 20) < 0.90  # the fewest that reach it
    assert plan.occupancy > 0.99  # a very large centre runs close to full at 90/20


def test_erlang_b_of_known_values():
    assert erlang_b(0, 3.0) == 1.0
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)  # (1/2) / (1 + 1 + 1/2)


def test_more_agents_always_answer_more_calls_in_time():
    levels = [service_level(n, 10.0, 180, 20) for n in range(10, 25)]
    assert levels[0] == 0.0  # as many agents as Erlangs: the queue never settles
    assert all(a < b for a, b in zip(levels, levels[1:], strict=False))
    waits = [average_speed_of_answer(n, 10.0, 180) for n in range(11, 25)]
    assert all(a > b for a, b in zip(waits, waits[1:], strict=False))
    assert average_speed_of_answer(10, 10.0, 180) == math.inf


# ---------------------------------------------------------------- agents_needed's options and limits


def test_no_calls_need_no_agents():
    plan = agents_needed(0, 1800, 180, 0.8, 20)
    assert (plan.agents, plan.service_level, plan.asa, plan.occupancy) == (0, 1.0, 0.0, 0.0)


def test_a_maximum_occupancy_adds_agents_beyond_the_service_level():
    assert agents_needed(100, 1800, 180, 0.8, 20).agents == 14  # 71.4 % occupancy
    capped = agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0.65)
    assert capped.agents == 16  # 10 / 0.65 = 15.4 -> 16
    assert capped.occupancy <= 0.65
    assert agents_needed(100, 1800, 180, 0.8, 20, max_occupancy=0.9).agents == 14  # the level decides


def test_a_light_load_still_needs_one_agent_and_a_stricter_target_more():
    assert agents_needed(1, 1800, 180, 0.8, 20).agents == 1
    assert agents_needed(100, 1800, 180, 0.95, 20).agents == 16
    # "answered at once": 1 - P(wait) >= 90 % needs one agent more than 90 % within 20 s
    assert agents_needed(100, 1800, 180, 0.9, 20).agents == 15
    assert agents_needed(100, 1800, 180, 0.9, 0).agents == 16


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_level": 1.0}, "between 0 and 100"),
        ({"target_level": 0.0}, "between 0 and 100"),
        ({"answer_within_seconds": -1}, "cannot be negative"),
        ({"max_occupancy": 1.5}, "maximum occupancy"),
        ({"handle_seconds": 0}, "handling time"),
        ({"period_seconds": 0}, "period"),
        ({"calls": -5}, "negative"),
    ],
)
def test_bad_inputs_are_refused_with_a_reason(kwargs, message):
    given = {
        "calls": 100,
        "period_seconds": 1800,
        "handle_seconds": 180,
        "target_level": 0.8,
        "answer_within_seconds": 20,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        agents_needed(**given)


def test_an_impossible_target_stops_with_a_message_instead_of_looping():
    with pytest.raises(ValueError, match=f"more than {MAX_AGENTS}"):
        agents_needed(1_000_000_000, 1800, 180, 0.8, 20)


def test_occupancy_is_load_over_agents_capped_at_one():
    assert occupancy(14, 10.0) == pytest.approx(10 / 14)
    assert occupancy(8, 10.0) == 1.0
    assert occupancy(0, 0.0) == 0.0
