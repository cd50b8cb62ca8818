"""A menu document's own prompt texts (validation, the voice of its version) and the dead-end rule."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from twilio.twiml.voice_response import VoiceResponse

from ivr.calls import twiml
from ivr.calls.flow import Said
from ivr.config import Settings
from ivr.configuration.menus.texts import with_document_prompts
from ivr.configuration.menus.validation import InvalidMenu, load_menu_file, validate_document
from prompts import load_catalogues

DEFAULT = load_menu_file()


def with_texts(texts: dict[str, Any], mutate=None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    document = copy.deepcopy(DEFAULT)
    document["prompts"] = texts
    if mutate:
        mutate(document)
    return document


def problems(document: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidMenu) as caught:
        validate_document(document)
    return [str(p) for p in caught.value.problems]


def test_document_texts_replace_catalogue_prompts_and_validate() -> None:
    menu = validate_document(
        with_texts({"main_menu": {"zh-CN": "投诉请按5。", "en-US": "Complaints: press 5."}})
    )
    assert menu.prompts["main_menu"]["en-US"] == "Complaints: press 5."


def test_a_new_prompt_key_resolves_through_the_document_in_every_language() -> None:
    def use_new_key(document: dict[str, Any]) -> None:
        document["nodes"]["billing_prices"]["prompts"] = ["winter_prices"]

    assert problems(with_texts({}, use_new_key)) == [
        "nodes.billing_prices: prompt 'winter_prices' is missing in zh-CN",
        "nodes.billing_prices: prompt 'winter_prices' is missing in en-US",
    ]
    assert problems(with_texts({"winter_prices": {"zh-CN": "冬季气价不变。"}}, use_new_key)) == [
        "nodes.billing_prices: prompt 'winter_prices' is missing in en-US"
    ]
    both = {"winter_prices": {"zh-CN": "冬季气价不变。", "en-US": "Winter prices are unchanged."}}
    assert validate_document(with_texts(both, use_new_key)).nodes["billing_prices"].prompts == [
        "winter_prices"
    ]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (
            {"balance": {"zh-CN": "余额{money}元"}},
            "prompts.balance: the zh-CN text must use {account}, {amount}, as the values the call fills in;"
            " it uses {money}",
        ),
        (
            {"balance": {"en-US": "Your balance is low."}},
            "prompts.balance: the en-US text must use {account}, {amount}, as the values the call fills in;"
            " it uses none",
        ),
        (
            {"main_menu": {"zh-CN": "请按{key}"}},
            "prompts.main_menu: the zh-CN text must use no placeholder, as the values the call fills in;"
            " it uses {key}",
        ),
        ({"main_menu": {"en-US": "Press 1 {"}}, "prompts.main_menu: the en-US text has a lone '{' or '}'"),
        (
            {"main_menu": {"fr-FR": "Appuyez sur 1."}},
            "prompts.main_menu: has a text in fr-FR, which the menu",
        ),
        (
            {"queue_position": {"zh-CN": "前面还有{ahead}位。"}},
            "prompts.queue_position: is not spoken by any node of this menu",
        ),
    ],
)
def test_document_texts_are_checked(texts: dict[str, Any], expected: str) -> None:
    found = problems(with_texts(texts))
    assert any(problem.startswith(expected) for problem in found), found


@pytest.mark.parametrize(
    ("texts", "where"),
    [
        ({"main_menu": {"zh-CN": ""}}, "prompts.main_menu.zh-CN"),
        ({"Main Menu": {"zh-CN": "x"}}, "prompts.Main Menu.[key]"),
        ({"main_menu": "plain text"}, "prompts.main_menu"),
    ],
)
def test_document_texts_have_a_structure(texts: dict[str, Any], where: str) -> None:
    assert any(problem.startswith(where) for problem in problems(with_texts(texts)))


def test_flow_prompts_and_action_results_may_be_reworded() -> None:
    texts = {
        "invalid_choice": {"zh-CN": "按键无效。", "en-US": "That key does nothing."},
        "balance": {"en-US": "Account {account}: {amount} yuan."},
        "language_offer": {"en-US": "English: press {key}."},
    }
    assert validate_document(with_texts(texts)).prompts["balance"]["en-US"].endswith("yuan.")


def test_a_region_that_never_reaches_a_queue_or_a_number_is_a_dead_end() -> None:
    def closed_circle(document: dict[str, Any]) -> None:
        nodes = document["nodes"]
        nodes["outage"] = {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": [{"key": "1", "target": "outage_info"}, {"key": "2", "target": "outage"}],
        }
        nodes["outage_info"] = {"type": "info", "prompts": ["billing_prices"], "next": "outage"}
        nodes["main"]["options"].append({"key": "6", "target": "outage"})

    assert problems(with_texts({}, closed_circle)) == [
        "nodes.outage: is a dead end: no way on from here ever reaches an agent or an outside number"
        " (a queue or dial node)",
        "nodes.outage_info: is a dead end: no way on from here ever reaches an agent or an outside number"
        " (a queue or dial node)",
    ]

    def with_a_way_out(document: dict[str, Any]) -> None:
        closed_circle(document)
        document["nodes"]["outage"]["options"].append({"key": "0", "target": "agent_queue"})

    validate_document(with_texts({}, with_a_way_out))


def test_the_shipped_menu_has_no_dead_end() -> None:
    validate_document(copy.deepcopy(DEFAULT))


# ---------------------------------------------------------------- the voice of a version


def test_a_versions_voice_speaks_its_own_texts_and_the_catalogue_for_the_rest() -> None:
    voice = twiml.Voice(Settings())
    texts = {
        "main_menu": {"en-US": "Complaints: press 5."},
        "balance": {"zh-CN": "账户{account}余额{amount}。"},
    }
    own = voice.for_menu(2, texts)
    assert voice.for_menu(2, texts) is own and voice.for_menu(1, {}) is voice
    response = VoiceResponse()
    own.add(
        response,
        [
            Said("main_menu", "en-US"),
            Said("main_menu", "zh-CN"),
            Said("balance", "zh-CN", (("account", "1 2"), ("amount", "3.00"))),
        ],
    )
    said = [element.text for element in twiml_elements(response)]
    assert said[0] == "Complaints: press 5." and said[1].startswith("账单和缴费请按1")
    assert said[2] == "账户1 2余额3.00。"
    plain = VoiceResponse()
    voice.add(plain, [Said("main_menu", "en-US")])
    assert twiml_elements(plain)[0].text.startswith("For bills and payments")  # other versions unchanged


def test_overlaying_texts_leaves_the_shipped_catalogues_alone() -> None:
    shipped = load_catalogues()
    merged = with_document_prompts(shipped, {"goodbye": {"en-US": "Bye."}})
    assert (
        merged["en-US"].prompts["goodbye"].text == "Bye."
        and shipped["en-US"].prompts["goodbye"].text != "Bye."
    )
    assert merged["zh-CN"] is shipped["zh-CN"]


def twiml_elements(response: VoiceResponse) -> list[Any]:
    import xml.etree.ElementTree as ET

    return list(ET.fromstring(twiml.render(response)).iter("Say"))
