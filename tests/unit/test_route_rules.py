"""Routing rules documents: the default validates and converts; each rule refuses a broken copy."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date, time
from typing import Any

import pytest

from ivr.configuration.rules.convert import rules_from_raw, to_rules
from ivr.configuration.rules.schema import RulesDocument
from ivr.configuration.rules.validation import InvalidRules, load_rules_file, validate_rules
from routing.hours import END_OF_DAY
from routing.model import CALLER_LANGUAGE, AfterHours, Rules, Step

Document = dict[str, Any]
DEFAULT = load_rules_file()


def default_document() -> Document:
    return copy.deepcopy(DEFAULT)


def filter_named(document: Document, name: str) -> dict[str, Any]:
    return next(f for f in document["filters"] if f["name"] == name)


def refused(mutate: Callable[[Document], None]) -> InvalidRules:
    """Break the default rules with `mutate`; validation must refuse them."""
    document = default_document()
    mutate(document)
    with pytest.raises(InvalidRules) as caught:
        validate_rules(document)
    assert caught.value.problems, "InvalidRules must carry at least one problem"
    return caught.value


def assert_named(error: InvalidRules, where: str, fragment: str) -> None:
    """One problem names the place `where` and says `fragment`; the error's text carries it."""
    matching = [p for p in error.problems if p.where == where and fragment in p.message]
    assert matching, f"no problem at {where!r} saying {fragment!r} in {error}"
    assert str(matching[0]) in str(error)


# ---------------------------------------------------------------- the default document


def test_default_rules_validate() -> None:
    rules = validate_rules(default_document())
    assert isinstance(rules, RulesDocument)
    assert [f.name for f in rules.filters] == [
        "emergency",
        "safety",
        "billing-mandarin",
        "billing-english",
        "repair",
        "complaint",
        "default",
    ]
    assert rules.filters[-1].match.is_empty()
    assert rules.safety_any_agent_after == 20


def test_validation_does_not_change_the_document() -> None:
    document = default_document()
    validate_rules(document)
    assert document == DEFAULT


def test_the_default_document_survives_json() -> None:
    # Versions are stored in a JSON column: the document must be JSON as it is (no TOML dates).
    assert validate_rules(json.loads(json.dumps(default_document()))) == validate_rules(default_document())


def test_conversion_gives_the_routers_rules() -> None:
    rules = rules_from_raw(default_document(), version=7)
    assert isinstance(rules, Rules)
    assert rules.version == 7
    assert rules.safety_any_agent_after == 20.0
    mandarin = rules.filters[2]
    assert mandarin.name == "billing-mandarin"
    assert mandarin.match.intents == frozenset({"billing"})
    assert mandarin.match.languages == frozenset({"zh-CN"})
    assert mandarin.match.customer_classes is None
    assert mandarin.steps == (
        Step("billing", 3, "zh-CN", 30.0, "billing"),
        Step("billing", 1, "zh-CN", 60.0, "billing"),
        Step("general", 1, CALLER_LANGUAGE, None, "general"),
    )
    assert mandarin.after_hours == AfterHours("voicemail")
    assert rules.filters[0].steps[0].language is None  # "any"
    assert rules.filters[4].after_hours == AfterHours("step", Step("repair", 1, None, None, "safety"))
    billing = rules.calendars["billing"]
    assert billing.timezone == "Asia/Shanghai"
    assert billing.weekly[0] == ((time(8), time(20)),)
    assert set(billing.weekly) == set(range(7))
    assert date(2026, 10, 1) in billing.holidays
    assert rules.calendars["safety"].always_open
    assert rules.wrap_up_seconds == {
        "safety": 30,
        "billing": 60,
        "repair": 60,
        "complaint": 60,
        "general": 60,
    }


def test_hours_to_24_00_convert_to_the_end_of_the_day() -> None:
    document = default_document()
    document["groups"]["general"]["hours"] = {"sat": ["22:00-24:00", "08:00-12:00"]}
    rules = to_rules(validate_rules(document), 2)
    assert rules.calendars["general"].weekly == {5: ((time(8), time(12)), (time(22), END_OF_DAY))}


# ---------------------------------------------------------------- layer one: structure


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.update(schema_version=2), "schema_version"),
        (lambda d: d["filters"][2]["steps"][0].update(colour="red"), "filters.2.steps.0.colour"),
        (
            lambda d: d["filters"][2]["steps"][0].update(min_proficiency=6),
            "filters.2.steps.0.min_proficiency",
        ),
        (
            lambda d: d["filters"][2]["steps"][0].update(timeout_seconds=0),
            "filters.2.steps.0.timeout_seconds",
        ),
        (lambda d: d["filters"][2]["steps"][0].update(language="chinese"), "filters.2.steps.0.language"),
        (lambda d: d["filters"][2]["match"].update(intents=["gossip"]), "filters.2.match.intents.0"),
        (lambda d: d["filters"][2]["match"].update(intents=[]), "filters.2.match.intents"),
        (lambda d: d["filters"][2].update(after_hours={"action": "dial"}), "filters.2.after_hours.action"),
        (lambda d: d["groups"]["billing"]["hours"].update(mon=["8:00-20:00"]), "groups.billing.hours.mon.0"),
        (
            lambda d: d["groups"]["billing"]["hours"].update(someday=["08:00-20:00"]),
            "groups.billing.hours.someday.[key]",
        ),
        (lambda d: d["groups"]["billing"].update(holidays=["2026-02-30"]), "groups.billing.holidays.0"),
        (lambda d: d.update(safety_any_agent_after=0), "safety_any_agent_after"),
        (lambda d: d.update(filters=[]), "filters"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_structure_problems_name_the_field(mutate: Callable[[Document], None], where: str) -> None:
    error = refused(mutate)
    assert where in [p.where for p in error.problems], str(error)


# ---------------------------------------------------------------- layer two: references, one rule each


def test_the_last_filter_must_be_the_default() -> None:
    error = refused(lambda d: filter_named(d, "default").update(match={"intents": ["agent"]}))
    assert_named(error, "filters.default", "the last filter must have an empty match")


def test_only_the_last_filter_may_have_an_empty_match() -> None:
    error = refused(lambda d: filter_named(d, "repair").pop("match"))
    assert_named(error, "filters.repair", "only the last filter")


def test_every_filter_needs_a_step() -> None:
    error = refused(lambda d: filter_named(d, "complaint").update(steps=[]))
    assert_named(error, "filters.complaint", "has no steps")


def test_only_the_last_step_may_lack_a_timeout() -> None:
    error = refused(lambda d: filter_named(d, "billing-mandarin")["steps"][1].pop("timeout_seconds"))
    assert_named(error, "filters.billing-mandarin.steps.1", "only the last step")


def test_the_last_step_has_no_timeout() -> None:
    error = refused(lambda d: filter_named(d, "default")["steps"][0].update(timeout_seconds=60))
    assert_named(error, "filters.default.steps.0", "remove the timeout")


def test_skills_must_be_known() -> None:
    error = refused(lambda d: filter_named(d, "repair")["steps"][0].update(skill="plumbing"))
    assert_named(error, "filters.repair.steps.0", "skill 'plumbing' is unknown")


def test_referenced_groups_must_exist() -> None:
    error = refused(lambda d: filter_named(d, "repair")["steps"][1].update(group="night"))
    assert_named(error, "filters.repair.steps.1", "group 'night' does not exist")


def test_after_hours_step_is_checked_like_a_step() -> None:
    error = refused(
        lambda d: filter_named(d, "repair")["after_hours"]["step"].update(skill="x", group="night")
    )
    assert_named(error, "filters.repair.after_hours.step", "skill 'x' is unknown")
    assert_named(error, "filters.repair.after_hours.step", "group 'night' does not exist")


def test_after_hours_action_step_needs_a_step() -> None:
    error = refused(lambda d: filter_named(d, "repair")["after_hours"].pop("step"))
    assert_named(error, "filters.repair.after_hours", 'action "step" needs a step')


def test_voicemail_takes_no_step() -> None:
    step = {"skill": "general", "group": "safety"}
    error = refused(lambda d: filter_named(d, "default")["after_hours"].update(step=step))
    assert_named(error, "filters.default.after_hours", 'only used with action "step"')


def test_after_hours_step_must_not_use_the_closed_group() -> None:
    error = refused(lambda d: filter_named(d, "repair")["after_hours"]["step"].update(group="repair"))
    assert_named(error, "filters.repair.after_hours.step", "closed whenever the steps it stands in for are")


def test_the_emergency_filter_needs_a_safety_step() -> None:
    error = refused(lambda d: filter_named(d, "emergency")["steps"][0].update(skill="general"))
    assert_named(error, "filters.emergency", "needs a step with the safety skill")


def test_the_emergency_filters_group_must_be_always_open() -> None:
    error = refused(lambda d: filter_named(d, "emergency")["steps"][0].update(group="repair"))
    assert_named(error, "filters.emergency.steps.0", "must be always_open: safety is 24 hours")


def test_there_must_be_an_emergency_filter() -> None:
    error = refused(lambda d: d["filters"].pop(0))
    assert_named(error, "filters", "no filter matches emergency calls")


def test_no_filter_may_catch_emergencies_before_the_emergency_filter() -> None:
    def move_repair_first(document: Document) -> None:
        document["filters"].insert(0, document["filters"].pop(4))

    error = refused(move_repair_first)
    assert_named(error, "filters.repair", "can catch emergency calls before the emergency filter 'emergency'")


def test_a_shadowed_filter_is_reported() -> None:
    def add_shadowed(document: Document) -> None:
        shadowed = copy.deepcopy(filter_named(document, "billing-mandarin"))
        shadowed.update(name="billing-mandarin-commercial")
        shadowed["match"]["customer_classes"] = ["commercial"]
        document["filters"].insert(3, shadowed)  # below billing-mandarin, which already takes these calls

    error = refused(add_shadowed)
    assert_named(error, "filters.billing-mandarin-commercial", "the earlier filter 'billing-mandarin'")


def test_a_narrower_filter_above_a_wider_one_is_fine() -> None:
    document = default_document()
    narrower = copy.deepcopy(filter_named(document, "billing-mandarin"))
    narrower.update(name="billing-mandarin-commercial")
    narrower["match"]["customer_classes"] = ["commercial"]
    document["filters"].insert(2, narrower)
    validate_rules(document)


def test_filter_names_are_unique() -> None:
    error = refused(lambda d: filter_named(d, "complaint").update(name="repair"))
    assert_named(error, "filters.5", "name 'repair' is taken by filter 4")


@pytest.mark.parametrize(
    ("hours", "fragment"),
    [
        (["25:00-26:00"], "not a time of day"),
        (["20:00-08:00"], "does not start before it ends"),
        (["08:00-12:00", "11:00-14:00"], "ranges 08:00-12:00 and 11:00-14:00 overlap"),
    ],
)
def test_hour_ranges_must_parse_and_run_forwards(hours: list[str], fragment: str) -> None:
    error = refused(lambda d: d["groups"]["billing"]["hours"].update(tue=hours))
    assert_named(error, "groups.billing.hours.tue", fragment)


def test_time_zones_must_be_known() -> None:
    error = refused(lambda d: d["groups"]["billing"].update(timezone="Asia/Atlantis"))
    assert_named(error, "groups.billing.timezone", "unknown time zone 'Asia/Atlantis'")


def test_a_group_must_open_some_time() -> None:
    error = refused(lambda d: d["groups"]["billing"].update(hours={}))
    assert_named(error, "groups.billing", "would never open")


def test_always_open_with_hours_is_contradictory() -> None:
    error = refused(lambda d: d["groups"]["billing"].update(always_open=True))
    assert_named(error, "groups.billing", "hours would be ignored")


def test_every_problem_is_reported_at_once() -> None:
    def break_twice(document: Document) -> None:
        filter_named(document, "repair")["steps"][0]["skill"] = "plumbing"
        document["groups"]["billing"]["timezone"] = "Nowhere/Else"

    error = refused(break_twice)
    assert {p.where for p in error.problems} >= {"filters.repair.steps.0", "groups.billing.timezone"}


def test_the_safety_at_once_rule_is_on_unless_the_document_says_otherwise() -> None:
    assert DEFAULT["safety_any_agent_at_once"] is True
    document = default_document()
    del document["safety_any_agent_at_once"]  # a document written before the rule existed
    assert rules_from_raw(document, 2).safety_any_agent_at_once
    document["safety_any_agent_at_once"] = False
    assert not rules_from_raw(document, 3).safety_any_agent_at_once
    problems = refused(lambda d: d.update(safety_any_agent_at_once="sometimes")).problems
    assert [p.where for p in problems] == ["safety_any_agent_at_once"]
