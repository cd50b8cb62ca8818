"""The editor's operations on menu and rules documents (pure), the diff, the raw document, the views."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ivr.configuration.diff import changes, text_diff
from ivr.configuration.edit_values import EditRefused, words
from ivr.configuration.menu_edits import apply_menu_edit
from ivr.configuration.menu_tree import menu_tree
from ivr.configuration.menus.validation import InvalidMenu, Problem, load_menu_file, validate_document
from ivr.configuration.raw_document import read_document, show_document
from ivr.configuration.rules.validation import load_rules_file, validate_rules
from ivr.configuration.rules_edits import apply_rules_edit
from ivr.configuration.rules_view import rules_view

MENU = load_menu_file()
RULES = load_rules_file()


def menu_after(*operations: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    document, said = copy.deepcopy(MENU), []
    for operation in operations:
        document, did = apply_menu_edit(document, operation)
        said.append(did)
    return document, said


def options_of(document: dict[str, Any], node: str) -> list[tuple[str, str]]:
    return [(o["key"], o["target"]) for o in document["nodes"][node]["options"]]


# ---------------------------------------------------------------- menu operations


def test_an_operation_works_on_a_copy() -> None:
    before = copy.deepcopy(MENU)
    document, _ = apply_menu_edit(MENU, {"op": "set_option", "node": "main", "index": 3, "key": "5"})
    assert before == MENU and document["nodes"]["main"]["options"][3]["key"] == "5"


def test_change_the_key_target_phrases_and_language_of_an_option() -> None:
    document, [said] = menu_after(
        {
            "op": "set_option",
            "node": "billing",
            "index": 0,
            "key": "7",
            "target": "billing_queue",
            "phrases": {"zh-CN": "价格，气价、多少钱", "en-US": ""},
            "language": "en-US",
        }
    )
    assert document["nodes"]["billing"]["options"][0] == {
        "key": "7",
        "target": "billing_queue",
        "phrases": {"zh-CN": ["价格", "气价", "多少钱"]},
        "language": "en-US",
    }
    assert said.startswith(
        "nodes.billing: option 1: key '1' → '7'; target 'billing_prices' → 'billing_queue'"
    )
    cleared, _ = apply_menu_edit(
        document, {"op": "set_option", "node": "billing", "index": 0, "language": ""}
    )
    assert "language" not in cleared["nodes"]["billing"]["options"][0]


def test_add_remove_and_move_options() -> None:
    document, said = menu_after(
        {"op": "add_option", "node": "after_billing", "key": "9", "target": "main"},
        {"op": "move_option", "node": "after_billing", "index": 2, "direction": "up"},
        {"op": "remove_option", "node": "after_billing", "index": 0},
    )
    assert options_of(document, "after_billing") == [("9", "main"), ("0", "billing_queue")]
    assert said == [
        "nodes.after_billing: added option 9 → main",
        "nodes.after_billing: moved option 9 up",
        "nodes.after_billing: removed option 1 → main",
    ]


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "set_option", "node": "billing_prices", "index": 0, "key": "1"}, "is not a menu"),
        ({"op": "move_option", "node": "main", "index": 0, "direction": "up"}, "already the first"),
        ({"op": "move_option", "node": "main", "index": 6, "direction": "down"}, "already the last"),
        ({"op": "move_option", "node": "main", "index": 1, "direction": "sideways"}, "up or down"),
        ({"op": "remove_option", "node": "main", "index": "x"}, "a position from 0 to 6"),
        ({"op": "add_option", "node": "main", "key": "", "target": "main"}, "key is missing"),
        ({"op": "set_option", "node": "main", "index": 0, "phrases": ["bill"]}, "phrases must be a table"),
        ({"op": "set_node", "node": "main", "fields": {"queue": "x"}}, "needs the raw document"),
        ({"op": "set_node", "node": "main", "fields": {}}, "fields must be a table"),
        ({"op": "set_node", "node": "emergency", "fields": {"emergency": "maybe"}}, "must be yes or no"),
        ({"op": "add_node", "node": "main", "type": "info"}, "exists already"),
        ({"op": "add_node", "node": "x", "type": "robot"}, "type must be one of"),
        ({"op": "add_node", "node": "x", "type": "dial"}, "number is missing"),
        ({"op": "remove_node", "node": "nowhere"}, "there is no node 'nowhere'"),
        ({"op": "set_prompt_text", "key": "Main Menu", "language": "zh-CN", "text": "x"}, "is not a name"),
        ({"op": "set_prompt_text", "key": "main_menu", "language": "zh-CN", "text": 5}, "text must be text"),
        ({"op": "set_defaults", "max_tries": "three"}, "max_tries must be a whole number"),
        ({"op": "fly"}, "unknown operation 'fly'"),
    ],
)
def test_operations_that_cannot_apply_are_refused_in_words(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(EditRefused, match=message):
        apply_menu_edit(MENU, operation)


def test_an_operation_must_be_an_object() -> None:
    with pytest.raises(EditRefused, match="JSON object"):
        apply_menu_edit(MENU, ["set_option"])  # type: ignore[arg-type]


def test_node_settings_by_type_and_blank_means_the_default() -> None:
    document, [said] = menu_after(
        {
            "op": "set_node",
            "node": "billing_queue",
            "fields": {
                "priority": "7",
                "prompts": "queue_connecting",
                "intent": "billing",
                "emergency": False,
                "complaint_class": "",
                "reply_within_hours": "48",
            },
        }
    )
    assert document["nodes"]["billing_queue"] == {
        "type": "queue",
        "queue": "billing",
        "intent": "billing",
        "priority": 7,
        "prompts": ["queue_connecting"],
        "reply_within_hours": 48,
    }
    assert said == "nodes.billing_queue: priority 5 → 7; reply_within_hours None → 48"
    document, _ = menu_after(
        {"op": "set_node", "node": "main", "fields": {"timeout_seconds": 9, "intro": ""}}
    )
    assert document["nodes"]["main"]["timeout_seconds"] == 9 and "intro" not in document["nodes"]["main"]


def test_new_nodes_of_every_type_are_valid_once_reached() -> None:
    steps = [
        {
            "op": "add_node",
            "node": "outage",
            "type": "menu",
            "prompts": "main_menu",
            "parent": "main",
            "key": "6",
        },
        {
            "op": "add_node",
            "node": "outage_info",
            "type": "info",
            "prompts": "billing_prices",
            "parent": "outage",
        }
        | {"key": "1"},
        {"op": "add_node", "node": "outage_queue", "type": "queue", "parent": "outage", "key": "2"},
        {"op": "add_node", "node": "outage_duty", "type": "dial", "number": "+8613900000001"}
        | {"parent": "outage", "key": "3"},
        {"op": "add_node", "node": "outage_balance", "type": "action", "parent": "outage", "key": "4"},
        {"op": "add_node", "node": "outage_account", "type": "input", "prompts": "ask_account"}
        | {"parent": "outage", "key": "5"},
    ]
    document, said = menu_after(*steps)
    assert validate_document(document).nodes["outage"].options[0].target == "agent_queue"
    assert options_of(document, "outage") == [
        ("0", "agent_queue"),
        ("1", "outage_info"),
        ("2", "outage_queue"),
        ("3", "outage_duty"),
        ("4", "outage_balance"),
        ("5", "outage_account"),
    ]
    assert document["nodes"]["outage_info"]["next"] == "outage"  # an answer goes back where it was asked
    assert document["nodes"]["outage_queue"] == {
        "type": "queue",
        "queue": "outage_queue",
        "intent": "agent",
        "priority": 5,
        "prompts": ["queue_connecting"],
    }
    assert said[0] == "added menu node outage, reached by key 6 of main"


def test_removing_a_node_leaves_dead_ends_for_validation_to_name() -> None:
    document, _ = menu_after({"op": "remove_node", "node": "billing_queue"})
    with pytest.raises(InvalidMenu) as caught:
        validate_document(document)
    assert Problem(
        "nodes.billing", "leads to 'billing_queue', which does not exist: a dead end for the caller"
    ) in (caught.value.problems)


def test_prompt_texts_live_in_the_document_until_blank_or_the_catalogue_text() -> None:
    document, said = menu_after(
        {"op": "set_prompt_text", "key": "main_menu", "language": "zh-CN", "text": " 新的主菜单 "},
        {"op": "set_prompt_text", "key": "main_menu", "language": "en-US", "text": "A new main menu."},
    )
    assert document["prompts"] == {"main_menu": {"zh-CN": "新的主菜单", "en-US": "A new main menu."}}
    assert said[0] == "prompts.main_menu: zh-CN text set"
    shipped = "Sorry, that is not a valid choice."
    document, said = apply_menu_edit(
        document, {"op": "set_prompt_text", "key": "main_menu", "language": "en-US", "text": ""}
    )
    assert document["prompts"] == {"main_menu": {"zh-CN": "新的主菜单"}}
    document, _ = apply_menu_edit(
        document, {"op": "set_prompt_text", "key": "main_menu", "language": "zh-CN"}
    )
    assert "prompts" not in document
    same, said = apply_menu_edit(
        document, {"op": "set_prompt_text", "key": "invalid_choice", "language": "en-US", "text": shipped}
    )
    assert "prompts" not in same and said == "prompts.invalid_choice: en-US text back to the catalogue's"


def test_defaults_and_gas_leak_phrases() -> None:
    document, said = menu_after(
        {"op": "set_defaults", "timeout_seconds": "8", "max_tries": ""},
        {"op": "set_emergency_phrases", "language": "en-US", "phrases": "gas leak, smell gas, gassy"},
    )
    assert document["defaults"] == {"timeout_seconds": 8}
    assert document["emergency"]["phrases"]["en-US"] == ["gas leak", "smell gas", "gassy"]
    assert said == ["defaults: timeout_seconds 8, max_tries None", "emergency.phrases: en-US: 3 phrase(s)"]
    validate_document(document)


def test_words_split_on_latin_and_chinese_separators() -> None:
    assert words("账单，缴费、余额; bill,pay\nprice", "p") == ["账单", "缴费", "余额", "bill", "pay", "price"]
    assert words(["a ", " ", "b"], "p") == ["a", "b"] and words("", "p") == []
    with pytest.raises(EditRefused):
        words([1, 2], "p")


# ---------------------------------------------------------------- rules operations


def rules_after(*operations: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    document, said = copy.deepcopy(RULES), []
    for operation in operations:
        document, did = apply_rules_edit(document, operation)
        said.append(did)
    return document, said


def test_opening_hours_per_weekday_and_holidays() -> None:
    document, said = rules_after(
        {"op": "set_hours", "group": "billing", "day": "sun", "ranges": "09:00 - 12:00，13:00-17:00"},
        {"op": "set_hours", "group": "billing", "day": "sat", "ranges": ""},
        {"op": "add_holiday", "group": "billing", "date": "2027-05-03"},
        {"op": "add_holiday", "group": "billing", "date": "2027-01-04"},
        {"op": "remove_holiday", "group": "billing", "date": "2027-05-03"},
    )
    billing = document["groups"]["billing"]
    assert billing["hours"]["sun"] == ["09:00-12:00", "13:00-17:00"] and "sat" not in billing["hours"]
    assert list(billing["hours"]) == [
        d for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if d in billing["hours"]
    ]
    assert "2027-01-04" in billing["holidays"] and "2027-05-03" not in billing["holidays"]
    assert billing["holidays"] == sorted(billing["holidays"])
    assert said[0] == "groups.billing.hours.sun: 09:00-12:00, 13:00-17:00" and said[1].endswith("closed")
    validate_rules(document)


def test_group_settings_and_new_groups() -> None:
    document, said = rules_after(
        {"op": "set_group", "group": "billing", "timezone": "Asia/Urumqi", "wrap_up_seconds": "45.5"},
        {"op": "add_group", "group": "meter"},
        {"op": "remove_group", "group": "meter"},
        {"op": "add_group", "group": "night"},
    )
    assert document["groups"]["billing"]["timezone"] == "Asia/Urumqi"
    assert document["groups"]["billing"]["wrap_up_seconds"] == 45.5
    assert (
        document["groups"]["night"]["hours"]["mon"] == ["08:00-20:00"] and "meter" not in document["groups"]
    )
    assert said[1] == "added group meter"
    validate_rules(document)


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({"op": "set_hours", "group": "nobody", "day": "mon", "ranges": ""}, "there is no group 'nobody'"),
        ({"op": "set_hours", "group": "billing", "day": "monday", "ranges": ""}, "day must be one of"),
        ({"op": "add_holiday", "group": "billing", "date": "2026-13-01"}, "date must be YYYY-MM-DD"),
        ({"op": "remove_holiday", "group": "billing", "date": "2030-01-01"}, "is not a holiday of billing"),
        ({"op": "add_group", "group": "billing"}, "exists already"),
        ({"op": "set_group", "group": "billing", "always_open": "sometimes"}, "yes or no"),
        ({"op": "set_group", "group": "billing", "wrap_up_seconds": "soon"}, "must be a number"),
        ({"op": "set_filter"}, "unknown operation"),
    ],
)
def test_rules_operations_that_cannot_apply_are_refused(operation: dict[str, Any], message: str) -> None:
    with pytest.raises(EditRefused, match=message):
        apply_rules_edit(RULES, operation)


def test_adding_a_holiday_twice_is_refused() -> None:
    document, _ = rules_after({"op": "add_holiday", "group": "billing", "date": "2026-12-25"})
    with pytest.raises(EditRefused, match="already a holiday"):
        apply_rules_edit(document, {"op": "add_holiday", "group": "billing", "date": "2026-12-25"})


# ---------------------------------------------------------------- diff, raw document, views


def test_changes_name_each_field_added_removed_or_changed() -> None:
    document, _ = menu_after(
        {"op": "set_option", "node": "main", "index": 3, "key": "5"},
        {"op": "add_option", "node": "after_billing", "key": "9", "target": "main"},
        {"op": "set_defaults", "timeout_seconds": ""},
    )
    found = {(c.path, c.kind, c.shown(c.before), c.shown(c.after)) for c in changes(MENU, document)}
    assert found == {
        ("nodes.main.options.3.key", "changed", '"4"', '"5"'),
        ("nodes.after_billing.options.2", "added", "", '{"key": "9", "target": "main"}'),
        ("defaults.timeout_seconds", "removed", "6", ""),
    }
    assert changes(MENU, copy.deepcopy(MENU)) == []
    assert [(c.path, c.kind) for c in changes(None, {"a": 1, "b": {"c": 2}})] == [
        ("a", "added"),
        ("b", "added"),
    ]
    assert [(c.path, c.kind) for c in changes({"a": 1}, None)] == [("a", "removed")]
    assert changes(None, None) == [] and [c.kind for c in changes(None, 3)] == ["added"]
    assert [c.path for c in changes({"p": ["a", "b"]}, {"p": ["b", "a"]})] == ["p"]  # plain lists as a whole


def test_text_diff_is_a_unified_diff_of_indented_json() -> None:
    lines = text_diff({"a": 1, "b": [1]}, {"a": 2, "b": [1]}, "v1", "v2")
    assert lines[:2] == ["--- v1", "+++ v2"] and '-  "a": 1,' in lines and '+  "a": 2,' in lines


def test_raw_documents_in_json_or_toml() -> None:
    assert read_document('{"schema_version": 1}') == {"schema_version": 1}
    toml = "schema_version = 1\n[groups.x]\nholidays = [2026-10-01]\nopen = 08:00:00\n"
    assert read_document(toml) == {
        "schema_version": 1,
        "groups": {"x": {"holidays": ["2026-10-01"], "open": "08:00:00"}},
    }
    assert read_document(show_document(MENU)) == MENU
    for text, message in [
        ("", "empty"),
        ('{"a": }', "not valid JSON: Expecting value at line 1"),
        ("a = = 1", "not valid TOML"),
        ("[1, 2]", "not valid TOML"),
        ("x" * 600_000, "over 500,000 characters"),
    ]:
        with pytest.raises(EditRefused, match=message):
            read_document(text)


def test_the_tree_lists_nodes_from_the_root_with_their_texts_and_problems() -> None:
    document, _ = menu_after(
        {"op": "set_prompt_text", "key": "main_menu", "language": "en-US", "text": "Press 5 for complaints."},
        {"op": "set_option", "node": "main", "index": 3, "target": "complaints"},
        {"op": "add_node", "node": "orphan", "type": "info", "prompts": "goodbye"},
    )
    problems = [
        Problem("nodes.main", "leads to 'complaints', which does not exist"),
        Problem("fallback", "x"),
    ]
    tree = menu_tree(document, problems)
    ids = [node.id for node in tree.nodes]
    assert ids[0] == "main" and ids[-1] == "orphan" and ids.index("billing") < ids.index("billing_prices")
    main = tree.nodes[0]
    assert main.roles == ["root"] and main.depth == 0 and main.problems == [problems[0].message]
    prompt = next(p for p in main.prompts if p.key == "main_menu")
    assert prompt.texts["en-US"] == "Press 5 for complaints." and prompt.own == ["en-US"]
    assert prompt.texts["zh-CN"].startswith("账单和缴费请按1")
    complaint_option = main.options[3]
    assert (complaint_option.target, complaint_option.target_exists) == ("complaints", False)
    billing = next(n for n in tree.nodes if n.id == "billing")
    assert (billing.depth, billing.parent) == (1, "main")
    orphan = tree.nodes[-1]
    assert orphan.reachable is False
    assert tree.menu_problems == ["fallback: x"]
    assert "complaints" not in tree.node_ids and tree.as_json()["root"] == "main"


def test_the_tree_of_a_broken_document_still_renders() -> None:
    tree = menu_tree({"nodes": {"a": {"type": "menu", "options": "nonsense"}, "b": 7}, "languages": "x"}, [])
    assert [n.id for n in tree.nodes] == ["a", "b"] and tree.nodes[0].options == []
    assert menu_tree({}, []).nodes == []


def test_the_rules_view_attaches_problems_to_groups_and_filters() -> None:
    problems = [
        Problem("groups.billing.hours.mon", "ranges overlap"),
        Problem("filters.repair.steps.0", "no such group"),
        Problem("filters", "no emergency filter"),
    ]
    view = rules_view(RULES, problems)
    billing = next(g for g in view.groups if g.name == "billing")
    assert billing.problems == ["hours.mon: ranges overlap"] and billing.hours["mon"]
    repair = next(f for f in view.filters if f.name == "repair")
    assert repair.problems == ["steps.0: no such group"] and repair.after_hours.startswith("step: repair>=1")
    assert view.other_problems == ["filters: no emergency filter"]
    assert rules_view({"groups": [], "filters": "x"}, []).groups == []
