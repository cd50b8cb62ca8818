"""The menu state machine, pure: (menu, call state, caller input) -> the next turn of the call.

No I/O here. Actions that need the database (balance, work orders) are asked for with `RunAction`;
the shell runs them and hands the result back to `after_action`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ivr.configuration.menus.schema import (
    ActionNode,
    DialNode,
    InputNode,
    MenuDocument,
    MenuNode,
    Node,
    QueueNode,
)

MAX_DIGITS_ACCEPTED = 32  # longer Digits are garbage, never a real caller's input
_AUTOMATIC_HOPS = 20  # validation forbids loops of automatic nodes; this is a second guard

# The second factor (issue 13): before the figures of an account whose phone is not the caller's, the
# caller keys the last 4 characters of the ID number on it (an X keyed as *). Two tries in all, then an
# agent. It belongs to the `account_balance` input itself, so no menu version can leave it out.
SECOND_FACTOR_ACTION = "account_balance"  # the input node action that asks it
SECOND_FACTOR_CHECK = "checked_account_balance"  # the action the shell runs with what was keyed
SECOND_FACTOR_TRIES = 2
SECOND_FACTOR_LENGTH = 4
_SECOND_FACTOR = re.compile(r"[0-9]{3}[0-9X]")
_NUMERALS = re.compile(r"[0-9０-９〇零一二三四五六七八九十幺两壹贰叁肆伍陆柒捌玖]")


@dataclass(frozen=True)
class CallState:
    """Where a call is: carried in the signed action URLs, so a turn needs no database read."""

    version: int
    node: str
    language: str
    tries: int = 0
    step: int = 0
    account: str = ""  # an account number keyed at this node, waiting for its second factor


@dataclass(frozen=True)
class CallerInput:
    """What the caller gave at a Gather: keys, a phrase, or nothing (silence)."""

    digits: str = ""
    speech: str = ""

    @property
    def silent(self) -> bool:
        return not self.digits and not self.speech


@dataclass(frozen=True)
class Said:
    """One prompt to speak, in one language, with its placeholder values."""

    key: str
    language: str
    values: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Ask:
    """Wait for the caller's keys or speech at `state.node`."""

    state: CallState
    num_digits: int | None
    finish_on_key: str
    timeout: int
    hints: tuple[str, ...]


@dataclass(frozen=True)
class Enqueue:
    """Put the caller in the node's queue."""

    state: CallState
    node: QueueNode


@dataclass(frozen=True)
class Dial:
    """Dial an outside number."""

    state: CallState
    number: str


@dataclass(frozen=True)
class RunAction:
    """The shell must run `action` (with the keyed digits, if any) and call `after_action`."""

    state: CallState
    action: str
    digits: str = ""


@dataclass(frozen=True)
class ActionResult:
    """What an action found: a prompt to speak with its values, or nothing."""

    found: bool
    prompt: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    second_factor_for: str = ""  # an account whose figures wait for the caller's second factor


@dataclass(frozen=True)
class Turn:
    """What the caller hears now and what happens next; `visited` and `reason` feed the call record."""

    said: tuple[Said, ...]
    then: Ask | Enqueue | Dial | RunAction
    visited: tuple[str, ...] = ()
    reason: str = "entered"
    chosen: str = field(default="")  # the key or phrase that decided this turn


def normalize(text: str) -> str:
    """Lower-case, without spaces or punctuation, so phrases match however the recogniser wrote them."""
    return re.sub(r"[\W_]+", "", text.lower())


def start(menu: MenuDocument, version: int, language: str | None = None) -> Turn:
    """The first turn of a new call: the root menu in the default language."""
    state = CallState(version=version, node=menu.root, language=language or menu.default_language, step=1)
    return enter(menu, state, reason="start")


def enter(
    menu: MenuDocument,
    state: CallState,
    said: tuple[Said, ...] = (),
    reason: str = "entered",
    chosen: str = "",
) -> Turn:
    """Arrive at `state.node`: speak its prompts and follow automatic nodes until the caller is asked."""
    visited: list[str] = []
    for _ in range(_AUTOMATIC_HOPS):
        node = menu.nodes[state.node]
        state = _without_stray_account(node, state)
        visited.append(state.node)
        here = tuple(Said(key, state.language) for key in node.prompts)
        if state.account:
            here = (Said("ask_id_last4", state.language),)
        if isinstance(node, MenuNode):
            if reason in ("start", "language") and not visited[:-1]:
                here = tuple(Said(key, state.language) for key in node.intro) + here
            prompts = _with_language_offers(node, state.language, here)
            return Turn(said + prompts, _ask(menu, node, state), tuple(visited), reason, chosen)
        if isinstance(node, InputNode):
            return Turn(said + here, _ask(menu, node, state), tuple(visited), reason, chosen)
        if isinstance(node, QueueNode):
            return Turn(said + here, Enqueue(state, node), tuple(visited), reason, chosen)
        if isinstance(node, DialNode):
            return Turn(said + here, Dial(state, node.number), tuple(visited), reason, chosen)
        if isinstance(node, ActionNode):
            return Turn(said + here, RunAction(state, node.action), tuple(visited), reason, chosen)
        said = said + here  # an info node: speak and go on
        state = replace(state, node=node.next, tries=0)
    # Unreachable for a validated menu; a caller still reaches a person.
    return to_fallback(menu, state, said)


def respond(menu: MenuDocument, state: CallState, given: CallerInput) -> Turn:
    """The caller answered (or stayed silent) at `state.node`: decide where the call goes."""
    state = replace(state, step=state.step + 1)
    # The gas-leak phrases first, before anything that could send the caller elsewhere.
    if given.speech and _is_emergency(menu, given.speech):
        target = replace(state, node=menu.emergency.target, tries=0)
        return enter(menu, target, reason="emergency-phrase", chosen=given.speech)
    if state.node not in menu.nodes:
        return enter(menu, replace(state, node=menu.root, tries=0), reason="unknown-node")

    node = menu.nodes[state.node]
    state = _without_stray_account(node, state)
    if isinstance(node, MenuNode):
        option = _match_option(node, given)
        if option is None:
            return retry(menu, state, "silence" if given.silent else "invalid")
        language = option.language or state.language
        target = CallState(state.version, option.target, language, 0, state.step)
        chosen = given.digits or given.speech
        reason = "language" if option.language else ("key" if given.digits else "speech")
        return enter(menu, target, reason=reason, chosen=chosen)
    if isinstance(node, InputNode):
        if given.digits == "*" and node.back:
            return enter(
                menu,
                CallState(state.version, node.back, state.language, 0, state.step),
                reason="back",
                chosen="*",
            )
        if state.account:
            return _second_factor_given(menu, state, given)
        # Twilio leaves the finish key out of Digits; strip it anyway in case a client sends it.
        digits = given.digits.rstrip("#") or re.sub(r"\D", "", given.speech)
        if not digits:
            return retry(menu, state, "silence" if given.silent else "invalid")
        if not digits.isdigit() or len(digits) > node.max_digits:
            return retry(menu, state, "invalid")
        return Turn((), RunAction(state, node.action, digits), (state.node,), "digits", digits)
    # A step URL that points at a node which asks nothing (a retried or crafted request): re-enter it.
    return enter(menu, state, reason="re-entered")


def retry(menu: MenuDocument, state: CallState, why: str, said: tuple[Said, ...] = ()) -> Turn:
    """A wrong key or silence: say so and ask again; after the last try, go to a person."""
    node = menu.nodes[state.node]
    max_tries = getattr(node, "max_tries", None) or menu.defaults.max_tries
    if state.account:
        max_tries = SECOND_FACTOR_TRIES  # a security limit, not a menu's choice
    tries = state.tries + 1
    if tries >= max_tries:
        return to_fallback(menu, state, said, reason=f"{why}-too-many")
    # An action that found nothing has said so already ("no such account"): no second apology.
    notice = () if said else (Said("no_input" if why == "silence" else "invalid_choice", state.language),)
    return enter(menu, replace(state, tries=tries), said + notice, reason=why)


def to_fallback(
    menu: MenuDocument, state: CallState, said: tuple[Said, ...] = (), reason: str = "fallback"
) -> Turn:
    """The caller could not choose: the fallback queue, with a word of explanation."""
    target = replace(state, node=menu.fallback, tries=0, account="")
    return enter(menu, target, said + (Said("transfer_general", state.language),), reason=reason)


def after_action(menu: MenuDocument, state: CallState, result: ActionResult) -> Turn:
    """Continue once the shell has run the action of `state.node`."""
    node = menu.nodes[state.node]
    spoken = (Said(result.prompt, state.language, result.values),) if result.prompt else ()
    if isinstance(node, ActionNode):
        if not result.found and node.on_missing:
            return enter(menu, replace(state, node=node.on_missing, tries=0), spoken, reason="action-missing")
        return enter(menu, replace(state, node=node.next, tries=0), spoken, reason="action-done")
    if isinstance(node, InputNode):
        if result.second_factor_for:
            # Not the caller's own account, or no account at all: the same question either way, and
            # nothing said about the account before the second factor matches.
            asked = replace(state, account=result.second_factor_for, tries=0)
            return enter(menu, asked, reason="second-factor-asked")
        if not result.found:
            return retry(menu, state, "second-factor-wrong" if state.account else "not-found", spoken)
        return enter(menu, replace(state, node=node.next, tries=0, account=""), spoken, reason="action-done")
    return enter(menu, state, spoken)


def continued(turn: Turn, after: Turn) -> Turn:
    """`turn` carried on by the turn after its action: what was said and visited adds up, `after` decides."""
    return Turn(
        turn.said + after.said,
        after.then,
        turn.visited + after.visited,
        after.reason,
        turn.chosen or after.chosen,
    )


def kept_input(menu: MenuDocument, state: CallState, given: CallerInput) -> CallerInput:
    """What of the caller's input at `state` may be written down: a second factor never is."""
    if not state.account:
        return given
    speech = given.speech if _is_emergency(menu, given.speech) else _NUMERALS.sub("*", given.speech)
    return CallerInput(digits="*" * len(given.digits), speech=speech)


def _second_factor_given(menu: MenuDocument, state: CallState, given: CallerInput) -> Turn:
    """The caller answered the second-factor question for `state.account`: keys only, checked by the shell."""
    if given.silent:
        return retry(menu, state, "silence")
    # Keys only: a spoken ID number would pass through the speech recogniser and its logs.
    factor = given.digits.rstrip("#").replace("*", "X")
    if not _SECOND_FACTOR.fullmatch(factor):
        return retry(menu, state, "invalid")
    # `chosen` stays empty: what decided this turn is the factor, and it is kept nowhere.
    return Turn((), RunAction(state, SECOND_FACTOR_CHECK, factor), (state.node,), "second-factor")


def _without_stray_account(node: Node, state: CallState) -> CallState:
    """A keyed account belongs only to the input that asks its second factor: anywhere else it is dropped."""
    if state.account and not (isinstance(node, InputNode) and node.action == SECOND_FACTOR_ACTION):
        return replace(state, account="")
    return state


def _ask(menu: MenuDocument, node: MenuNode | InputNode, state: CallState) -> Ask:
    timeout = node.timeout_seconds or menu.defaults.timeout_seconds
    hints = _hints(menu, node, state.language)
    if isinstance(node, MenuNode):
        # One key ends the Gather at once; no finish key, so '#' can be a menu option.
        return Ask(state, 1, "", timeout, hints)
    if state.account:
        return Ask(state, SECOND_FACTOR_LENGTH, "#", timeout, hints)
    return Ask(state, node.max_digits + 1, "#", timeout, hints)


def _hints(menu: MenuDocument, node: Node, language: str) -> tuple[str, ...]:
    phrases = list(menu.emergency.phrases.get(language, []))
    if isinstance(node, MenuNode):
        for option in node.options:
            phrases += option.phrases.get(language, [])
    return tuple(dict.fromkeys(phrases))


def _with_language_offers(node: MenuNode, language: str, prompts: tuple[Said, ...]) -> tuple[Said, ...]:
    """Offers of other languages, each spoken in its own language, right after the first prompt."""
    offers = tuple(
        Said("language_offer", option.language, (("key", option.key),))
        for option in node.options
        if option.language and option.language != language
    )
    return prompts[:1] + offers + prompts[1:]


def _is_emergency(menu: MenuDocument, speech: str) -> bool:
    heard = normalize(speech)
    return any(
        normalize(phrase) and normalize(phrase) in heard
        for phrases in menu.emergency.phrases.values()
        for phrase in phrases
    )


def _match_option(node: MenuNode, given: CallerInput):  # type: ignore[no-untyped-def]
    if given.digits:
        if len(given.digits) != 1:
            return None
        return next((option for option in node.options if option.key == given.digits), None)
    heard = normalize(given.speech)
    if not heard:
        return None
    # The longest phrase heard wins: "complain about my payment" is a complaint, not a payment.
    best, best_length = None, 0
    for option in node.options:
        for phrases in option.phrases.values():
            for phrase in phrases:
                wanted = normalize(phrase)
                if wanted and wanted in heard and len(wanted) > best_length:
                    best, best_length = option, len(wanted)
    return best
