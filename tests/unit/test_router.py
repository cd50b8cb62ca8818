"""The router: service order, agent choice, languages, widening, safety, calendars, reasons, determinism."""

from __future__ import annotations

import random
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from ivr.configuration.rules.convert import rules_from_raw
from ivr.configuration.rules.validation import load_rules_file
from routing.model import (
    CALLER_LANGUAGE,
    AfterHours,
    Agent,
    Calendar,
    Filter,
    Match,
    Pairing,
    Placement,
    Rules,
    Step,
    WaitingCall,
)
from routing.reference import naive_pair
from routing.router import CANDIDATES_KEPT, current_step, pair, place

ZONE = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 4, 10, 0, tzinfo=ZONE).timestamp()  # a Wednesday morning: every group open
NIGHT = datetime(2026, 3, 4, 23, 0, tzinfo=ZONE).timestamp()  # only the safety desk is open
DEFAULT = rules_from_raw(load_rules_file(), 1)
ZH, EN = "zh-CN", "en-US"
OFFICE = Calendar(weekly={d: ((time(8), time(20)),) for d in range(7)})


def agent(
    agent_id: int,
    skills: dict[str, int],
    languages: tuple[str, ...] = (ZH,),
    *,
    idle: float = 60.0,
    available: bool = True,
    now: float = DAY,
) -> Agent:
    """An agent idle for `idle` seconds at `now`."""
    return Agent(agent_id, skills, frozenset(languages), available, now - idle)


def call(
    call_id: str,
    intent: str = "agent",
    language: str = ZH,
    *,
    waited: float = 0.0,
    priority: int = 5,
    emergency: bool = False,
    customer_class: str | None = "residential",
    callback: bool = False,
    now: float = DAY,
) -> WaitingCall:
    """A call that has waited `waited` seconds at `now`."""
    return WaitingCall(call_id, intent, language, now - waited, priority, emergency, customer_class, callback)


def one_filter(
    *steps: Step, after_hours: AfterHours | None = None, calendars: dict[str, Calendar] | None = None
) -> Rules:
    """Rules with a single catch-all filter."""
    return Rules(1, (Filter("all", Match(), steps, after_hours),), calendars or {})


def chosen(pairings: list[Pairing]) -> dict[str, int]:
    return {p.call_id: p.agent_id for p in pairings}


GENERAL = one_filter(Step("general", 1, None))


# ---------------------------------------------------------------- order of service


@pytest.mark.parametrize(
    ("calls", "served"),
    [
        # A gas leak goes before a higher priority and a longer wait.
        ([call("old", waited=500, priority=10), call("leak", waited=1, priority=0, emergency=True)], "leak"),
        # Then priority, before waiting time.
        ([call("old", waited=500, priority=4), call("vip", waited=1, priority=6)], "vip"),
        # Then the longest waiting.
        ([call("new", waited=10), call("old", waited=11)], "old"),
        # Then the id, so equal calls are still served in one fixed order.
        ([call("b", waited=10), call("a", waited=10)], "a"),
    ],
)
def test_service_order_with_one_agent(calls: list[WaitingCall], served: str) -> None:
    pairings = pair(GENERAL, calls, [agent(1, {"general": 1, "safety": 1})], DAY)
    assert [p.call_id for p in pairings] == [served]


def test_pairings_come_in_service_order() -> None:
    calls = [
        call("c", waited=30),
        call("a", waited=90, priority=6),
        call("leak", emergency=True),
        call("b", waited=60),
    ]
    agents = [agent(i, {"general": 1, "safety": 1}) for i in range(1, 5)]
    assert [p.call_id for p in pair(GENERAL, calls, agents, DAY)] == ["leak", "a", "b", "c"]


def test_the_longest_waiting_caller_wins_across_queues() -> None:
    # A general agent can serve the default filter's caller, and the Mandarin billing caller after 90 s;
    # whoever has waited longest gets them, whichever queue they are in.
    general_only = [agent(1, {"general": 3})]
    default_caller = call("agent-queue", "agent", waited=100, priority=4)
    assert chosen(
        pair(DEFAULT, [default_caller, call("billing", "billing", waited=120, priority=4)], general_only, DAY)
    ) == {"billing": 1}
    assert chosen(
        pair(DEFAULT, [default_caller, call("billing", "billing", waited=95, priority=4)], general_only, DAY)
    ) == {"agent-queue": 1}


# ---------------------------------------------------------------- agent choice


@pytest.mark.parametrize(
    ("agents", "best"),
    [
        ([agent(1, {"general": 2}, idle=900), agent(2, {"general": 4}, idle=5)], 2),  # proficiency first
        ([agent(1, {"general": 3}, idle=30), agent(2, {"general": 3}, idle=300)], 2),  # then longest idle
        ([agent(2, {"general": 3}, idle=30), agent(1, {"general": 3}, idle=30)], 1),  # then the lower id
    ],
)
def test_best_agent(agents: list[Agent], best: int) -> None:
    assert chosen(pair(GENERAL, [call("c")], agents, DAY)) == {"c": best}


def test_busy_and_unavailable_agents_are_never_chosen() -> None:
    agents = [agent(1, {"general": 5}, available=False, idle=9000), agent(2, {"general": 1})]
    assert chosen(pair(GENERAL, [call("a"), call("b", waited=5)], agents, DAY)) == {"b": 2}
    assert pair(GENERAL, [call("a")], [agent(1, {"general": 5}, available=False)], DAY) == []


def test_each_agent_is_paired_once() -> None:
    calls = [call(f"c{i}", waited=i) for i in range(20)]
    agents = [agent(i, {"general": 1 + i % 5}, idle=i) for i in range(1, 8)]
    pairings = pair(GENERAL, calls, agents, DAY)
    assert len(pairings) == 7
    assert len({p.agent_id for p in pairings}) == 7
    assert len({p.call_id for p in pairings}) == 7
    assert {p.call_id for p in pairings} == {f"c{i}" for i in range(13, 20)}  # the seven longest waiting


def test_nothing_to_do() -> None:
    assert pair(GENERAL, [], [agent(1, {"general": 1})], DAY) == []
    assert pair(GENERAL, [call("a")], [], DAY) == []


# ---------------------------------------------------------------- languages


@pytest.mark.parametrize(
    ("language", "caller", "speaks", "paired"),
    [
        (CALLER_LANGUAGE, ZH, (ZH,), True),
        (CALLER_LANGUAGE, EN, (ZH,), False),  # the caller's own language is required
        (CALLER_LANGUAGE, EN, (ZH, EN), True),
        (EN, ZH, (EN,), True),  # an explicit language is required whatever the caller speaks
        (EN, ZH, (ZH,), False),
        (None, EN, (ZH,), True),  # any language
    ],
)
def test_language_requirement(
    language: str | None, caller: str, speaks: tuple[str, ...], paired: bool
) -> None:
    rules = one_filter(Step("general", 1, language))
    pairings = pair(rules, [call("c", language=caller)], [agent(1, {"general": 1}, speaks)], DAY)
    assert bool(pairings) is paired


# ---------------------------------------------------------------- widening over time


@pytest.mark.parametrize(
    ("elapsed", "step"),
    [(0, 0), (29.9, 0), (30, 1), (89.9, 1), (90, 2), (10_000, 2), (-5, 0)],
)
def test_current_step_accumulates_timeouts(elapsed: float, step: int) -> None:
    steps = DEFAULT.filters[2].steps  # billing-mandarin: 30 s, then 60 s, then for good
    assert current_step(steps, elapsed) == step


def test_a_last_step_with_a_timeout_still_lasts() -> None:
    assert current_step((Step("general", 1, None, 10), Step("general", 1, None, 10)), 500) == 1


@pytest.mark.parametrize(
    ("waited", "paired_with", "step"),
    [
        (10, None, None),  # step 1: only billing>=3 in Mandarin; the two agents here do not qualify
        (35, 2, 1),  # step 2: any billing agent in Mandarin
        (95, 2, 2),  # step 3: general agents join, but the billing agent (an earlier step) still comes first
    ],
)
def test_the_pool_widens_with_the_wait(waited: float, paired_with: int | None, step: int | None) -> None:
    agents = [agent(1, {"general": 5}, idle=900), agent(2, {"billing": 1}, idle=5)]
    pairings = pair(DEFAULT, [call("c", "billing", waited=waited)], agents, DAY)
    assert chosen(pairings) == ({} if paired_with is None else {"c": paired_with})
    if step is not None:
        assert (pairings[0].filter, pairings[0].step) == ("billing-mandarin", step)


def test_after_90_seconds_a_general_agent_takes_the_billing_call() -> None:
    agents = [agent(1, {"general": 1})]
    assert pair(DEFAULT, [call("c", "billing", waited=89)], agents, DAY) == []
    assert chosen(pair(DEFAULT, [call("c", "billing", waited=90)], agents, DAY)) == {"c": 1}


def test_an_agent_of_an_earlier_step_outranks_a_more_proficient_later_one() -> None:
    # At step 3 a billing>=3 agent (who matches step 1) ranks before a general 5 agent (step 3 only),
    # however long the general agent has been idle.
    agents = [agent(1, {"general": 5}, idle=900), agent(2, {"billing": 3}, idle=1)]
    pairing = pair(DEFAULT, [call("c", "billing", waited=200)], agents, DAY)[0]
    assert pairing.agent_id == 2
    assert [c.agent_id for c in pairing.candidates] == [2, 1]
    assert "matches earlier step 1" in pairing.reason


def test_the_caller_keeps_their_place_while_the_pool_widens() -> None:
    # The old caller has widened to general agents; the new one is still at step 1 (billing>=3 only).
    # A general agent frees up: the old caller gets them, ahead of a newer caller of the default filter.
    agents = [agent(1, {"general": 3})]
    calls = [call("old-billing", "billing", waited=120), call("new-agent", "agent", waited=100)]
    assert chosen(pair(DEFAULT, calls, agents, DAY)) == {"old-billing": 1}


# ---------------------------------------------------------------- the gas-leak guarantee


# The rules with `safety_any_agent_at_once` switched off: an emergency waits for a safety agent for 20 s.
DELAYED = Rules(1, DEFAULT.filters, DEFAULT.calendars, safety_any_agent_at_once=False)


def test_without_the_at_once_rule_an_emergency_waits_for_a_safety_agent_for_20_seconds() -> None:
    only_general = [agent(1, {"general": 5})]
    assert pair(DELAYED, [call("leak", "safety", waited=19.9, emergency=True)], only_general, DAY) == []


def test_without_the_at_once_rule_after_20_seconds_any_available_agent_takes_an_emergency() -> None:
    only_general = [agent(1, {"general": 5})]
    pairings = pair(DELAYED, [call("leak", "safety", waited=20, emergency=True)], only_general, DAY)
    assert chosen(pairings) == {"leak": 1}
    assert pairings[0].step == -1
    assert pairings[0].filter == "emergency"
    assert "any available agent" in pairings[0].reason


def test_the_safety_widening_still_prefers_a_safety_agent() -> None:
    agents = [agent(1, {"general": 5}, idle=900), agent(2, {"safety": 1}, idle=1)]
    pairings = pair(DEFAULT, [call("leak", "safety", waited=60, emergency=True)], agents, DAY)
    assert (pairings[0].agent_id, pairings[0].step) == (2, 0)


def test_the_safety_widening_prefers_the_callers_language() -> None:
    agents = [agent(1, {"general": 5}, (EN,), idle=900), agent(2, {"general": 1}, (ZH,), idle=1)]
    pairings = pair(DEFAULT, [call("leak", "safety", waited=30, emergency=True)], agents, DAY)
    assert pairings[0].agent_id == 2
    assert "speaks zh-CN" in pairings[0].reason


def test_only_emergencies_widen_to_any_agent() -> None:
    only_general = [agent(1, {"general": 5})]
    # The "safety" filter (not an emergency) keeps waiting for a safety agent, however long.
    assert pair(DEFAULT, [call("question", "safety", waited=3600)], only_general, DAY) == []


def test_the_widening_delay_comes_from_the_rules() -> None:
    rules = Rules(
        1, DEFAULT.filters, DEFAULT.calendars, safety_any_agent_after=5, safety_any_agent_at_once=False
    )
    pairings = pair(
        rules, [call("leak", "safety", waited=6, emergency=True)], [agent(1, {"general": 1})], DAY
    )
    assert chosen(pairings) == {"leak": 1}


# ---------------------------------------------------------------- calendars and after hours


def test_day_and_night_for_a_voicemail_filter() -> None:
    billing_agent = [agent(1, {"billing": 5, "general": 5}, now=NIGHT)]
    assert chosen(pair(DEFAULT, [call("c", "billing", now=DAY)], billing_agent, DAY)) == {"c": 1}
    assert pair(DEFAULT, [call("c", "billing", waited=300, now=NIGHT)], billing_agent, NIGHT) == []
    placement = place(DEFAULT, call("c", "billing", now=NIGHT), NIGHT)
    assert placement == Placement("c", "billing-mandarin", 0, False, AfterHours("voicemail"))


def test_at_night_a_repair_call_goes_to_the_after_hours_step() -> None:
    night_desk = [agent(1, {"general": 5}, now=NIGHT), agent(2, {"safety": 4, "repair": 2}, (EN,), now=NIGHT)]
    pairings = pair(DEFAULT, [call("c", "repair", now=NIGHT)], night_desk, NIGHT)
    assert chosen(pairings) == {"c": 2}  # any language at night: whoever is on duty with the skill
    assert pairings[0].after_hours
    assert pairings[0].step == 0
    assert "group repair closed" in pairings[0].reason
    placement = place(DEFAULT, call("c", "repair", now=NIGHT), NIGHT)
    assert not placement.open
    assert placement.after_hours is not None and placement.after_hours.action == "step"


def test_widening_skips_a_step_whose_group_is_closed() -> None:
    rules = one_filter(
        Step("billing", 3, None, 30, group="office"),
        Step("general", 1, None, None, group="duty"),
        calendars={"office": OFFICE, "duty": Calendar(always_open=True)},
    )
    agents = [agent(1, {"billing": 5}, idle=900, now=NIGHT), agent(2, {"general": 1}, now=NIGHT)]
    assert chosen(pair(rules, [call("c", waited=60, now=NIGHT)], agents, NIGHT)) == {"c": 2}
    assert chosen(
        pair(rules, [call("c", waited=60)], [agent(1, {"billing": 5}), agent(2, {"general": 1})], DAY)
    ) == {"c": 1}


def test_an_after_hours_step_in_a_closed_group_serves_nobody() -> None:
    rules = one_filter(
        Step("general", 1, None, group="office"),
        after_hours=AfterHours("step", Step("general", 1, None, group="office2")),
        calendars={"office": OFFICE, "office2": OFFICE},
    )
    assert pair(rules, [call("c", now=NIGHT)], [agent(1, {"general": 1}, now=NIGHT)], NIGHT) == []


def test_emergencies_ignore_calendars() -> None:
    # Even if a (badly written) rule puts the safety step in an office-hours group, a leak is served at night.
    rules = one_filter(Step("safety", 1, None, group="office"), calendars={"office": OFFICE})
    leak = call("leak", "safety", emergency=True, now=NIGHT)
    assert chosen(pair(rules, [leak], [agent(1, {"safety": 1}, now=NIGHT)], NIGHT)) == {"leak": 1}
    assert place(rules, leak, NIGHT).open
    assert not place(rules, call("other", now=NIGHT), NIGHT).open


def test_call_backs_are_paired_only_while_their_group_is_open() -> None:
    night_desk = [agent(1, {"safety": 4, "repair": 3}, now=NIGHT)]
    callback = call("cb", "repair", waited=3600, callback=True, now=NIGHT)
    live = call("live", "repair", waited=10, now=NIGHT)
    # At night the live caller is served by the duty desk; the call-back waits for the morning.
    assert chosen(pair(DEFAULT, [callback, live], night_desk, NIGHT)) == {"live": 1}
    # In the day the call-back is served like a caller, and keeps its place (it has waited longest).
    day_callback = call("cb", "repair", waited=3600, callback=True)
    pairings = pair(
        DEFAULT, [call("live", "repair", waited=10), day_callback], [agent(1, {"repair": 3})], DAY
    )
    assert chosen(pairings) == {"cb": 1}
    assert "call-back" in pairings[0].reason


def test_a_group_without_a_calendar_never_closes() -> None:
    rules = one_filter(Step("general", 1, None, group="unlisted"))
    assert chosen(pair(rules, [call("c", now=NIGHT)], [agent(1, {"general": 1}, now=NIGHT)], NIGHT)) == {
        "c": 1
    }


# ---------------------------------------------------------------- placement


@pytest.mark.parametrize(
    ("the_call", "expected"),
    [
        (call("a", "billing", waited=40), Placement("a", "billing-mandarin", 1, True)),
        (call("b", "billing", EN, waited=61), Placement("b", "billing-english", 1, True)),
        (call("c", "complaint", waited=5), Placement("c", "complaint", 0, True)),
        (call("d", "agent", EN), Placement("d", "default", 0, True)),
        (call("e", "billing", emergency=True, waited=500), Placement("e", "emergency", 0, True)),
        (call("f", "safety"), Placement("f", "safety", 0, True)),
    ],
)
def test_place(the_call: WaitingCall, expected: Placement) -> None:
    assert place(DEFAULT, the_call, DAY) == expected


def test_place_without_a_matching_filter() -> None:
    rules = Rules(1, (Filter("billing", Match(intents=frozenset({"billing"})), (Step("billing"),)),))
    with pytest.raises(LookupError, match="no filter"):
        place(rules, call("c", "repair"), DAY)
    assert pair(rules, [call("c", "repair")], [agent(1, {"billing": 1})], DAY) == []


def test_filters_match_on_customer_class() -> None:
    commercial = Filter(
        "commercial", Match(customer_classes=frozenset({"commercial"})), (Step("billing", 4, None),)
    )
    rules = Rules(1, (commercial, Filter("rest", Match(), (Step("general", 1, None),))))
    assert place(rules, call("a", customer_class="commercial"), DAY).filter == "commercial"
    assert place(rules, call("b", customer_class="residential"), DAY).filter == "rest"
    assert place(rules, call("c", customer_class=None), DAY).filter == "rest"  # unknown is not commercial


# ---------------------------------------------------------------- reasons and candidates


def test_the_reason_names_filter_step_and_choice() -> None:
    agents = [agent(i, {"billing": 1}, idle=100 + i) for i in (3, 4, 5)] + [
        agent(7, {"billing": 3}, idle=120)
    ]
    pairing = pair(DEFAULT, [call("c", "billing", waited=45)], agents, DAY)[0]
    assert pairing.agent_id == 7
    assert pairing.reason == (
        "filter billing-mandarin step 2 of 3 (billing>=1, zh-CN) after 45 s waiting; best of 4 eligible:"
        " agent 7 (matches earlier step 1: billing>=3, zh-CN), billing proficiency 3, idle 120 s"
    )


def test_candidates_are_the_best_ten_in_order() -> None:
    agents = [agent(i, {"general": 1 + i % 5}, idle=i) for i in range(1, 16)]
    pairing = pair(GENERAL, [call("c")], agents, DAY)[0]
    ranked = sorted(agents, key=lambda a: (-a.skills["general"], a.idle_since, a.id))
    assert [c.agent_id for c in pairing.candidates] == [a.id for a in ranked[:CANDIDATES_KEPT]]
    assert pairing.candidates[0].agent_id == pairing.agent_id
    assert [c.proficiency for c in pairing.candidates] == [
        a.skills["general"] for a in ranked[:CANDIDATES_KEPT]
    ]
    assert "best of 15 eligible" in pairing.reason


def test_candidates_leave_out_agents_already_paired() -> None:
    agents = [agent(1, {"general": 5}), agent(2, {"general": 4}), agent(3, {"general": 3})]
    first, second = pair(GENERAL, [call("a", waited=9), call("b")], agents, DAY)
    assert [c.agent_id for c in first.candidates] == [1, 2, 3]
    assert [c.agent_id for c in second.candidates] == [2, 3]


# ---------------------------------------------------------------- determinism and the plain-way oracle


def random_moment(rng: random.Random) -> tuple[list[WaitingCall], list[Agent], float]:
    now = rng.choice([DAY, NIGHT])
    skills = ["billing", "safety", "repair", "complaint", "general"]
    agents = [
        Agent(
            i,
            {s: rng.randint(1, 5) for s in rng.sample(skills, rng.randint(1, 3))},
            frozenset(rng.sample([ZH, EN], rng.randint(1, 2))),
            rng.random() < 0.8,
            now - rng.choice([0, 30, 60, 120, 600]),  # ties on purpose: the id must settle them
        )
        for i in rng.sample(range(1, 500), rng.randint(0, 25))
    ]
    calls = []
    for i in range(rng.randint(0, 40)):
        emergency = rng.random() < 0.1
        calls.append(
            WaitingCall(
                f"c{i}",
                "safety" if emergency else rng.choice(["billing", "repair", "complaint", "agent", "safety"]),
                rng.choice([ZH, ZH, EN]),
                now - rng.choice([0, 10, 25, 31, 65, 95, 200]),
                rng.choice([4, 5, 6]),
                emergency,
                rng.choice(["residential", "commercial", None]),
                rng.random() < 0.2,
            )
        )
    return calls, agents, now


@pytest.mark.parametrize("seed", range(40))
def test_pair_agrees_with_the_plain_way(seed: int) -> None:
    rng = random.Random(seed)
    calls, agents, now = random_moment(rng)
    got = [
        (p.call_id, p.agent_id, p.filter, p.step, p.after_hours) for p in pair(DEFAULT, calls, agents, now)
    ]
    assert got == naive_pair(DEFAULT, calls, agents, now)


@pytest.mark.parametrize("seed", range(5))
def test_same_input_same_output_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    calls, agents, now = random_moment(rng)
    first = pair(DEFAULT, calls, agents, now)
    rng.shuffle(calls)
    rng.shuffle(agents)
    assert pair(DEFAULT, calls, agents, now) == first
