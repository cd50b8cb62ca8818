"""Menu validation: one broken rule at a time, starting from the default menu."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from ivr.configuration.menus.schema import MenuDocument
from ivr.configuration.menus.validation import (
    ENGINE_PROMPTS,
    InvalidMenu,
    Problem,
    load_menu_file,
    validate_document,
)
from prompts import Catalogue, load_catalogues

Document = dict[str, Any]
DEFAULT = load_menu_file()


def default_document() -> Document:
    return copy.deepcopy(DEFAULT)


def refused(
    mutate: Callable[[Document], None], catalogues: dict[str, Catalogue] | None = None
) -> InvalidMenu:
    """Break the default menu with `mutate`; validation must refuse it."""
    document = default_document()
    mutate(document)
    with pytest.raises(InvalidMenu) as caught:
        validate_document(document, catalogues)
    assert caught.value.problems, "InvalidMenu must carry at least one problem"
    return caught.value


def problems_after(
    mutate: Callable[[Document], None], catalogues: dict[str, Catalogue] | None = None
) -> list[Problem]:
    return refused(mutate, catalogues).problems


def assert_named(error: InvalidMenu, where: str, fragment: str) -> None:
    """One problem names the place `where` and says `fragment`; the error's text carries it."""
    matching = [p for p in error.problems if p.where == where and fragment in p.message]
    assert matching, f"no problem at {where!r} saying {fragment!r} in {error}"
    assert str(matching[0]) in str(error)


def without_prompt(language: str, key: str) -> dict[str, Catalogue]:
    """The shipped catalogues, with one prompt removed from one language (the cached ones stay intact)."""
    catalogues = dict(load_catalogues())
    shipped = catalogues[language]
    assert key in shipped.prompts
    catalogues[language] = replace(shipped, prompts={k: v for k, v in shipped.prompts.items() if k != key})
    return catalogues


# ---------------------------------------------------------------- the default menu


def test_default_menu_validates() -> None:
    menu = validate_document(default_document())
    assert isinstance(menu, MenuDocument)
    assert menu.root == "main"
    assert menu.fallback == "agent_queue"
    assert menu.emergency.target == "emergency"
    assert menu.languages == ["zh-CN", "en-US"]


def test_validation_does_not_change_the_document() -> None:
    document = default_document()
    validate_document(document)
    assert document == DEFAULT


# ---------------------------------------------------------------- layer one: structure


def _set(path: list[str | int], value: object) -> Callable[[Document], None]:
    def mutate(document: Document) -> None:
        target: Any = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _add_main_option(option: dict[str, object]) -> Callable[[Document], None]:
    def mutate(document: Document) -> None:
        document["nodes"]["main"]["options"].append(option)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        pytest.param(
            _add_main_option({"key": "1", "target": "agent_queue"}),
            "nodes.main.menu.options",
            "key(s) 1 used by more than one option",
            id="duplicate-key",
        ),
        pytest.param(
            _set(["nodes", "main", "options", 0, "key"], "a"),
            "nodes.main.menu.options.0.key",
            "should match pattern",
            id="bad-key-character",
        ),
        pytest.param(
            _set(["nodes", "main", "options", 0, "key"], "12"),
            "nodes.main.menu.options.0.key",
            "should match pattern",
            id="two-character-key",
        ),
        pytest.param(
            _set(["nodes", "main", "colour"], "red"),
            "nodes.main.menu.colour",
            "Extra inputs are not permitted",
            id="unknown-node-field",
        ),
        pytest.param(
            _set(["owner"], "someone"),
            "owner",
            "Extra inputs are not permitted",
            id="unknown-top-field",
        ),
        pytest.param(
            _set(["nodes", "billing", "options"], []),
            "nodes.billing.menu.options",
            "at least 1 item",
            id="menu-without-options",
        ),
        pytest.param(
            _set(["schema_version"], 2),
            "schema_version",
            "Input should be 1",
            id="schema-version-wrong",
        ),
        pytest.param(
            _set(["nodes", "billing", "type"], "submenu"),
            "nodes.billing",
            "does not match any of the expected tags",
            id="unknown-node-type",
        ),
        pytest.param(
            _set(["nodes", "emergency", "priority"], 11),
            "nodes.emergency.queue.priority",
            "less than or equal to 10",
            id="priority-out-of-range",
        ),
        pytest.param(
            _set(["languages"], ["english"]),
            "languages.0",
            "should match pattern",
            id="bad-language-tag",
        ),
    ],
)
def test_structure_problems(mutate: Callable[[Document], None], where: str, fragment: str) -> None:
    assert_named(refused(mutate), where, fragment)


def test_missing_schema_version() -> None:
    assert_named(refused(lambda d: d.pop("schema_version")), "schema_version", "Field required")


# ---------------------------------------------------------------- layer two: references and flow


def _unknown_option_target(document: Document) -> None:
    document["nodes"]["billing"]["options"][0]["target"] = "billing_tariffs"


def _unknown_next(document: Document) -> None:
    document["nodes"]["billing_prices"]["next"] = "after_bill"


def _unknown_on_missing(document: Document) -> None:
    document["nodes"]["billing_balance"]["on_missing"] = "billing_acct"


def _unreachable_node(document: Document) -> None:
    document["nodes"]["orphan"] = {"type": "info", "prompts": ["goodbye"], "next": "main"}


def _root_not_a_menu(document: Document) -> None:
    # A welcome node in front of the menu: everything stays reachable, only the root rule breaks.
    document["nodes"]["welcome"] = {"type": "info", "prompts": ["greeting"], "next": "main"}
    document["root"] = "welcome"


def _no_gas_leak_key_at_root(document: Document) -> None:
    options = document["nodes"]["main"]["options"]
    document["nodes"]["main"]["options"] = [o for o in options if o["target"] != "emergency"]


def _emergency_not_an_emergency_queue(document: Document) -> None:
    document["nodes"]["emergency"]["emergency"] = False


def _emergency_is_a_menu(document: Document) -> None:
    document["emergency"]["target"] = "repair"
    document["nodes"]["main"]["options"][1]["target"] = "repair"
    document["nodes"]["complaint"]["options"][2]["target"] = "repair"
    del document["nodes"]["emergency"]


def _fallback_not_a_queue(document: Document) -> None:
    document["fallback"] = "main"


def _info_loop(document: Document) -> None:
    document["nodes"]["billing_prices"]["next"] = "billing_how_to_pay"
    document["nodes"]["billing_how_to_pay"]["next"] = "billing_prices"


def _info_loop_to_itself(document: Document) -> None:
    document["nodes"]["billing_prices"]["next"] = "billing_prices"


def _language_not_offered(document: Document) -> None:
    document["nodes"]["main"]["options"].append({"key": "7", "target": "main", "language": "fr-FR"})


def _phrases_in_language_not_offered(document: Document) -> None:
    document["nodes"]["repair"]["options"][0]["phrases"]["fr-FR"] = ["panne"]


def _unknown_prompt(document: Document) -> None:
    document["nodes"]["repair"]["prompts"] = ["repair_menu", "repair_hint"]


def _menu_without_prompts(document: Document) -> None:
    document["nodes"]["repair"]["prompts"] = []


def _root_does_not_exist(document: Document) -> None:
    document["root"] = "start"


def _default_language_not_offered(document: Document) -> None:
    document["languages"] = ["en-US"]
    for node in document["nodes"].values():
        for option in node.get("options", []):
            option.get("phrases", {}).pop("zh-CN", None)
            if option.get("language") == "zh-CN":
                option["language"] = "en-US"


def _language_without_catalogue(document: Document) -> None:
    document["languages"].append("fr-FR")


@pytest.mark.parametrize(
    ("mutate", "where", "fragment"),
    [
        pytest.param(
            _unknown_option_target,
            "nodes.billing",
            "leads to 'billing_tariffs', which does not exist",
            id="unknown-option-target",
        ),
        pytest.param(
            _unknown_next,
            "nodes.billing_prices",
            "leads to 'after_bill', which does not exist",
            id="unknown-next",
        ),
        pytest.param(
            _unknown_on_missing,
            "nodes.billing_balance",
            "leads to 'billing_acct', which does not exist",
            id="unknown-on-missing",
        ),
        pytest.param(
            _unknown_prompt, "nodes.repair", "prompt 'repair_hint' is missing in zh-CN", id="unknown-prompt"
        ),
        pytest.param(
            _menu_without_prompts,
            "nodes.repair",
            "asks the caller something but has no prompt",
            id="menu-without-prompts",
        ),
        pytest.param(
            _unreachable_node, "nodes.orphan", "cannot be reached from the root", id="unreachable-node"
        ),
        pytest.param(_root_not_a_menu, "root", "must be a menu", id="root-not-a-menu"),
        pytest.param(_root_does_not_exist, "root", "node 'start' does not exist", id="root-does-not-exist"),
        pytest.param(
            _no_gas_leak_key_at_root,
            "nodes.main",
            "the gas-leak choice must be one key from the root",
            id="gas-leak-not-at-root",
        ),
        pytest.param(
            _emergency_not_an_emergency_queue,
            "emergency.target",
            "must be an emergency queue",
            id="emergency-queue-not-flagged",
        ),
        pytest.param(
            _emergency_is_a_menu,
            "emergency.target",
            "must be an emergency queue",
            id="emergency-target-a-menu",
        ),
        pytest.param(_fallback_not_a_queue, "fallback", "must be a queue", id="fallback-not-a-queue"),
        pytest.param(
            _info_loop,
            "nodes.billing_prices",
            "loops through other nodes without ever waiting",
            id="info-loop",
        ),
        pytest.param(
            _info_loop_to_itself,
            "nodes.billing_prices",
            "loops through other nodes without ever waiting",
            id="info-loop-to-itself",
        ),
        pytest.param(
            _language_not_offered,
            "nodes.main",
            "option 7 uses language fr-FR, not offered",
            id="language-option-not-offered",
        ),
        pytest.param(
            _phrases_in_language_not_offered,
            "nodes.repair",
            "option 1 uses language fr-FR, not offered",
            id="phrases-language-not-offered",
        ),
        pytest.param(
            _default_language_not_offered,
            "default_language",
            "zh-CN is not in languages",
            id="default-language-not-offered",
        ),
        pytest.param(
            _language_without_catalogue,
            "languages",
            "no prompt catalogue for fr-FR",
            id="language-without-catalogue",
        ),
    ],
)
def test_reference_problems(mutate: Callable[[Document], None], where: str, fragment: str) -> None:
    assert_named(refused(mutate), where, fragment)


def test_info_loop_names_both_nodes_and_nothing_else() -> None:
    problems = problems_after(_info_loop)
    assert sorted(p.where for p in problems) == ["nodes.billing_how_to_pay", "nodes.billing_prices"]


def test_root_not_a_menu_is_the_only_problem() -> None:
    assert [str(p) for p in problems_after(_root_not_a_menu)] == ["root: must be a menu"]


@pytest.mark.parametrize(
    ("language", "key", "where"),
    [
        ("en-US", "billing_menu", "nodes.billing"),
        ("zh-CN", "safety_instructions", "nodes.emergency"),
        ("en-US", "language_offer", "nodes.main"),
        ("zh-CN", "account_not_found", "nodes.billing_account"),
        ("en-US", "work_order_dispatched", "nodes.repair_status"),
        ("zh-CN", "fault_reported", "nodes.repair_report"),
        ("en-US", "balance_arrears", "nodes.billing_balance"),
    ],
)
def test_prompt_missing_in_one_language(language: str, key: str, where: str) -> None:
    error = refused(lambda d: None, without_prompt(language, key))
    assert_named(error, where, f"prompt {key!r} is missing in {language}")
    other = "zh-CN" if language == "en-US" else "en-US"
    assert not any(f"missing in {other}" in p.message for p in error.problems)


@pytest.mark.parametrize("key", ENGINE_PROMPTS)
def test_engine_prompt_missing(key: str) -> None:
    assert_named(
        refused(lambda d: None, without_prompt("en-US", key)),
        "prompts",
        f"prompt {key!r} is missing in en-US",
    )


def test_unused_prompt_missing_is_fine() -> None:
    # `goodbye` is spoken by the shell, not by this menu: removing it is not the menu's problem.
    assert validate_document(default_document(), without_prompt("en-US", "goodbye")).root == "main"


def test_every_problem_is_reported_at_once() -> None:
    def two_faults(document: Document) -> None:
        _unknown_next(document)
        _unknown_option_target(document)

    problems = problems_after(two_faults)
    assert {p.where for p in problems} == {"nodes.billing", "nodes.billing_prices"}


def test_shipped_catalogues_are_not_changed_by_these_tests() -> None:
    assert all("goodbye" in c.prompts and "billing_menu" in c.prompts for c in load_catalogues().values())


def test_every_offered_language_needs_gas_leak_phrases() -> None:
    error = refused(lambda doc: doc["emergency"]["phrases"].pop("en-US"))
    assert_named(error, "emergency.phrases", "no gas-leak phrases for en-US")


def test_emergency_queue_must_have_the_top_priority() -> None:
    error = refused(_lower_emergency)
    assert_named(error, "emergency.target", "priority 9 is below another queue's 10")


def _lower_emergency(doc: Document) -> None:
    doc["nodes"]["emergency"]["priority"] = 9
    doc["nodes"]["billing_queue"]["priority"] = 10
