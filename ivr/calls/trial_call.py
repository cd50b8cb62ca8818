"""A test call on a draft menu: the pure call flow walked from the editor page, before anything is published.

The page keeps the call's state and sends it back with each key. Actions (balances, work orders, a fault
report) run against the real database in a transaction that is always rolled back: a test call writes
nothing. The answer says what the caller would hear (each prompt's text in its language) and, at the
end, where the call goes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

import prompts as prompt_catalogues
from ivr.calls import flow as callflow
from ivr.calls.complaint_notice import with_promise_now
from ivr.calls.flow import Ask, CallerInput, CallState, Dial, Enqueue, RunAction, Turn
from ivr.calls.menu_actions import ActionContext, run_action
from ivr.configuration.menus.schema import MenuDocument
from ivr.configuration.menus.texts import with_document_prompts
from ivr.configuration.menus.validation import InvalidMenu, Problem, validate_document
from routing.after_hours import AFTER_HOURS_STEP, VOICEMAIL, closed_now
from routing.model import Rules

DRAFT_VERSION = 0  # a test call's state names no stored version
TEST_CALL_SID = "CA-test-call-from-the-editor"
_DIGITS = re.compile(r"^[0-9*#]{1,32}$")
_MAX_SPEECH = 500
_MAX_ACTIONS = 5


class TestCallRefused(ValueError):
    """The test call cannot go on: the draft is invalid, or the page sent something wrong."""

    __test__ = False  # not a pytest class, whatever its name

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


@dataclass(frozen=True)
class TestCallInput:
    """What the page sends: a new call (`state` None) or the caller's keys, speech or silence."""

    __test__ = False

    state: dict[str, Any] | None
    digits: str = ""
    speech: str = ""
    language: str | None = None
    caller: str = "+8613800000001"


def walk_test_call(
    sessions: sessionmaker[Session],
    document: dict[str, Any],
    given: TestCallInput,
    rules: Rules | None = None,
    timezone: str = "Asia/Shanghai",
) -> dict[str, Any]:
    """One turn of a test call on `document`: what is heard, and what happens next (JSON-ready)."""
    try:
        menu = validate_document(document)
    except InvalidMenu as invalid:
        raise TestCallRefused(
            "the draft has problems: fix them before a test call", list(invalid.problems)
        ) from None
    if given.state is None:
        language = given.language or menu.default_language
        if language not in menu.languages:
            raise TestCallRefused(f"language must be one of {', '.join(menu.languages)}")
        turn = callflow.start(menu, DRAFT_VERSION, language)
        heard: CallerInput | None = None
    else:
        state = _state(menu, given.state)
        heard = _input(given)
        turn = callflow.respond(menu, state, heard)
    turn = _run_actions(sessions, menu, turn, given.caller)
    # a complaint's notice names the due time as a live call's does
    return _answer(menu, with_promise_now(sessions, turn), rules, timezone)


def _state(menu: MenuDocument, raw: dict[str, Any]) -> CallState:
    if not isinstance(raw, dict):
        raise TestCallRefused("state must be the object the last answer gave")
    node, language = raw.get("node"), raw.get("language")
    tries, step = raw.get("tries", 0), raw.get("step", 0)
    if not isinstance(node, str) or node not in menu.nodes:
        raise TestCallRefused(f"state.node {node!r} is not a node of the draft (was it just removed?)")
    if language not in menu.languages:
        raise TestCallRefused(f"state.language must be one of {', '.join(menu.languages)}")
    for field, value in (("tries", tries), ("step", step)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
            raise TestCallRefused(f"state.{field} must be a whole number from 0 to 10000")
    account = raw.get("account", "")  # keyed at an account input, waiting for its second factor
    if not isinstance(account, str) or not (account == "" or account.isascii() and account.isdigit()):
        raise TestCallRefused("state.account must be the digits the last answer gave")
    return CallState(DRAFT_VERSION, node, str(language), tries=tries, step=step, account=account[:20])


def _input(given: TestCallInput) -> CallerInput:
    digits = given.digits.strip()
    if digits and not _DIGITS.match(digits):
        raise TestCallRefused("keys are 0-9, * and #")
    return CallerInput(digits=digits, speech=given.speech.strip()[:_MAX_SPEECH])


def _run_actions(sessions: sessionmaker[Session], menu: MenuDocument, turn: Turn, caller: str) -> Turn:
    if not isinstance(turn.then, RunAction):
        return turn
    with sessions() as session:
        try:
            for _ in range(_MAX_ACTIONS):
                if not isinstance(turn.then, RunAction):
                    return turn
                pending = turn.then
                state = pending.state
                context = ActionContext(TEST_CALL_SID, caller, state.step, account=state.account)
                result = run_action(session, pending.action, context, pending.digits)
                turn = callflow.continued(turn, callflow.after_action(menu, pending.state, result))
            return callflow.to_fallback(menu, turn.then.state, turn.said)
        finally:
            session.rollback()  # a test call writes nothing: no work order, no record


def _answer(menu: MenuDocument, turn: Turn, rules: Rules | None, timezone: str) -> dict[str, Any]:
    catalogues = with_document_prompts(prompt_catalogues.load_catalogues(), menu.prompts)
    heard = []
    for said in turn.said:
        catalogue = catalogues.get(said.language)
        if catalogue is None or said.key not in catalogue.prompts:
            heard.append(
                {"key": said.key, "language": said.language, "text": f"[{said.key}?]", "audio": None}
            )
            continue
        prompt = catalogue.render(said.key, dict(said.values))
        heard.append({"key": said.key, "language": said.language, "text": prompt.text, "audio": prompt.audio})
    then = turn.then
    state = then.state
    answer: dict[str, Any] = {
        "said": heard,
        "visited": list(turn.visited),
        "reason": turn.reason,
        "chosen": turn.chosen,
        "language": state.language,
    }
    if isinstance(then, Ask):
        answer["state"] = {
            "node": state.node,
            "language": state.language,
            "tries": state.tries,
            "step": state.step,
            "account": state.account,
        }
        answer["next"] = {
            "kind": "ask",
            "node": state.node,
            "keys": "digits" if then.finish_on_key == "#" else "one key",
            "timeout_seconds": then.timeout,
        }
    elif isinstance(then, Enqueue):
        node = then.node
        answer["state"] = None
        answer["next"] = {
            "kind": "queue",
            "node": state.node,
            "queue": node.queue,
            "intent": node.intent,
            "priority": node.priority,
            "emergency": node.emergency,
            "complaint_class": node.complaint_class,
            "reply_within_hours": node.reply_within_hours,
            "after_hours": _after_hours(rules, node, state.language, timezone),
        }
    elif isinstance(then, Dial):
        answer["state"] = None
        answer["next"] = {"kind": "dial", "node": state.node, "number": then.number}
    return answer


def _after_hours(rules: Rules | None, node: Any, language: str, timezone: str) -> str | None:
    """What the live routing rules do with this queue now (routing/after_hours.py, as a live call does):
    None when it is open (or an emergency)."""
    if rules is None:
        return None
    closed = closed_now(
        rules,
        intent=node.intent,
        language=language,
        priority=node.priority,
        emergency=node.emergency,
        now=time.time(),
    )
    if closed is None:
        return None
    if closed.action == VOICEMAIL:
        opens = closed.opens_at
        local = ZoneInfo(timezone)
        when = f"{datetime.fromtimestamp(opens, UTC).astimezone(local):%Y-%m-%d %H:%M}" if opens else "later"
        return f"closed now: the caller leaves a message and is called back (opens {when})"
    if closed.action == AFTER_HOURS_STEP:
        return "closed now: routed by the filter's after-hours step"
    return "closed now: the caller waits in the queue (the filter has no after-hours rule)"
