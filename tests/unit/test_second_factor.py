"""The second factor before another account's figures (issue 13, point 11): the pure call flow."""

from __future__ import annotations

import copy

import pytest

from ivr.calls.flow import (
    SECOND_FACTOR_CHECK,
    SECOND_FACTOR_TRIES,
    ActionResult,
    Ask,
    CallerInput,
    CallState,
    Enqueue,
    RunAction,
    Said,
    Turn,
    after_action,
    kept_input,
    respond,
)
from ivr.calls.menu_actions import ACTIONS
from ivr.configuration.menus.validation import load_menu_file, prompt_keys_of, validate_document

MENU = validate_document(load_menu_file())
ACCOUNT = "10000002"
FIGURES = ActionResult(True, "balance_arrears", (("account", "1 0 0 0 0 0 0 2"), ("amount", "46.20")))
WRONG = ActionResult(False, "account_check_failed")


def at(node: str, account: str = "", tries: int = 0, language: str = "zh-CN") -> CallState:
    return CallState(version=3, node=node, language=language, tries=tries, step=5, account=account)


def keys(turn: Turn) -> list[str]:
    return [said.key for said in turn.said]


def asked(turn: Turn) -> Ask:
    assert isinstance(turn.then, Ask), f"expected the caller to be asked, got {turn.then!r}"
    return turn.then


def keyed_account(language: str = "zh-CN") -> Turn:
    """A caller keys an account number that is not their phone's: the action asks for the factor."""
    run = respond(MENU, at("billing_account", language=language), CallerInput(digits=ACCOUNT))
    assert run.then == RunAction(CallState(3, "billing_account", language, 0, 6), "account_balance", ACCOUNT)
    assert isinstance(run.then, RunAction)
    return after_action(MENU, run.then.state, ActionResult(False, second_factor_for=ACCOUNT))


def factor(state: CallState, digits: str) -> RunAction:
    run = respond(MENU, state, CallerInput(digits=digits))
    assert isinstance(run.then, RunAction), f"expected the check to run, got {run.then!r}"
    return run.then


def test_another_account_is_asked_the_second_factor_and_told_nothing_else() -> None:
    turn = keyed_account()
    # Not a word about the account (its figures, whether it exists): only the question, and why.
    assert turn.said == (Said("ask_id_last4", "zh-CN"),)
    ask = asked(turn)
    assert ask.state == CallState(3, "billing_account", "zh-CN", 0, 6, account=ACCOUNT)
    assert (ask.num_digits, ask.finish_on_key) == (4, "#")
    assert turn.reason == "second-factor-asked"


@pytest.mark.parametrize(("keyed", "checked"), [("3021", "3021"), ("457*", "457X"), ("4571#", "4571")])
def test_the_factor_is_checked_by_the_shell_with_the_account_from_the_state(keyed: str, checked: str) -> None:
    state = asked(keyed_account()).state
    run = factor(state, keyed)
    assert run == RunAction(
        CallState(3, "billing_account", "zh-CN", 0, 7, ACCOUNT), SECOND_FACTOR_CHECK, checked
    )
    assert SECOND_FACTOR_CHECK in ACTIONS


def test_the_factor_is_never_the_turns_chosen_input() -> None:
    turn = respond(MENU, asked(keyed_account()).state, CallerInput(digits="3021"))
    assert turn.chosen == "" and "3021" not in repr(turn.visited) + turn.reason


def test_a_matching_factor_reads_the_figures_and_drops_the_account() -> None:
    run = factor(asked(keyed_account()).state, "457*")
    turn = after_action(MENU, run.state, FIGURES)
    assert keys(turn) == ["balance_arrears", "after_answer"]
    assert asked(turn).state.node == "after_billing" and asked(turn).state.account == ""


def test_a_wrong_factor_is_said_once_asked_again_then_an_agent_without_figures() -> None:
    state = asked(keyed_account()).state
    first = after_action(MENU, factor(state, "1111").state, WRONG)
    assert keys(first) == ["account_check_failed", "ask_id_last4"]
    again = asked(first).state
    assert (again.node, again.tries, again.account) == ("billing_account", 1, ACCOUNT)

    second = after_action(MENU, factor(again, "2222").state, WRONG)
    assert keys(second) == ["account_check_failed", "transfer_general", "queue_connecting"]
    assert isinstance(second.then, Enqueue) and second.then.state.node == MENU.fallback
    assert second.then.state.account == "" and second.reason == "second-factor-wrong-too-many"
    assert not {"balance", "balance_arrears"} & set(keys(first) + keys(second))
    assert SECOND_FACTOR_TRIES == 2


def test_the_factor_tries_do_not_follow_the_menus_max_tries() -> None:
    raw = copy.deepcopy(load_menu_file())
    raw["nodes"]["billing_account"]["max_tries"] = 5
    menu = validate_document(raw)
    state = CallState(3, "billing_account", "zh-CN", tries=1, step=9, account=ACCOUNT)
    run = respond(menu, state, CallerInput(digits="9999"))
    assert isinstance(run.then, RunAction)
    assert isinstance(after_action(menu, run.then.state, WRONG).then, Enqueue)


@pytest.mark.parametrize(
    ("given", "notice"),
    [
        (CallerInput(), "no_input"),
        (CallerInput(digits="12"), "invalid_choice"),
        (CallerInput(digits="12345"), "invalid_choice"),
        (CallerInput(digits="1*34"), "invalid_choice"),  # X is only ever the last character
        (CallerInput(digits="?"), "invalid_choice"),
        (CallerInput(speech="一二三四"), "invalid_choice"),  # keys only
        (CallerInput(speech="1234"), "invalid_choice"),
    ],
)
def test_a_malformed_factor_is_a_try_and_never_looked_up(given: CallerInput, notice: str) -> None:
    state = asked(keyed_account()).state
    turn = respond(MENU, state, given)
    assert keys(turn) == [notice, "ask_id_last4"]
    assert asked(turn).state.tries == 1 and asked(turn).state.account == ACCOUNT
    last = respond(MENU, asked(turn).state, given)
    assert isinstance(last.then, Enqueue) and last.then.state.node == MENU.fallback


def test_star_alone_goes_back_and_forgets_the_account() -> None:
    turn = respond(MENU, asked(keyed_account()).state, CallerInput(digits="*"))
    assert asked(turn).state.node == "billing" and asked(turn).state.account == ""


def test_a_gas_leak_phrase_still_wins_at_the_factor_question() -> None:
    turn = respond(MENU, asked(keyed_account()).state, CallerInput(speech="家里燃气泄漏了"))
    assert isinstance(turn.then, Enqueue) and turn.then.node.emergency
    assert turn.then.state.account == ""


def test_the_english_caller_hears_the_same_question_in_english() -> None:
    turn = keyed_account("en-US")
    assert turn.said == (Said("ask_id_last4", "en-US"),)


def test_the_callers_own_account_is_read_without_a_factor() -> None:
    run = respond(MENU, at("billing_account"), CallerInput(digits=ACCOUNT))
    assert isinstance(run.then, RunAction)
    turn = after_action(MENU, run.then.state, FIGURES)
    assert keys(turn) == ["balance_arrears", "after_answer"]


def test_an_account_in_the_state_is_dropped_anywhere_but_its_input() -> None:
    turn = respond(MENU, at("billing", account=ACCOUNT), CallerInput(digits="4"))
    assert isinstance(turn.then, RunAction) and turn.then.state.account == ""
    leaked = respond(MENU, at("repair_status", account=ACCOUNT), CallerInput(digits="1000002"))
    assert leaked.then == RunAction(
        CallState(3, "repair_status", "zh-CN", 0, 6), "work_order_status", "1000002"
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (CallerInput(digits="3021"), CallerInput(digits="****")),
        (CallerInput(digits="457*"), CallerInput(digits="****")),
        (CallerInput(speech="我的是3021"), CallerInput(speech="我的是****")),
        (CallerInput(speech="幺二三四"), CallerInput(speech="****")),
        (CallerInput(speech="燃气泄漏"), CallerInput(speech="燃气泄漏")),
        (CallerInput(), CallerInput()),
    ],
)
def test_the_factor_is_never_kept_for_the_record(given: CallerInput, kept: CallerInput) -> None:
    assert kept_input(MENU, at("billing_account", account=ACCOUNT), given) == kept


def test_other_input_is_kept_as_given() -> None:
    given = CallerInput(digits=ACCOUNT, speech="10000002")
    assert kept_input(MENU, at("billing_account"), given) == given


def test_validation_requires_the_factor_prompts_in_every_language() -> None:
    assert {"ask_id_last4", "account_check_failed"} <= set(prompt_keys_of(MENU.nodes["billing_account"]))
    raw = copy.deepcopy(load_menu_file())
    raw["prompts"] = {
        "ask_id_last4": {"zh-CN": "请输入身份证号码后4位。", "en-US": "Key the last 4 of the ID."}
    }
    assert validate_document(raw).prompts["ask_id_last4"]["en-US"].startswith("Key the last 4")
