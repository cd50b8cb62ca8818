"""Use cases of the menu: a call starts, the caller answers; each returns the turn the caller hears next.

Each runs the actions the turn needs (bounded), writes the turn's events, and takes the explicit steps of
queueing: the after-hours decision (routing/after_hours.py), a complaint's promised reply (the deadline
rules), and the work order of a gas-leak or complaint caller or of an after-hours message
(ivr/calls/call_orders.py). The view renders the result as TwiML.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls import flow as callflow
from ivr.calls.call_orders import (
    open_order_of_complaint_call,
    open_order_of_gas_leak_call,
    open_order_of_message,
)
from ivr.calls.complaint_notice import with_promise
from ivr.calls.events import CallRequest
from ivr.calls.flow import CallerInput, CallState, Enqueue, RunAction, Turn
from ivr.calls.menu_actions import ActionContext, run_action
from ivr.configuration.menus.schema import MenuDocument, QueueNode
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.events import kinds
from ivr.events.kinds import EventRecord
from ivr.events.spool import Spool
from ivr.work_orders.menu_orders import COMPLAINT_CLASSES, Promise, promised_reply
from routing.after_hours import VOICEMAIL, closed_now
from routing.model import Rules

log = logging.getLogger(__name__)

MAX_CHAINED_ACTIONS = 5  # a validated menu never chains more than a couple of actions


@dataclass(frozen=True)
class NextTurn:
    """What the caller hears next: the turn, or (after hours) the turn's prompts then a message to leave."""

    turn: Turn
    voicemail: bool = False  # the group is closed: a message now, a call-back when it opens
    duty_deadline: int | None = (
        None  # the gas-leak path was chosen now: a person is dialled by then (POSIX s)
    )
    duty_now: bool = False  # the gas-leak path was chosen while the server sheds: the duty engineer at once


@dataclass(frozen=True)
class MenuDesk:
    """What the menu's use cases work with: the database, the spool, the live rules, the clocks."""

    sessions: sessionmaker[Session]
    spool: Spool
    live_rules: Callable[[], Rules]
    clock: Callable[[], float]  # the webhook deadlines' (POSIX seconds; simulated in tests)
    safety_max_wait: int  # seconds from choosing the gas-leak path to a person being dialled
    wall_clock: Callable[[], float] = time.time  # the opening hours' (calendars are real days)
    # The server is shedding (past its capacity): a gas-leak choice goes to the duty engineer at once, its
    # queue left in the same write, instead of waiting in the safety queue. Each of the safety queue's own
    # requests (waits, the exit) then takes seconds, which the 60 s promise cannot absorb; agents are swamped.
    duty_at_once: bool = False


def start_call(
    call: CallRequest,
    *,
    menu: MenuDocument,
    version: int,
    announce: Callable[[MenuDocument, Turn, str], tuple[Turn, list[int]]],
    desk: MenuDesk,
) -> NextTurn:
    """A new call: the greeting and the main menu of the live version, with the caller's announcements."""
    turn, heard = announce(menu, callflow.start(menu, version), call.caller)
    language = turn.then.state.language
    started = call.record(
        kinds.CallStarted(
            **call.numbers(),
            menu_version=version,
            language=language,
            visited=turn.visited,
            announcements=tuple(heard),
        )
    )
    return _played(call, menu, turn, [started], desk=desk)


def take_input(
    call: CallRequest,
    *,
    menu: MenuDocument,
    state: CallState,
    given: CallerInput,
    announce: Callable[[MenuDocument, Turn, str], tuple[Turn, list[int]]],
    desk: MenuDesk,
) -> NextTurn:
    """The caller answered (keys, a phrase, or silence) at `state`: the next turn."""
    turn, heard = announce(menu, callflow.respond(menu, state, given), call.caller)  # a new language: again
    events = (
        [call.record(kinds.AnnouncementsPlayed(**call.numbers(), announcements=tuple(heard)))]
        if heard
        else []
    )
    return _played(call, menu, turn, events, origin=state, given=given, desk=desk)


def _played(
    call: CallRequest,
    menu: MenuDocument,
    turn: Turn,
    events: list[EventRecord],
    *,
    desk: MenuDesk,
    origin: CallState | None = None,
    given: CallerInput | None = None,
) -> NextTurn:
    """Run the turn's actions, write its events, and take the steps of queueing."""
    turn = _run_actions(call, menu, turn, desk.sessions)
    state = turn.then.state
    if origin is not None:
        kept = callflow.kept_input(menu, origin, given or CallerInput())  # never a second factor
        played = kinds.MenuTurn(
            **call.numbers(),
            node=origin.node,
            step=origin.step,
            digits=kept.digits,
            speech=kept.speech,
            reason=turn.reason,
            visited=turn.visited,
            language=state.language,
            intent=_intent(menu, turn.visited),
            menu_version=state.version,
        )
        events.append(call.record(played))
    if not isinstance(turn.then, Enqueue):
        call_events.write(desk.sessions, desk.spool, events)
        return NextTurn(turn)
    node = turn.then.node
    callback_after = _voicemail_call_back(node, state.language, desk)
    opened_at = datetime.fromtimestamp(desk.clock(), UTC).replace(tzinfo=None)  # the hotline's now
    promised = _complaint_promise(node, desk, opened_at)
    if promised is not None:
        turn = replace(turn, said=with_promise(turn.said, node, state.language, promised, opened_at))
    queued = call.record(
        kinds.CallQueued(
            **call.numbers(),
            queue=node.queue,
            intent=node.intent,
            priority=node.priority,
            emergency=node.emergency,
            complaint_class=node.complaint_class,
            reply_within_hours=node.reply_within_hours,
            node=state.node,
            language=state.language,
            # after hours: a message now, a call-back when the group opens again
            callback_after=callback_after.isoformat() if callback_after else None,
            reply_due_at=promised.due_at.isoformat() if promised else None,
        )
    )
    batch = [*events, queued]
    if node.emergency and desk.duty_at_once:
        left = kinds.QueueLeft(
            **call.numbers(), queue=node.queue, result="leave", queue_time="0", emergency=True
        )
        batch.append(call.record(left))  # after `queued`: the entry is written, then left for the duty dial
    written = call_events.write(desk.sessions, desk.spool, batch)
    if not node.emergency:
        if node.complaint_class:  # after the events, in its own transaction; the route never waits on it
            open_order_of_complaint_call(
                call,
                complaint_class=node.complaint_class,
                sessions=desk.sessions,
                events_written=written,
                reported_at=opened_at,
                promised_by=promised.due_at if promised else None,
            )
        return NextTurn(turn, voicemail=callback_after is not None)
    # The caller chose the gas-leak path now: the duty-dial deadline starts; then the work order is opened.
    deadline = int(desk.clock()) + desk.safety_max_wait
    reported_at = datetime.fromisoformat(queued.at)
    open_order_of_gas_leak_call(call, sessions=desk.sessions, events_written=written, reported_at=reported_at)
    return NextTurn(turn, duty_deadline=deadline, duty_now=desk.duty_at_once)


def leave_message(call: CallRequest, message: kinds.Voicemail, *, desk: MenuDesk) -> str:
    """The after-hours message arrived (or the caller left none): keep it, and open its enquiry order.

    Whatever the Record reported, the caller is owed a call back (booked when they were queued): the
    order is opened with the recording linked, or saying that none was left. Returns what the writer said.
    """
    written = call_events.write(desk.sessions, desk.spool, [call.record(message)])
    left_at = datetime.fromtimestamp(desk.clock(), UTC).replace(tzinfo=None)
    open_order_of_message(
        call,
        recording_url=message.recording_url,
        recording_sid=message.recording_sid,
        sessions=desk.sessions,
        events_written=written,
        left_at=left_at,
    )
    return written


def _complaint_promise(node: QueueNode, desk: MenuDesk, opened_at: datetime) -> Promise | None:
    """When a complaint's reply is owed under the live deadline rules; None when they cannot be read now
    (the database is away): the caller then hears the menu's own notice."""
    work_class = COMPLAINT_CLASSES.get(node.complaint_class or "")
    if node.emergency or work_class is None:
        return None

    def read() -> Promise | None:
        with desk.sessions() as session:
            return promised_reply(session, work_class, opened_at)

    try:
        return bounded(read)
    except Exception:
        log.warning("deadline rules unreadable: the complaint notice keeps the menu's hours", exc_info=True)
        return None


def _voicemail_call_back(node: QueueNode, language: str, desk: MenuDesk) -> datetime | None:
    """When the caller's group is closed and its filter says "voicemail": when to call back (naive UTC)."""
    if node.emergency:
        return None  # safety is 24 hours, whatever a calendar says
    try:
        rules = desk.live_rules()
    except Exception:
        return None  # rules unknown (database away): queue as usual, a person will answer
    closed = closed_now(
        rules,
        intent=node.intent,
        language=language,
        priority=node.priority,
        emergency=node.emergency,
        now=desk.wall_clock(),
    )
    if closed is None or closed.action != VOICEMAIL:
        return None
    return datetime.fromtimestamp(closed.call_back_at, UTC).replace(tzinfo=None)


def _run_actions(call: CallRequest, menu: MenuDocument, turn: Turn, sessions: sessionmaker[Session]) -> Turn:
    for _ in range(MAX_CHAINED_ACTIONS):
        if not isinstance(turn.then, RunAction):
            return turn
        pending = turn.then
        context = ActionContext(call.call_sid, call.caller, pending.state.step, account=pending.state.account)
        # Bounded like every database call of a webhook: a hung database rescues the call in time.
        result = bounded(lambda: _run_action(sessions, pending, context))  # noqa: B023 (run before the loop moves on)
        turn = callflow.continued(turn, callflow.after_action(menu, pending.state, result))
    return callflow.to_fallback(menu, turn.then.state, turn.said)


def _run_action(sessions: sessionmaker[Session], pending: RunAction, context: ActionContext) -> Any:
    with unit_of_work(sessions) as session:
        return run_action(session, pending.action, context, pending.digits)


def _intent(menu: MenuDocument, visited: tuple[str, ...]) -> str | None:
    intents = [menu.nodes[node].intent for node in visited if node in menu.nodes and menu.nodes[node].intent]
    return intents[-1] if intents else None
