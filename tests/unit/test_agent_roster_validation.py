"""The roster's checks without a database: the fields' shape (pydantic, layer one), what the live rules and
the prompt catalogues allow (layer two), and how a CSV cell reads."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.configuration.menus.validation import structure_problems
from ivr.configuration.rules.convert import to_rules
from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file, validate_rules
from ivr.queueing.agent_csv import format_skills, parse_skills, split_list
from ivr.queueing.agent_roster import AgentFields, meaning_problems, vocabulary

GOOD = {
    "name": " 李华 ",
    "phone": "+8613700000011",
    "groups": ["billing"],
    "skills": {"billing": 5},
    "languages": ["zh-CN"],
}


@pytest.fixture(scope="module")
def known():
    return vocabulary(to_rules(validate_rules(load_rules_file(DEFAULT_RULES_FILE)), 1))


def problems_of(values):
    try:
        AgentFields.model_validate(values)
    except ValidationError as error:
        return {problem.where: problem.message for problem in structure_problems(error, "agent")}
    return {}


def test_the_vocabulary_is_what_the_live_rules_route_by_and_the_catalogues_speak(known):
    assert known.groups == ("billing", "complaint", "general", "repair", "safety")
    assert known.skills == ("billing", "complaint", "general", "repair", "safety")
    assert known.languages == ("en-US", "zh-CN")


def test_a_good_agent_passes_both_layers_with_blanks_read_as_none(known):
    fields = AgentFields.model_validate({**GOOD, "client_identity": "  ", "wrap_up_seconds": ""})
    assert fields.name == "李华" and fields.client_identity is None and fields.wrap_up_seconds is None
    assert meaning_problems(fields, known) == []


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"phone": "13700000011"}, "phone", "E.164"),
        ({"phone": "+86 137 0000 0011"}, "phone", "E.164"),
        ({"client_identity": "li hua"}, "client_identity", "letters, digits"),
        ({"skills": {"billing": 6}}, "skills.billing", "less than or equal to 5"),
        ({"skills": {"billing": 0}}, "skills.billing", "greater than or equal to 1"),
        ({"skills": {"billing": "5"}}, "skills.billing", "valid integer"),
        ({"wrap_up_seconds": 601}, "wrap_up_seconds", "less than or equal to 600"),
        ({"wrap_up_seconds": -1}, "wrap_up_seconds", "greater than or equal to 0"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
    ],
)
def test_a_wrong_shape_names_its_field(change, where, says):
    problems = problems_of({**GOOD, **change})
    assert where in problems and says in problems[where]


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        ({"phone": None}, "phone", "browser client identity"),
        ({"groups": ["night-desk"]}, "groups", "route calls to"),
        ({"skills": {}}, "skills", "at least one skill"),
        ({"skills": {"gas": 3}}, "skills.gas", "no skill the live routing rules ask for"),
        ({"languages": []}, "languages", "at least one language"),
        ({"languages": ["ja-JP"]}, "languages", "not in ja-JP"),
    ],
)
def test_what_the_live_rules_and_catalogues_do_not_know_is_refused_by_field(known, change, where, says):
    problems = {
        p.where: p.message for p in meaning_problems(AgentFields.model_validate({**GOOD, **change}), known)
    }
    assert where in problems and says in problems[where]


def test_a_csv_cell_reads_as_lists_and_skills():
    assert split_list(" billing ; general;; ") == ["billing", "general"]
    assert parse_skills("billing:5; general:4") == {"billing": 5, "general": 4}
    assert format_skills({"general": 4, "billing": 5}) == "billing:5;general:4"
    for bad in ("billing", "billing:x", ":3", "billing:-1"):
        with pytest.raises(ValueError, match="skill:level"):
            parse_skills(bad)
