"""The pure call flow, driven through the default menu."""

from __future__ import annotations

import copy
import itertools

import pytest

from ivr.calls.flow import (
    ActionResult,
    Ask,
    CallerInput,
    CallState,
    Enqueue,
    RunAction,
    Said,
    Turn,
    after_action,
    normalize,
    respond,
    start,
)
from ivr.configuration.menus.schema import InputNode, MenuDocument, MenuNode
from ivr.configuration.menus.validation import load_menu_file, validate_document

MENU = validate_document(load_menu_file())
VERSION = 7
MAIN_ZH = ["greeting", "language_offer", "main_menu"]
GAS_LEAK_PHRASES = ["燃气泄漏", "漏气", "gas leak", "I can smell gas"]
# Every node that waits for the caller: a gas-leak phrase must work at each of them.
ASKING_NODES = sorted(nid for nid, node in MENU.nodes.items() if isinstance(node, MenuNode | InputNode))
SILENCE = CallerInput()


def at(node: str, language: str = "zh-CN", tries: int = 0, step: int = 3) -> CallState:
    return CallState(version=VERSION, node=node, language=language, tries=tries, step=step)


def press(state: CallState, digits: str, menu: MenuDocument = MENU) -> Turn:
    return respond(menu, state, CallerInput(digits=digits))


def say(state: CallState, speech: str) -> Turn:
    return respond(MENU, state, CallerInput(speech=speech))


def keys(turn: Turn) -> list[str]:
    return [said.key for said in turn.said]


def asked_at(turn: Turn) -> CallState:
    assert isinstance(turn.then, Ask), f"expected the caller to be asked, got {turn.then!r}"
    return turn.then.state


def queued(turn: Turn) -> Enqueue:
    assert isinstance(turn.then, Enqueue), f"expected a queue, got {turn.then!r}"
    return turn.then


def assert_emergency(turn: Turn) -> None:
    """The gas-leak path: safety instructions first, then the safety queue at the top priority."""
    then = queued(turn)
    assert then.state.node == "emergency"
    assert then.node.emergency is True
    assert then.node.priority == 10
    assert then.node.queue == "safety"
    assert then.node.intent == "safety"
    assert keys(turn)[0] == "safety_instructions"


def assert_fallback(turn: Turn) -> None:
    """A caller who could not choose reaches a person, with a word of explanation, never a hang-up."""
    then = queued(turn)
    assert then.state.node == "agent_queue"
    assert then.node.queue == "general"
    assert keys(turn)[-2:] == ["transfer_general", "queue_connecting"]
    assert then.state.tries == 0


# ---------------------------------------------------------------- the first turn and languages


def test_start_greets_offers_english_then_the_main_menu() -> None:
    turn = start(MENU, VERSION)
    assert turn.said == (
        Said("greeting", "zh-CN"),
        Said("language_offer", "en-US", (("key", "9"),)),
        Said("main_menu", "zh-CN"),
    )
    state = asked_at(turn)
    assert state == CallState(version=VERSION, node="main", language="zh-CN", tries=0, step=1)
    assert turn.visited == ("main",)
    assert turn.reason == "start"


def test_start_asks_for_one_key_with_the_default_timeout_and_hints() -> None:
    ask = start(MENU, VERSION).then
    assert isinstance(ask, Ask)
    assert (ask.num_digits, ask.finish_on_key, ask.timeout) == (1, "", 6)
    assert ask.hints[: len(MENU.emergency.phrases["zh-CN"])] == tuple(MENU.emergency.phrases["zh-CN"])
    assert "账单" in ask.hints and "gas leak" not in ask.hints
    assert len(set(ask.hints)) == len(ask.hints)


def test_start_in_english_offers_mandarin() -> None:
    turn = start(MENU, VERSION, "en-US")
    assert turn.said == (
        Said("greeting", "en-US"),
        Said("language_offer", "zh-CN", (("key", "8"),)),
        Said("main_menu", "en-US"),
    )
    assert asked_at(turn).language == "en-US"


@pytest.mark.parametrize(
    ("language", "given", "new_language", "offer"),
    [
        ("zh-CN", CallerInput(digits="9"), "en-US", Said("language_offer", "zh-CN", (("key", "8"),))),
        (
            "zh-CN",
            CallerInput(speech="English, please"),
            "en-US",
            Said("language_offer", "zh-CN", (("key", "8"),)),
        ),
        ("en-US", CallerInput(digits="8"), "zh-CN", Said("language_offer", "en-US", (("key", "9"),))),
        ("en-US", CallerInput(speech="中文"), "zh-CN", Said("language_offer", "en-US", (("key", "9"),))),
    ],
)
def test_language_switch_reenters_main(
    language: str, given: CallerInput, new_language: str, offer: Said
) -> None:
    turn = respond(MENU, at("main", language, tries=1), given)
    state = asked_at(turn)
    assert (state.node, state.language, state.tries) == ("main", new_language, 0)
    assert turn.said == (Said("greeting", new_language), offer, Said("main_menu", new_language))
    assert turn.reason == "language"


def test_pressing_the_current_language_key_is_harmless() -> None:
    turn = press(at("main", "zh-CN"), "8")
    assert asked_at(turn).language == "zh-CN"
    assert keys(turn) == MAIN_ZH


# ---------------------------------------------------------------- the main menu


@pytest.mark.parametrize(
    ("key", "node", "said"),
    [
        ("1", "billing", ["billing_menu", "back_hint"]),
        ("3", "repair", ["repair_menu"]),
        ("4", "complaint", ["complaint_menu"]),
    ],
)
def test_main_keys_to_submenus(key: str, node: str, said: list[str]) -> None:
    turn = press(at("main"), key)
    state = asked_at(turn)
    assert (state.node, state.language, state.tries) == (node, "zh-CN", 0)
    assert keys(turn) == said
    assert (turn.reason, turn.chosen) == ("key", key)
    assert any(o.key == key and o.target == node for o in MENU.nodes["main"].options)  # as the menu says


def test_main_key_2_is_the_emergency() -> None:
    turn = press(at("main"), "2")
    assert_emergency(turn)
    assert keys(turn) == ["safety_instructions"]
    assert turn.chosen == "2"


def test_main_key_0_is_an_agent() -> None:
    turn = press(at("main"), "0")
    then = queued(turn)
    assert (then.state.node, then.node.queue, then.node.intent) == ("agent_queue", "general", "agent")
    assert keys(turn) == ["queue_connecting"]


@pytest.mark.parametrize(
    ("node", "key", "target"),
    [
        ("billing", "*", "main"),
        ("repair", "*", "main"),
        ("complaint", "*", "main"),
        ("after_billing", "1", "main"),
        ("after_repair", "1", "main"),
        ("billing", "0", "billing_queue"),
        ("after_billing", "0", "billing_queue"),
        ("repair", "0", "repair_queue"),
        ("after_repair", "0", "repair_queue"),
        ("repair", "2", "repair_status"),
        ("billing", "4", "billing_balance"),
    ],
)
def test_submenu_keys(node: str, key: str, target: str) -> None:
    assert press(at(node), key).then.state.node == target


@pytest.mark.parametrize(
    ("language", "speech", "node"),
    [
        ("zh-CN", "我想交费", "billing"),
        ("zh-CN", "查一下余额", "billing"),
        ("zh-CN", "我要报修", "repair"),
        ("zh-CN", "家里没气了", "repair"),
        ("zh-CN", "我要投诉", "complaint"),
        ("zh-CN", "转人工", "agent_queue"),
        ("en-US", "I want to pay my bill", "billing"),
        ("en-US", "My meter is broken.", "repair"),
        ("en-US", "I'd like to make a complaint", "complaint"),
        ("en-US", "Can I talk to a person?", "agent_queue"),
        ("en-US", "OPERATOR", "agent_queue"),
        ("zh-CN", "bill", "billing"),  # phrases of every language are heard
    ],
)
def test_speech_selects_main_options(language: str, speech: str, node: str) -> None:
    turn = say(at("main", language), speech)
    assert turn.then.state.node == node
    assert turn.then.state.language == language
    assert (turn.reason, turn.chosen) == ("speech", speech)


@pytest.mark.parametrize(
    ("node", "speech", "target"),
    [
        ("billing", "气价多少", "billing_prices"),
        ("billing", "how do I pay", "billing_how_to_pay"),
        ("repair", "查询工单进度", "repair_status"),
        ("complaint", "the agent was rude", "complaint_service"),
        ("complaint", "质量问题", "complaint_quality"),
    ],
)
def test_speech_selects_submenu_options(node: str, speech: str, target: str) -> None:
    turn = say(at(node), speech)
    assert target in turn.visited


# ---------------------------------------------------------------- the gas leak, from everywhere


def test_asking_nodes_are_found() -> None:
    assert {"main", "billing", "repair", "complaint", "billing_account", "repair_status"} <= set(ASKING_NODES)


@pytest.mark.parametrize(("node", "phrase"), list(itertools.product(ASKING_NODES, GAS_LEAK_PHRASES)))
def test_gas_leak_phrase_reaches_the_emergency_from_every_asking_node(node: str, phrase: str) -> None:
    turn = say(at(node, tries=2), phrase)
    assert_emergency(turn)
    assert turn.said == (Said("safety_instructions", "zh-CN"),)
    assert turn.reason == "emergency-phrase"
    assert turn.then.state.tries == 0


@pytest.mark.parametrize("phrase", ["燃气泄漏了！快来人", "Help, there's a GAS LEAK here.", "有煤气味"])
@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_gas_leak_heard_in_any_language_and_wording(language: str, phrase: str) -> None:
    turn = say(at("billing", language), phrase)
    assert_emergency(turn)
    assert turn.said == (Said("safety_instructions", language),)


def test_gas_leak_phrase_wins_over_a_menu_phrase() -> None:
    assert_emergency(say(at("repair"), "报修，漏气了"))


def test_gas_leak_phrase_at_an_unknown_node_still_reaches_the_emergency() -> None:
    assert_emergency(say(at("removed_node"), "gas leak"))


@pytest.mark.parametrize(("node", "key"), [("main", "2"), ("complaint", "3")])
def test_emergency_keys(node: str, key: str) -> None:
    assert_emergency(press(at(node), key))


# ---------------------------------------------------------------- wrong keys and silence


@pytest.mark.parametrize(
    ("given", "notice", "reason"),
    [
        (CallerInput(digits="7"), "invalid_choice", "invalid"),
        (CallerInput(digits="12345"), "invalid_choice", "invalid"),
        (CallerInput(digits="?"), "invalid_choice", "invalid"),
        (CallerInput(digits="#"), "invalid_choice", "invalid"),
        (CallerInput(digits="*"), "invalid_choice", "invalid"),
        (CallerInput(speech="the weather is nice"), "invalid_choice", "invalid"),
        (CallerInput(speech="。。。"), "invalid_choice", "invalid"),
        (SILENCE, "no_input", "silence"),
    ],
)
def test_failure_at_main_repeats_the_menu(given: CallerInput, notice: str, reason: str) -> None:
    turn = respond(MENU, at("main", tries=0, step=4), given)
    state = asked_at(turn)
    assert (state.node, state.tries, state.step) == ("main", 1, 5)
    # The greeting is not repeated: only the menu, with the English offer after its first prompt.
    assert keys(turn) == [notice, "main_menu", "language_offer"]
    assert turn.reason == reason


def test_second_failure_counts_up() -> None:
    turn = press(at("billing", tries=1), "9")
    assert asked_at(turn).tries == 2
    assert keys(turn) == ["invalid_choice", "billing_menu", "back_hint"]


@pytest.mark.parametrize("given", [CallerInput(digits="7"), SILENCE, CallerInput(digits="12345")])
def test_third_failure_goes_to_a_person(given: CallerInput) -> None:
    turn = respond(MENU, at("main", tries=2), given)
    assert_fallback(turn)
    assert keys(turn) == ["transfer_general", "queue_connecting"]
    assert turn.reason.endswith("-too-many")


@pytest.mark.parametrize("node", ASKING_NODES)
@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_three_silences_anywhere_reach_a_person(node: str, language: str) -> None:
    state = at(node, language)
    for tries in (1, 2):
        turn = respond(MENU, state, SILENCE)
        state = asked_at(turn)
        assert (state.node, state.tries) == (node, tries)
        assert keys(turn)[0] == "no_input"
    turn = respond(MENU, state, SILENCE)
    assert_fallback(turn)
    assert turn.then.state.language == language


def test_node_max_tries_overrides_the_default() -> None:
    document = copy.deepcopy(load_menu_file())
    document["nodes"]["main"]["max_tries"] = 1
    document["nodes"]["main"]["timeout_seconds"] = 10
    menu = validate_document(document)
    ask = start(menu, VERSION).then
    assert isinstance(ask, Ask) and ask.timeout == 10
    assert_fallback(press(at("main"), "7", menu))
    assert asked_at(press(at("billing"), "7", menu)).tries == 1  # other nodes keep the default of 3


# ---------------------------------------------------------------- input nodes


@pytest.mark.parametrize(
    ("node", "action", "given", "digits"),
    [
        ("billing_account", "account_balance", CallerInput(digits="880123456"), "880123456"),
        ("repair_status", "work_order_status", CallerInput(digits="2024001"), "2024001"),
        ("billing_account", "account_balance", CallerInput(speech="8801 2345"), "88012345"),
        ("billing_account", "account_balance", CallerInput(digits="123456789012"), "123456789012"),
    ],
)
def test_input_digits_run_the_action(node: str, action: str, given: CallerInput, digits: str) -> None:
    turn = respond(MENU, at(node, tries=1, step=5), given)
    assert turn.said == ()
    assert turn.then == RunAction(at(node, tries=1, step=6), action, digits)
    assert (turn.reason, turn.chosen) == ("digits", digits)


def test_input_node_asks_for_digits_ended_by_hash() -> None:
    turn = press(at("billing", step=2), "4")
    assert isinstance(turn.then, RunAction)  # caller_balance first
    turn = after_action(MENU, turn.then.state, ActionResult(False))
    ask = turn.then
    assert isinstance(ask, Ask)
    assert (ask.state.node, ask.num_digits, ask.finish_on_key) == ("billing_account", 13, "#")


@pytest.mark.parametrize(
    ("given", "notice"),
    [
        (CallerInput(digits="1234567890123"), "invalid_choice"),  # longer than max_digits (12)
        (CallerInput(digits="12*4"), "invalid_choice"),
        (CallerInput(digits="?"), "invalid_choice"),
        (CallerInput(speech="I don't know it"), "invalid_choice"),
        (SILENCE, "no_input"),
    ],
)
def test_input_rejects_garbage(given: CallerInput, notice: str) -> None:
    turn = respond(MENU, at("billing_account"), given)
    assert asked_at(turn).tries == 1
    assert keys(turn) == [notice, "ask_account"]


@pytest.mark.parametrize(
    ("node", "result", "said", "then_node"),
    [
        (
            "billing_account",
            ActionResult(True, "balance", (("account", "8801"), ("amount", "12.50"))),
            [
                Said("balance", "zh-CN", (("account", "8801"), ("amount", "12.50"))),
                Said("after_answer", "zh-CN"),
            ],
            "after_billing",
        ),
        (
            "repair_status",
            ActionResult(True, "work_order_open", (("number", "2024001"), ("hours", "2"))),
            [
                Said("work_order_open", "zh-CN", (("number", "2024001"), ("hours", "2"))),
                Said("after_answer", "zh-CN"),
            ],
            "after_repair",
        ),
    ],
)
def test_input_found_speaks_the_result_then_goes_on(
    node: str, result: ActionResult, said: list[Said], then_node: str
) -> None:
    turn = after_action(MENU, at(node, tries=1), result)
    assert list(turn.said) == said
    state = asked_at(turn)
    assert (state.node, state.tries) == (then_node, 0)
    assert turn.reason == "action-done"


@pytest.mark.parametrize(
    ("node", "not_found", "ask"),
    [
        ("billing_account", "account_not_found", "ask_account"),
        ("repair_status", "work_order_not_found", "ask_work_order"),
    ],
)
def test_input_not_found_says_so_and_asks_again(node: str, not_found: str, ask: str) -> None:
    turn = after_action(MENU, at(node), ActionResult(False, not_found))
    assert keys(turn)[0] == not_found
    assert keys(turn)[-1] == ask
    state = asked_at(turn)
    assert (state.node, state.tries) == (node, 1)


def test_input_too_many_not_found_goes_to_a_person() -> None:
    state = at("billing_account")
    for attempt in range(3):
        run = press(state, f"99{attempt}")
        assert isinstance(run.then, RunAction)
        turn = after_action(MENU, run.then.state, ActionResult(False, "account_not_found"))
        if attempt < 2:
            state = asked_at(turn)
            assert state.tries == attempt + 1
    assert_fallback(turn)
    assert keys(turn) == ["account_not_found", "transfer_general", "queue_connecting"]
    assert turn.reason == "not-found-too-many"


# ---------------------------------------------------------------- action nodes


def test_caller_balance_runs_without_input() -> None:
    turn = press(at("billing"), "4")
    assert turn.said == ()
    assert turn.then == RunAction(at("billing_balance", step=4), "caller_balance")


def test_caller_balance_missing_asks_for_an_account() -> None:
    turn = after_action(MENU, at("billing_balance"), ActionResult(False))
    assert keys(turn) == ["ask_account"]
    assert asked_at(turn).node == "billing_account"
    assert turn.reason == "action-missing"


def test_caller_balance_found_speaks_it() -> None:
    values = (("account", "8801"), ("amount", "3.20"))
    turn = after_action(MENU, at("billing_balance"), ActionResult(True, "balance_arrears", values))
    assert turn.said == (Said("balance_arrears", "zh-CN", values), Said("after_answer", "zh-CN"))
    assert asked_at(turn).node == "after_billing"


def test_report_fault_then_after_repair() -> None:
    run = press(at("repair"), "1")
    assert run.then == RunAction(at("repair_report", step=4), "report_fault")
    values = (("number", "2024002"), ("hours", "2"))
    turn = after_action(MENU, run.then.state, ActionResult(True, "fault_reported", values))
    assert turn.said[0] == Said("fault_reported", "zh-CN", values)
    assert asked_at(turn).node == "after_repair"


@pytest.mark.parametrize(
    ("key", "info"), [("1", "billing_prices"), ("2", "billing_how_to_pay"), ("3", "billing_open_account")]
)
def test_info_nodes_speak_and_go_on(key: str, info: str) -> None:
    turn = press(at("billing", "en-US"), key)
    assert turn.said == (Said(info, "en-US"), Said("after_answer", "en-US"))
    assert turn.visited == (info, "after_billing")
    assert asked_at(turn).node == "after_billing"


# ---------------------------------------------------------------- steps and odd states


@pytest.mark.parametrize(
    "inputs",
    [
        [CallerInput(digits="1"), CallerInput(digits="*"), CallerInput(digits="3")],
        [SILENCE, CallerInput(digits="7"), CallerInput(speech="投诉")],
        [CallerInput(digits="9"), CallerInput(speech="repair"), CallerInput(digits="2")],
    ],
)
def test_step_increases_by_one_per_answer(inputs: list[CallerInput]) -> None:
    state = asked_at(start(MENU, VERSION))
    assert state.step == 1
    for expected, given in enumerate(inputs, start=2):
        turn = respond(MENU, state, given)
        assert turn.then.state.step == expected
        state = turn.then.state


def test_unknown_node_goes_to_the_root() -> None:
    turn = press(at("removed_node", "en-US", tries=2, step=8), "3")
    state = asked_at(turn)
    assert (state.node, state.language, state.tries, state.step) == ("main", "en-US", 0, 9)
    assert keys(turn) == ["main_menu", "language_offer"]
    assert turn.reason == "unknown-node"


def test_an_answer_at_a_queue_node_reenters_it() -> None:
    turn = press(at("billing_queue"), "5")
    assert queued(turn).state.node == "billing_queue"
    assert turn.reason == "re-entered"


# ---------------------------------------------------------------- complaints


@pytest.mark.parametrize(
    ("key", "node", "complaint_class", "hours", "notice"),
    [
        ("1", "complaint_service", "service", 24, "complaint_service_notice"),
        ("2", "complaint_quality", "quality", 4, "complaint_quality_notice"),
    ],
)
def test_complaint_queues(key: str, node: str, complaint_class: str, hours: int, notice: str) -> None:
    turn = press(at("complaint"), key)
    then = queued(turn)
    assert then.state.node == node
    assert (then.node.queue, then.node.intent) == ("complaint", "complaint")
    assert (then.node.complaint_class, then.node.reply_within_hours) == (complaint_class, hours)
    assert then.node.emergency is False
    assert keys(turn) == [notice]


def test_unhandled_leak_complaint_is_an_emergency() -> None:
    turn = press(at("complaint"), "3")
    assert_emergency(turn)
    assert turn.reason == "key"


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gas Leak!", "gasleak"),
        ("I can't  smell_gas.", "icantsmellgas"),
        ("燃气，泄漏。", "燃气泄漏"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# ---------------------------------------------------------------- phrase matching, intro, ways out


@pytest.mark.parametrize(
    ("speech", "target"),
    [
        ("I want to complain about my payment", "complaint"),
        ("我要投诉缴费的问题", "complaint"),
        ("how do I pay my bill", "billing"),
    ],
)
def test_the_longest_phrase_heard_wins(speech: str, target: str) -> None:
    assert asked_at(say(at("main", "en-US"), speech)).node == target


def test_praise_is_not_a_meter_complaint() -> None:
    turn = say(at("complaint"), "我想表扬一下师傅")
    assert asked_at(turn).node == "complaint" and turn.reason == "invalid"


@pytest.mark.parametrize(
    "phrase", ["煤气漏了", "家里有股煤气味儿", "it smells like gas in here", "the gas is leaking"]
)
def test_everyday_wordings_of_a_leak_reach_the_emergency(phrase: str) -> None:
    assert_emergency(say(at("repair_status"), phrase))


def test_greeting_only_at_the_start_and_after_a_language_change() -> None:
    english = press(at("main", step=1), "9")
    assert keys(english)[0] == "greeting" and english.said[0].language == "en-US"
    back_to_main = press(at("after_billing"), "1")
    assert "greeting" not in keys(back_to_main)


def test_not_found_apologises_once() -> None:
    turn = after_action(MENU, at("billing_account"), ActionResult(False, "account_not_found"))
    assert keys(turn) == ["account_not_found", "ask_account"]


def test_star_leaves_an_input_node() -> None:
    turn = press(at("repair_status", tries=2), "*")
    assert asked_at(turn).node == "repair" and turn.reason == "back"
