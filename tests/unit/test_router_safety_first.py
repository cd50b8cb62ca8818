"""A waiting gas-leak caller takes the next free agent of any group at once (`safety_any_agent_at_once`)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from routing.reference import naive_pair
from routing.router import pair, serving_group
from tests.unit.test_router import DAY, DEFAULT, DELAYED, EN, NIGHT, ZH, agent, call, chosen, random_moment


def test_the_rule_is_on_by_default() -> None:
    assert DEFAULT.safety_any_agent_at_once


def test_a_free_agent_without_the_safety_skill_takes_the_gas_leak_caller_first() -> None:
    # General callers have waited minutes; the leak caller has just arrived; one billing agent comes free.
    calls = [
        call("billing-1", "billing", waited=300),
        call("agent-2", "agent", waited=240),
        call("leak", "safety", emergency=True, waited=0),
    ]
    pairings = pair(DEFAULT, calls, [agent(1, {"billing": 5, "general": 3})], DAY)
    assert chosen(pairings) == {"leak": 1}
    assert pairings[0].step == -1 and pairings[0].filter == "emergency"
    assert "takes it at once" in pairings[0].reason


def test_the_old_rule_kept_the_agent_for_the_general_caller() -> None:
    calls = [call("billing-1", "billing", waited=300), call("leak", "safety", emergency=True, waited=0)]
    assert chosen(pair(DELAYED, calls, [agent(1, {"billing": 5, "general": 3})], DAY)) == {"billing-1": 1}


def test_a_safety_agent_is_preferred_among_agents_free_at_the_same_moment() -> None:
    agents = [agent(1, {"general": 5}, idle=900), agent(2, {"safety": 1}, idle=1)]
    pairings = pair(DEFAULT, [call("leak", "safety", emergency=True)], agents, DAY)
    assert (pairings[0].agent_id, pairings[0].step) == (2, 0)


def test_with_two_leaks_and_one_safety_agent_both_are_taken_at_once() -> None:
    agents = [agent(1, {"general": 5}), agent(2, {"safety": 3}), agent(3, {"billing": 2})]
    calls = [call("old-billing", "billing", waited=600)]
    calls += [call("leak-1", "safety", emergency=True, waited=5), call("leak-2", "safety", emergency=True)]
    got = chosen(pair(DEFAULT, calls, agents, DAY))
    assert got["leak-1"] == 2 and got["leak-2"] in (1, 3)


def test_the_callers_language_is_preferred_among_the_other_agents() -> None:
    agents = [agent(1, {"general": 5}, (EN,), idle=900), agent(2, {"general": 1}, (ZH,), idle=1)]
    pairings = pair(DEFAULT, [call("leak", "safety", emergency=True)], agents, DAY)
    assert pairings[0].agent_id == 2 and "speaks zh-CN" in pairings[0].reason


def test_a_safety_question_that_is_no_emergency_still_waits_for_a_safety_agent() -> None:
    assert pair(DEFAULT, [call("question", "safety", waited=3600)], [agent(1, {"general": 5})], DAY) == []


@pytest.mark.parametrize("seed", range(20))
def test_pair_agrees_with_the_plain_way_with_the_rule_off(seed: int) -> None:
    calls, agents, now = random_moment(random.Random(seed))
    got = [
        (p.call_id, p.agent_id, p.filter, p.step, p.after_hours) for p in pair(DELAYED, calls, agents, now)
    ]
    assert got == naive_pair(DELAYED, calls, agents, now)


def test_the_group_serving_a_call_is_its_steps_or_its_after_hours_steps() -> None:
    assert serving_group(DEFAULT, call("leak", "safety", emergency=True), DAY) == "safety"
    assert serving_group(DEFAULT, call("b", "billing", waited=10), DAY) == "billing"
    assert serving_group(DEFAULT, call("b", "billing", waited=100), DAY) == "general"
    assert serving_group(DEFAULT, call("r", "repair", now=NIGHT), NIGHT) == "safety"
    assert serving_group(replace(DEFAULT, calendars={}), call("r", "repair", now=NIGHT), NIGHT) == "repair"
