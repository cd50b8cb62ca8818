"""Twilio voice webhooks of the menu and the queue: each reads the request, runs one use case, answers TwiML.

The call's place in the menu travels in the (signed) action URLs, so navigating needs no database
read; events are written once per webhook, or spooled when the database is away. The use cases are
ivr/calls/menu_turns.py, queue_wait.py, queue_exit.py, storm_choices.py and duty_dial.py; TwiML is built
in twiml.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Response, current_app, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.calls import events as call_events
from ivr.calls import inputs, twiml
from ivr.calls.announced_greeting import starts_the_menu, with_announcements
from ivr.calls.connect import callback_offer
from ivr.calls.duty_dial import duty_dial_ended
from ivr.calls.events import SAFETY_QUEUE, CallRequest
from ivr.calls.flow import Ask, CallerInput, CallState, Dial, Enqueue, Said, Turn
from ivr.calls.menu_turns import MenuDesk, NextTurn, leave_message, start_call, take_input
from ivr.calls.overload import PRESSURE_KEY, SHED_HOLD_FACTOR
from ivr.calls.queue_exit import (
    CALLBACK_BOOKED,
    DUTY_DIAL,
    ENQUEUE,
    GOODBYE,
    STORM_MESSAGE,
    leave_queue,
)
from ivr.calls.queue_wait import STORM_OFFER, WaitDesk, WaitStatus, wait_status
from ivr.calls.storm_choices import CALL_BACK, MESSAGE, answer_storm_offer, storm_message_left
from ivr.calls.webhook import Webhooks, action_url, call_request, language_arg, xml
from ivr.configuration.menus.schema import MenuDocument, QueueNode
from ivr.events import kinds
from ivr.hotline import Hotline
from ivr.queueing.waiting import Standing
from ivr.web.current_hotline import hotline

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the menu


def incoming() -> Response:
    """The Voice URL: a new call hears the greeting and the main menu of the live version."""
    h = hotline()
    version, menu = h.menus.live()
    played = start_call(call_request(), menu=menu, version=version, announce=_announced, desk=_menu_desk(h))
    return xml(_menu_answer(h, menu, played))


def step() -> Response:
    """A Gather's action (keys or speech) or the redirect after it (silence)."""
    h = hotline()
    state = _state_from_url(h)
    if state is None:
        return incoming()
    menu = h.menus.get(state.version)
    given = CallerInput(
        digits=inputs.clean_digits(request.form.get("Digits", "")),
        speech=inputs.speech(request.form.get("SpeechResult", "")),
    )
    played = take_input(
        call_request(), menu=menu, state=state, given=given, announce=_announced, desk=_menu_desk(h)
    )
    return xml(_menu_answer(h, menu, played))


def _menu_desk(h: Hotline) -> MenuDesk:
    shedding = bool(request.environ.get(PRESSURE_KEY))  # set by the overload middleware (calls/overload.py)
    settings = h.settings
    return MenuDesk(
        h.sessions, h.spool, h.rules.live, h.clock, settings.safety_queue_max_wait, duty_at_once=shedding
    )


def _announced(menu: MenuDocument, turn: Turn, caller: str) -> tuple[Turn, list[int]]:
    """The greeting turn with the caller's announcements (docs/console-announcements.md), and their ids.
    Any failure here leaves the greeting as it was: an announcement is never a reason for a call to fail."""
    from ivr.configuration.announcements import cache_of

    if not starts_the_menu(menu, turn):
        return turn, []
    try:
        cache = cache_of(current_app.extensions, hotline().sessions)
        heard = cache.active_for(caller)
        return with_announcements(menu, turn, heard, cache.snapshot().storm)
    except Exception:
        log.warning("announcements failed; greeting without them", exc_info=True)
        return turn, []


def _menu_answer(h: Hotline, menu: MenuDocument, played: NextTurn) -> str | VoiceResponse:
    turn = played.turn
    state = turn.then.state
    voice = h.voice.for_menu(state.version, menu.prompts)  # the version's own prompt texts, if any
    if played.voicemail:
        language = state.language
        response = VoiceResponse()
        voice.add(response, [*turn.said, Said("after_hours_voicemail", language)])
        response.record(
            action=action_url("voice.voicemail", l=language),
            method="POST",
            max_length=120,
            finish_on_key="#",
            play_beep=True,
        )
        response.redirect(
            action_url("voice.voicemail", l=language), method="POST"
        )  # no message: same goodbye
        return response
    then = turn.then
    if isinstance(then, Ask):
        url = action_url("voice.step", **_state_args(state))
        return voice.cached(
            ("ask", turn.said, then, url), lambda: twiml.ask(voice, turn.said, then, url, url)
        )
    if isinstance(then, Enqueue) and played.duty_now:  # chosen while the server sheds (MenuDesk.duty_at_once)
        said = [*turn.said, Said("emergency_connecting_duty", state.language)]
        result_url = action_url("voice.dial_result", l=state.language, a=1)
        return twiml.dial(voice, said, h.settings.duty_engineer_number, result_url)
    if isinstance(then, Enqueue):
        # This call's own document, not cached: the duty-dial deadline of the gas-leak path chosen now, or
        # spoken values such as a complaint's due time (one document per minute would fill the cache).
        if played.duty_deadline is not None or any(item.values for item in turn.said):
            return _enqueue(voice, turn.said, then.node, state, played.duty_deadline)
        key = ("enqueue", turn.said, then.node.queue, then.node.emergency, state.language, request.host)
        return voice.cached(key, lambda: _enqueue(voice, turn.said, then.node, state))
    if isinstance(then, Dial):
        return twiml.dial(
            voice, turn.said, then.number, action_url("voice.dial_result", l=state.language, a=1)
        )
    raise TypeError(f"cannot render {then!r}")


def _enqueue(
    voice: twiml.Voice, said: tuple[Said, ...], node: QueueNode, state: CallState, deadline: int | None = None
) -> VoiceResponse:
    flags: dict[str, object] = {"q": node.queue, "l": state.language, "e": int(node.emergency)}
    if deadline is not None:
        flags["d"] = deadline  # signed with the URL, so it needs no database and cannot be forged
    return twiml.enqueue(
        voice, said, node.queue, action_url("voice.wait", **flags), action_url("voice.queue_exit", **flags)
    )


def _voicemail(call: CallRequest, form: Mapping[str, str], storm: bool = False) -> kinds.Voicemail:
    """A message as Twilio's <Record> reported it."""
    return kinds.Voicemail(
        **call.numbers(),
        recording_url=form.get("RecordingUrl", ""),
        recording_sid=form.get("RecordingSid", ""),
        recording_duration=form.get("RecordingDuration", ""),
        storm=storm,
    )


def voicemail() -> Response:
    """After-hours message recorded (or not): keep it, thank the caller, goodbye. The call-back is booked."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    call = call_request()
    leave_message(call, _voicemail(call, request.form), desk=_menu_desk(h))  # and its enquiry order
    return xml(twiml.speak_and_hang_up(h.voice, [Said("voicemail_thanks", language)]))


# ---------------------------------------------------------------- queues and dialling


def wait() -> Response:
    """The Enqueue waitUrl: place in line and estimated wait in the caller's language; a call-back offer
    when the wait is long; and a safety caller is never left waiting long."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    form = request.form
    status = wait_status(
        call_request(),
        queue=request.args.get("q", ""),
        language=language,
        emergency=request.args.get("e") == "1",
        position=inputs.whole_number(form.get("QueuePosition"), 1),
        waited=inputs.whole_number(form.get("QueueTime"), 0),
        duty_deadline=_duty_deadline_arg(),
        queue_size=inputs.whole_number(form.get("CurrentQueueSize"), 0),
        queue_max=inputs.whole_number(form.get("MaxQueueSize"), 0),
        desk=_wait_desk(h),
    )
    return xml(_wait_answer(h, language, status))


def _wait_desk(h: Hotline) -> WaitDesk:
    from ivr.configuration.announcements import cache_of
    from ivr.queueing.waiting import standing

    settings = h.settings

    def find_standing(call_sid: str) -> Standing | None:
        return standing(
            call_sid,
            sessions=h.sessions,
            live_rules=h.rules.live,
            default_handle_seconds=settings.default_handle_seconds,
        )

    def storm_on() -> bool:
        return cache_of(current_app.extensions, h.sessions).snapshot().storm

    return WaitDesk(
        sessions=h.sessions,
        spool=h.spool,
        clock=h.clock,
        find_standing=find_standing,
        storm_on=storm_on,
        spoken_seconds=lambda said: twiml.spoken_seconds(h.voice, said),
        announce_seconds=settings.queue_announce_seconds,
        safety_max_wait=settings.safety_queue_max_wait,
        storm_offer_seconds=settings.storm_offer_seconds,
        callback_offer_seconds=settings.callback_offer_seconds,
        busy_pause_seconds=SHED_HOLD_FACTOR * settings.queue_announce_seconds
        if request.environ.get(PRESSURE_KEY)
        else 0,
        shedding=bool(request.environ.get(PRESSURE_KEY)),
    )


def _duty_deadline_arg() -> float | None:
    """The `d` of a safety wait URL (POSIX seconds), or None."""
    text = request.args.get("d", "")
    if not text.isdigit() or len(text) > 12:
        return None
    return float(text)


def _wait_answer(h: Hotline, language: str, status: WaitStatus) -> str | VoiceResponse:
    voice = h.voice
    if status.leave is not None:
        leave = status.leave
        key: tuple[object, ...] = ("safety-last", leave.said, leave.pause, leave.leaving)
        return voice.cached(key, lambda: twiml.safety_leave(voice, leave.said, leave.pause, leave.leaving))
    if status.offer is not None:
        endpoint = "voice.storm_offer" if status.offer == STORM_OFFER else "voice.callback_offer"
        action = action_url(endpoint, e=status.entry_id, l=language)
        return twiml.gather_in_wait(voice, status.said, action, status.pause)
    said, pause = list(status.said), status.pause
    return voice.cached(("wait", status.said, pause), lambda: twiml.wait_document(voice, said, pause))


def queue_exit() -> Response:
    """The Enqueue action: why the caller left the queue, and what happens next."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    left = leave_queue(
        call_request(),
        queue=request.args.get("q", "general"),
        emergency=request.args.get("e") == "1",
        result=request.form.get("QueueResult", ""),
        queue_time=request.form.get("QueueTime", ""),
        sessions=h.sessions,
        spool=h.spool,
    )
    if left.next == GOODBYE:
        return xml(twiml.speak_and_hang_up(h.voice, [Said("goodbye", language)]))
    if left.next == DUTY_DIAL:
        # after a <Leave> the wait document has said so already: not a second sentence before the dial
        return xml(_dial_duty(h, language, attempt=1, announce=left.announce))
    if left.next == STORM_MESSAGE:
        return xml(_record_storm_message(h, language))
    if left.next == CALLBACK_BOOKED:
        return xml(twiml.speak_and_hang_up(h.voice, [Said("queue_busy_callback", language)]))
    if left.next == ENQUEUE:
        hold = [Said("queue_full_hold", language)] if left.hold else []
        return xml(_enqueue_again(h, hold, left.queue, language, pause=left.hold))
    return xml(VoiceResponse())  # hung up or redirected


def _enqueue_again(h: Hotline, said: list[Said], queue: str, language: str, pause: int = 0) -> VoiceResponse:
    """A non-safety caller back in `queue` (their entry and place in our queue are kept)."""
    flags = {"q": queue, "l": language, "e": 0}
    wait_url, exit_url = action_url("voice.wait", **flags), action_url("voice.queue_exit", **flags)
    if not pause:
        return twiml.enqueue(h.voice, said, queue, wait_url, exit_url)
    return twiml.hold_then_enqueue(h.voice, said, pause, queue, wait_url, exit_url)


def storm_offer() -> Response:
    """The storm offer's answer: 1 a call-back (confirmed as usual), 2 a voice message, else keep waiting."""
    # Still in the queue: wait-document verbs only. A message needs <Record>, so the caller <Leave>s first
    # and the Enqueue action (queue_exit) sees the booked message.
    h = hotline()
    chosen = answer_storm_offer(
        call_request(),
        digits=inputs.clean_digits(request.form.get("Digits", "")),
        entry_id=inputs.whole_number(request.args.get("e"), 0),
        sessions=h.sessions,
        spool=h.spool,
    )
    if chosen == CALL_BACK:
        return callback_offer()
    response = VoiceResponse()
    if chosen == MESSAGE:
        response.leave()
    return xml(response)


def _record_storm_message(h: Hotline, language: str) -> VoiceResponse:
    from ivr.queueing.storm import MESSAGE_MAX_SECONDS

    done = action_url("voice.storm_message", l=language)
    response = VoiceResponse()
    h.voice.add(response, [Said("storm_message", language)])
    response.record(
        action=done, method="POST", max_length=MESSAGE_MAX_SECONDS, finish_on_key="#", play_beep=True
    )
    response.redirect(done, method="POST")  # no message: the call-back is booked all the same
    return response


def storm_message() -> Response:
    """The storm message is recorded (or not): keep it, free the booked call-back, thank, goodbye."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    call = call_request()
    message = _voicemail(call, request.form, storm=True)
    storm_message_left(call, message=message, sessions=h.sessions, spool=h.spool)
    return xml(twiml.speak_and_hang_up(h.voice, [Said("storm_message_thanks", language)]))


def dial_result() -> Response:
    """The action of a <Dial> to the duty engineer: anything but a completed call tries again."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    ended = duty_dial_ended(
        call_request(),
        status=request.form.get("DialCallStatus", ""),
        attempt=inputs.whole_number(request.args.get("a"), 1),
        duration=request.form.get("DialCallDuration", ""),
        language=language,
        sessions=h.sessions,
        spool=h.spool,
        clock=h.clock,
        safety_max_wait=h.settings.safety_queue_max_wait,
    )
    if ended.answered:
        return xml(twiml.speak_and_hang_up(h.voice, []))
    # Not answered: back to the safety queue, where any free agent takes the caller at once.
    flags = {"q": SAFETY_QUEUE, "l": language, "e": 1, "d": ended.duty_deadline}
    return xml(
        twiml.enqueue(
            h.voice,
            [Said("emergency_still_connecting", language)],
            SAFETY_QUEUE,
            action_url("voice.wait", **flags),
            action_url("voice.queue_exit", **flags),
        )
    )


def _dial_duty(h: Hotline, language: str, attempt: int, announce: bool = True) -> VoiceResponse:
    return twiml.dial(
        h.voice,
        [Said("emergency_connecting_duty", language)] if announce else [],
        h.settings.duty_engineer_number,
        action_url("voice.dial_result", l=language, a=attempt),
    )


# ---------------------------------------------------------------- end of call


def status() -> Response:
    """The status callback: closes the call record."""
    h = hotline()
    form = request.form
    call = call_request()
    event = call.record(
        kinds.CallStatus(
            **call.numbers(), status=form.get("CallStatus", ""), duration=form.get("CallDuration", "")
        )
    )
    call_events.write(h.sessions, h.spool, [event])
    return xml(VoiceResponse())


# ---------------------------------------------------------------- the call's place in the URLs


def _state_from_url(h: Hotline) -> CallState | None:
    args = request.args
    version = inputs.whole_number(args.get("v"), -1)
    step_number, tries = inputs.whole_number(args.get("s"), -1), inputs.whole_number(args.get("t"), 0)
    node, language = args.get("n", ""), args.get("l", "")
    if version < 1 or step_number < 0 or not node or language not in h.voice.catalogues:
        return None
    try:
        menu = h.menus.get(version)
    except KeyError:
        return None
    if language not in menu.languages:
        return None
    account = args.get("a", "")  # an account number the caller keyed, signed with the URL like the rest
    account = account if account.isascii() and account.isdigit() and len(account) <= 20 else ""
    return CallState(version, node, language, tries=max(0, tries), step=step_number, account=account)


def _state_args(state: CallState) -> dict[str, object]:
    args = {"v": state.version, "n": state.node, "l": state.language, "t": state.tries, "s": state.step}
    if state.account:
        args["a"] = state.account  # keyed by the caller, waiting for its second factor (ivr/calls/flow.py)
    return args


WEBHOOKS: Webhooks = (
    ("/incoming", incoming),
    ("/step", step),
    ("/voicemail", voicemail),
    ("/wait", wait),
    ("/queue-exit", queue_exit),
    ("/storm-offer", storm_offer),
    ("/storm-message", storm_message),
    ("/dial-result", dial_result),
    ("/status", status),
)
