"""Twilio voice webhooks: thin views from form parameters to the call flow and back to TwiML.

The call's place in the menu travels in the (signed) action URLs, so navigating needs no database
read; events are written once per webhook, or spooled when the database is away.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from flask import Blueprint, Response, abort, current_app, request
from flask.blueprints import BlueprintSetupState
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ivr.calls import flow as callflow
from ivr.calls import twiml
from ivr.calls.flow import Ask, CallerInput, CallState, Dial, Enqueue, RunAction, Said, Turn
from ivr.calls.menu_actions import ActionContext, run_action
from ivr.calls.signature import is_signed_by_twilio
from ivr.configuration.menus.schema import MenuDocument, QueueNode
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.events.recorder import keep, record_events
from ivr.events.store import EventRecord, event_key, new_event
from ivr.hotline import Hotline, hotline
from ivr.queueing.queue_sizing import is_overflow, overflow_queue
from ivr.web.errors import plain_http_error

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

SAFETY_QUEUE = "safety"
MAX_SPEECH_CHARS = 500
_DIGITS = re.compile(r"^[0-9*#]{1,32}$")


@bp.before_request
def _only_signed_posts() -> None:
    if request.method != "POST":
        abort(405, description="Twilio webhooks are POST requests.")
    settings = hotline().settings
    if not is_signed_by_twilio(request, settings.twilio_auth_token, settings.public_base_url):
        abort(403, description="Missing or invalid X-Twilio-Signature.")


# ---------------------------------------------------------------- the menu


@bp.post("/incoming")
def incoming() -> Response:
    """The Voice URL: a new call hears the greeting and the main menu of the live version."""
    h = hotline()
    version, menu = h.menus.live()
    turn, heard = _announced(h, menu, callflow.start(menu, version))
    started = _event(
        "call.started",
        {"menu_version": version, "language": turn.then.state.language, "visited": list(turn.visited)}
        | ({"announcements": heard} if heard else {}),
    )
    return _play(h, menu, turn, [started])


@bp.post("/step")
def step() -> Response:
    """A Gather's action (keys or speech) or the redirect after it (silence)."""
    h = hotline()
    state = _state_from_url(h)
    if state is None:
        return incoming()
    menu = h.menus.get(state.version)
    given = CallerInput(
        digits=_clean_digits(request.form.get("Digits", "")),
        speech=request.form.get("SpeechResult", "")[:MAX_SPEECH_CHARS],
    )
    turn, heard = _announced(h, menu, callflow.respond(menu, state, given))  # a new language: heard again
    events = [_event("announcements.played", {"announcements": heard})] if heard else []
    return _play(h, menu, turn, events, origin=state, given=given)


def _announced(h: Hotline, menu: MenuDocument, turn: Turn) -> tuple[Turn, list[int]]:
    """The greeting turn with the caller's announcements (docs/console-announcements.md), and their ids.
    Any failure here leaves the greeting as it was: an announcement is never a reason for a call to fail."""
    from ivr.configuration.announcements import cache_of
    from ivr.queueing import storm

    if not storm.starts_the_menu(menu, turn):
        return turn, []
    try:
        cache = cache_of(current_app.extensions, h.sessions)
        heard = cache.active_for(request.form.get("From", ""))
        return storm.with_announcements(menu, turn, heard, cache.snapshot().storm)
    except Exception:
        log.warning("announcements failed; greeting without them", exc_info=True)
        return turn, []


def _play(
    h: Hotline,
    menu: MenuDocument,
    turn: Turn,
    events: list[EventRecord],
    origin: CallState | None = None,
    given: CallerInput | None = None,
) -> Response:
    """Run any actions the turn needs, record the turn, answer with its TwiML."""
    turn = _run_actions(h, menu, turn)
    state = turn.then.state
    voice = h.voice.for_menu(state.version, menu.prompts)  # the version's own prompt texts, if any
    if origin is not None:
        given = callflow.kept_input(menu, origin, given or CallerInput())  # never a second factor
        events.append(
            _event(
                "menu.turn",
                {
                    "node": origin.node,
                    "step": origin.step,
                    "digits": given.digits if given else "",
                    "speech": given.speech if given else "",
                    "reason": turn.reason,
                    "visited": list(turn.visited),
                    "language": state.language,
                    "intent": _intent(menu, turn.visited),
                    "menu_version": state.version,
                },
            )
        )
    reopens = _after_hours_reopening(h, turn) if isinstance(turn.then, Enqueue) else None
    if isinstance(turn.then, Enqueue):
        node = turn.then.node
        events.append(
            _event(
                "call.queued",
                {
                    "queue": node.queue,
                    "intent": node.intent,
                    "priority": node.priority,
                    "emergency": node.emergency,
                    "complaint_class": node.complaint_class,
                    "reply_within_hours": node.reply_within_hours,
                    "node": state.node,
                    "language": state.language,
                    # after hours: a message now, a call-back when the group opens again
                    "callback_after": reopens.isoformat() if reopens else None,
                },
            )
        )
    record_events(h.sessions, h.spool, events)
    if reopens is not None:
        language = state.language
        response = VoiceResponse()
        voice.add(response, [*turn.said, Said("after_hours_voicemail", language)])
        response.record(
            action=_url("voice.voicemail", l=language),
            method="POST",
            max_length=120,
            finish_on_key="#",
            play_beep=True,
        )
        response.redirect(_url("voice.voicemail", l=language), method="POST")  # no message: same goodbye
        return _xml(response)
    return _xml(_render(h, voice, turn))


def _after_hours_reopening(h: Hotline, turn: Turn) -> datetime | None:
    """When the caller's group is closed and its filter says "voicemail": when it opens again (UTC)."""
    from routing.hours import next_opening
    from routing.model import WaitingCall
    from routing.router import place

    node = turn.then.node  # type: ignore[union-attr]
    if node.emergency:
        return None  # safety is 24 hours, whatever a calendar says
    try:
        rules = h.rules.live()
    except Exception:
        return None  # rules unknown (database away): queue as usual, a person will answer
    now = time.time()
    call = WaitingCall(
        id="new",
        intent=node.intent,
        language=turn.then.state.language,
        waiting_since=now,
        priority=node.priority,
    )
    placement = place(rules, call, now)
    if placement.open or placement.after_hours is None or placement.after_hours.action != "voicemail":
        return None
    steps = next(f.steps for f in rules.filters if f.name == placement.filter)
    calendar = rules.calendars.get(steps[0].group or "")
    opening = next_opening(calendar, now) if calendar else None
    reopen = opening if opening is not None else now + 12 * 3600
    return datetime.fromtimestamp(reopen, UTC).replace(tzinfo=None)


@bp.post("/voicemail")
def voicemail() -> Response:
    """After-hours message recorded (or not): keep it, thank the caller, goodbye. The call-back is booked."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    form = request.form
    data = {k: form.get(k, "") for k in ("RecordingUrl", "RecordingSid", "RecordingDuration")}
    record_events(h.sessions, h.spool, [_event("voicemail", data)])
    return _xml(twiml.speak_and_hang_up(h.voice, [Said("voicemail_thanks", language)]))


def _run_actions(h: Hotline, menu: MenuDocument, turn: Turn) -> Turn:
    context_caller = request.form.get("From", "")
    call_sid = request.form.get("CallSid", "")
    for _ in range(5):  # a validated menu never chains more than a couple of actions
        if not isinstance(turn.then, RunAction):
            return turn
        pending = turn.then
        context = ActionContext(call_sid, context_caller, pending.state.step, account=pending.state.account)
        # Bounded like every database call of a webhook: a hung database rescues the call in time.
        result = bounded(lambda: _run_action(h, pending, context))  # noqa: B023 (run before the loop moves on)
        turn = callflow.continued(turn, callflow.after_action(menu, pending.state, result))
    return callflow.to_fallback(menu, turn.then.state, turn.said)


def _run_action(h: Hotline, pending: RunAction, context: ActionContext) -> Any:
    with unit_of_work(h.sessions) as session:
        return run_action(session, pending.action, context, pending.digits)


def _render(h: Hotline, voice: twiml.Voice, turn: Turn) -> str | VoiceResponse:
    then = turn.then
    state = then.state
    if isinstance(then, Ask):
        url = _url("voice.step", **_state_args(state))
        return voice.cached(
            ("ask", turn.said, then, url), lambda: twiml.ask(voice, turn.said, then, url, url)
        )
    if isinstance(then, Enqueue):
        if then.node.emergency:  # the caller chose the gas-leak path now: the duty-dial deadline starts
            deadline = int(h.clock()) + h.settings.safety_queue_max_wait
            return _enqueue(voice, turn.said, then.node, state, deadline)
        key = ("enqueue", turn.said, then.node.queue, then.node.emergency, state.language, request.host)
        return voice.cached(key, lambda: _enqueue(voice, turn.said, then.node, state))
    if isinstance(then, Dial):
        return twiml.dial(voice, turn.said, then.number, _url("voice.dial_result", l=state.language, a=1))
    raise TypeError(f"cannot render {then!r}")


def _enqueue(
    voice: twiml.Voice, said: tuple[Said, ...], node: QueueNode, state: CallState, deadline: int | None = None
) -> VoiceResponse:
    flags: dict[str, object] = {"q": node.queue, "l": state.language, "e": int(node.emergency)}
    if deadline is not None:
        flags["d"] = deadline  # signed with the URL, so it needs no database and cannot be forged
    return twiml.enqueue(
        voice, said, node.queue, _url("voice.wait", **flags), _url("voice.queue_exit", **flags)
    )


# ---------------------------------------------------------------- queues and dialling


@bp.post("/wait")
def wait() -> Response:
    """The Enqueue waitUrl: place in line and estimated wait in the caller's language; a call-back offer
    when the wait is long; and a safety caller is never left waiting long."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    emergency = request.args.get("e") == "1"
    position = _int(request.form.get("QueuePosition"), 1)
    waited = _int(request.form.get("QueueTime"), 0)
    settings = h.settings
    record_events(
        h.sessions,
        h.spool,
        [
            _event(
                "queue.wait", {"queue": request.args.get("q", ""), "position": position, "queue_time": waited}
            )
        ],
    )
    here = _standing(h)
    if here is not None:
        # Our queue is the truth: a caller put back after a missed agent keeps their place and wait time.
        position, waited = here.ahead + 1, max(waited, int(here.waited))
    said = (
        [Said("queue_next", language)]
        if position <= 1
        else [Said("queue_position", language, (("ahead", str(position - 1)),))]
    )
    if emergency:
        return _xml(_safety_wait(h, language, said, waited))
    if here is not None and here.estimate is not None:
        said.append(Said("queue_estimate", language, (("minutes", str(max(1, round(here.estimate / 60)))),)))
    pause = settings.queue_announce_seconds
    if here is not None and _offer_storm_choice(h, here):
        action = _url("voice.storm_offer", e=here.entry.id, l=language)
        return _xml(twiml.gather_in_wait(h.voice, [*said, Said("storm_offer", language)], action, pause))
    if here is not None and _offer_callback(h, here, _nearly_full(request.form)):
        action = _url("voice.callback_offer", e=here.entry.id, l=language)
        return _xml(twiml.gather_in_wait(h.voice, [*said, Said("callback_offer", language)], action, pause))
    return _xml(
        h.voice.cached(("wait", tuple(said), pause), lambda: twiml.wait_document(h.voice, said, pause))
    )


# The promise: a person (agent or duty engineer) is being dialled no later than safety_queue_max_wait seconds
# after the caller chose the gas-leak path. The deadline is set when the choice's request arrives and travels
# in the signed wait URL (`d`, POSIX seconds), so the wait document keeps it with no database.
FETCH_ALLOWANCE = 2.0  # seconds: one Twilio webhook round trip (ours answer within 1 s, Twilio's adds ~0.5 s)
# Outside what the wait document sees: the choice's request (the key was pressed before it arrived) and the
# queue exit's (the dial starts when its answer is back): two round trips, and 1 s for whole-second pauses.
SAFETY_MARGIN = 2 * FETCH_ALLOWANCE + 1.0
# How long speech lasts, over-estimated on purpose (too long only makes the caller leave earlier): Mandarin
# text-to-speech reads about 4-5 characters a second, English about 14; each <Say> takes a moment to start.
SPOKEN_SECONDS_WIDE_CHAR, SPOKEN_SECONDS_CHAR = 0.3, 0.1  # per character: CJK, others
SPOKEN_SECONDS_START, AUDIO_PROMPT_SECONDS = 0.5, 10.0  # per <Say>; a recorded prompt (<Play>)


def _safety_wait(h: Hotline, language: str, place: list[Said], waited: int) -> str:
    """The wait document of a safety caller: their place, and <Leave> in time for the duty engineer's dial."""
    settings = h.settings
    now = h.clock()
    deadline = _duty_deadline(now, settings.safety_queue_max_wait)
    if deadline is None:  # a queue entered without one (put back after an agent missed): the queue's clock
        deadline = now - waited + settings.safety_queue_max_wait
    left = deadline - SAFETY_MARGIN - now  # seconds before the caller must have left the queue
    said = [*place, Said("emergency_still_connecting", language)] if waited else place
    leaving = [Said("emergency_connecting_duty", language)]
    speech, farewell = _spoken_seconds(h.voice, said), _spoken_seconds(h.voice, leaving)
    if left <= speech + settings.queue_announce_seconds + farewell:
        # The last document: out of the queue at the deadline, with no re-fetch to wait for. Too little time
        # left for the place: a short pause alone (shorter than the place would have taken), or nothing.
        if left < speech + farewell + 1:
            said = []
        pause = int(left - _spoken_seconds(h.voice, said) - farewell)
        key: tuple[object, ...] = ("safety-last", tuple(said), pause, tuple(leaving))
        return h.voice.cached(key, lambda: _safety_document(h.voice, said, pause, leaving))
    pause = settings.queue_announce_seconds
    return h.voice.cached(("wait", tuple(said), pause), lambda: twiml.wait_document(h.voice, said, pause))


def _safety_document(voice: twiml.Voice, said: list[Said], pause: int, leaving: list[Said]) -> VoiceResponse:
    response = VoiceResponse()
    voice.add(response, said)
    if pause >= 1:
        response.pause(length=pause)
    voice.add(response, leaving)
    response.leave()  # the Enqueue action (queue_exit) dials the duty engineer at once
    return response


def _duty_deadline(now: float, limit: int) -> float | None:
    """The `d` of a safety wait URL (never later than the promise allows from now), or None."""
    text = request.args.get("d", "")
    if not text.isdigit() or len(text) > 12:
        return None
    return min(float(text), now + limit)


def _spoken_seconds(voice: twiml.Voice, said: list[Said]) -> float:
    """About how long the prompts take to say, erring long."""
    total = 0.0
    for item in said:
        prompt = voice.catalogues[item.language].render(item.key, dict(item.values))
        if prompt.audio:
            total += AUDIO_PROMPT_SECONDS
            continue
        wide = sum(1 for char in prompt.text if ord(char) >= 0x2E80)  # CJK characters and punctuation
        total += SPOKEN_SECONDS_START + wide * SPOKEN_SECONDS_WIDE_CHAR
        total += (len(prompt.text) - wide) * SPOKEN_SECONDS_CHAR
    return total


def _standing(h: Hotline):  # type: ignore[no-untyped-def]
    """The caller's place in our queue; None when unknown or the database is away (then Twilio's)."""
    from ivr.queueing.waiting import standing

    call_sid = request.form.get("CallSid", "")
    try:
        return bounded(
            lambda: standing(
                call_sid,
                sessions=h.sessions,
                live_rules=h.rules.live,
                default_handle_seconds=h.settings.default_handle_seconds,
            )
        )
    except Exception:
        log.warning("queue standing unavailable; using Twilio's queue position", exc_info=True)
        return None


def _offer_storm_choice(h: Hotline, here) -> bool:  # type: ignore[no-untyped-def]
    """Storm mode: a non-safety caller facing a long wait is offered a call-back or a message, once."""
    from ivr.configuration.announcements import cache_of
    from ivr.queueing import storm

    try:
        on = cache_of(current_app.extensions, h.sessions).snapshot().storm
        if not storm.offer_due(here.entry, here.estimate, on, h.settings.storm_offer_seconds):
            return False
        return bounded(lambda: _mark_storm_offered(h, here.entry.id))
    except Exception:
        log.warning("storm offer unavailable; the caller keeps waiting", exc_info=True)
        return False


def _mark_storm_offered(h: Hotline, entry_id: int) -> bool:
    from ivr.queueing import storm

    with h.sessions() as session, session.begin():
        return storm.mark_offered(session, entry_id)


NEARLY_FULL = 0.8  # share of a Twilio queue's MaxSize from which every waiting caller is offered a call-back


def _nearly_full(form: Mapping[str, str]) -> bool:
    """The waitUrl's CurrentQueueSize is near its MaxQueueSize: callers are offered a call-back before the
    queue refuses anyone."""
    size, limit = _int(form.get("CurrentQueueSize"), 0), _int(form.get("MaxQueueSize"), 0)
    return limit > 0 and size >= NEARLY_FULL * limit


def _offer_callback(h: Hotline, here, nearly_full: bool = False) -> bool:  # type: ignore[no-untyped-def]
    """Offer a call-back once, to a non-emergency caller whose estimated wait is over the threshold (or
    whose Twilio queue is nearly full)."""
    entry = here.entry
    if entry.emergency or entry.callback_offered:
        return False
    if not nearly_full and (here.estimate is None or here.estimate < h.settings.callback_offer_seconds):
        return False
    from sqlalchemy import update

    from ivr.db.models import QueueEntry

    def mark() -> None:
        with h.sessions() as session, session.begin():
            session.execute(update(QueueEntry).where(QueueEntry.id == entry.id).values(callback_offered=True))

    try:
        bounded(mark)
    except Exception:  # not marked: no offer now, the caller keeps waiting and may be offered later
        log.warning("call-back offer unavailable; the caller keeps waiting", exc_info=True)
        return False
    return True


@bp.post("/queue-exit")
def queue_exit() -> Response:
    """The Enqueue action: why the caller left the queue, and what happens next."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    queue = request.args.get("q", "general")
    emergency = request.args.get("e") == "1"
    result = request.form.get("QueueResult", "")
    events = [
        _event(
            "queue.left",
            {
                "queue": queue,
                "result": result,
                "queue_time": request.form.get("QueueTime", ""),
                "emergency": emergency,
            },
        )
    ]
    if result in ("bridged",):
        response = twiml.speak_and_hang_up(h.voice, [Said("goodbye", language)])
    elif result in ("hangup", "redirected"):
        response = VoiceResponse()
    elif emergency:
        # left after the safety wait limit, queue full or an error: the duty engineer, straight away
        # (after a <Leave> the wait document has said so already: not a second sentence before the dial)
        response = _dial_duty(h, language, attempt=1, announce=result != "leave")
    elif result == "leave" and _storm_message_owed(h):
        response = _record_storm_message(h, language)
    elif result == "leave":
        response = _enqueue_again(h, [], queue, language)
    elif result == "queue-full" and not is_overflow(queue):
        # Twilio refused the caller (the queue holds its MaxSize): the overflow queue, sized at the maximum.
        response = _enqueue_again(h, [], overflow_queue(queue), language)
    else:
        # Both queues full, or an error: never a hang-up without a call-back booked (the place is kept).
        booked = _book_full_queue_callback(h)
        if booked:
            events.append(_event("callback.noted", {"queue": queue, "result": result, "booked": booked}))
            response = twiml.speak_and_hang_up(h.voice, [Said("queue_busy_callback", language)])
        else:  # nothing booked (the database is away, or the entry not written yet): hold, then try again
            events.append(_event("queue.full_hold", {"queue": queue, "result": result}))
            hold = [Said("queue_full_hold", language)]
            response = _enqueue_again(h, hold, queue, language, pause=FULL_HOLD)
    record_events(h.sessions, h.spool, events)
    return _xml(response)


FULL_HOLD = 10  # seconds between two tries to book the call-back of a caller no queue could take


def _enqueue_again(h: Hotline, said: list[Said], queue: str, language: str, pause: int = 0) -> VoiceResponse:
    """A non-safety caller back in `queue` (their entry and place in our queue are kept)."""
    flags = {"q": queue, "l": language, "e": 0}
    wait_url, exit_url = _url("voice.wait", **flags), _url("voice.queue_exit", **flags)
    if not pause:
        return twiml.enqueue(h.voice, said, queue, wait_url, exit_url)
    response = VoiceResponse()
    h.voice.add(response, said)
    response.pause(length=pause)
    response.enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=exit_url, method="POST")
    return response


def _book_full_queue_callback(h: Hotline) -> str:
    """The caller's entry becomes an owed call-back (or joins the one owed to the number already):
    'booked', 'joined', or '' when nothing could be booked."""
    from ivr.queueing.queue_entries import book_callback, owed_by_call

    call_sid, number = request.form.get("CallSid", ""), request.form.get("From", "")

    def book() -> str:
        with h.sessions() as session, session.begin():
            entry_id, owed = owed_by_call(session, call_sid)
            if owed:  # a retried webhook: booked already
                return owed
            return book_callback(session, entry_id, number) if entry_id else ""

    try:
        return bounded(book)
    except Exception:
        log.warning("could not book the call-back of a caller no queue could take", exc_info=True)
        return ""


@bp.post("/storm-offer")
def storm_offer() -> Response:
    """The storm offer's answer: 1 a call-back (confirmed as usual), 2 a voice message, else keep waiting."""
    # Still in the queue: wait-document verbs only. A message needs <Record>, so the caller <Leave>s first
    # and the Enqueue action (queue_exit) sees the booked message.
    from ivr.calls.connect import callback_offer
    from ivr.queueing import storm

    h = hotline()
    digits = _clean_digits(request.form.get("Digits", ""))
    record_events(h.sessions, h.spool, [_event("storm.choice", {"digits": digits})])
    if digits == "1":
        return callback_offer()
    response = VoiceResponse()
    if digits == "2":
        entry_id = _int(request.args.get("e"), 0)
        call_sid, caller = request.form.get("CallSid", ""), request.form.get("From", "")

        def book() -> bool:
            with h.sessions() as session, session.begin():
                return storm.book_message(session, entry_id, call_sid, caller)

        try:
            booked = bounded(book)
        except Exception:  # nothing booked: the caller keeps their place and waits
            log.warning("could not book a storm message; the caller keeps waiting", exc_info=True)
            booked = False
        if booked:
            response.leave()
    return _xml(response)


def _storm_message_owed(h: Hotline) -> bool:
    from ivr.queueing import storm

    call_sid = request.form.get("CallSid", "")

    def owed() -> bool:
        with h.sessions() as session:
            return storm.message_owed(session, call_sid)

    try:
        return bounded(owed)
    except Exception:
        log.warning("queue entry unavailable; the caller waits again", exc_info=True)
        return False


def _record_storm_message(h: Hotline, language: str) -> VoiceResponse:
    from ivr.queueing.storm import MESSAGE_MAX_SECONDS

    done = _url("voice.storm_message", l=language)
    response = VoiceResponse()
    h.voice.add(response, [Said("storm_message", language)])
    response.record(
        action=done, method="POST", max_length=MESSAGE_MAX_SECONDS, finish_on_key="#", play_beep=True
    )
    response.redirect(done, method="POST")  # no message: the call-back is booked all the same
    return response


@bp.post("/storm-message")
def storm_message() -> Response:
    """The storm message is recorded (or not): keep it, free the booked call-back, thank, goodbye."""
    from ivr.queueing import storm

    h = hotline()
    language = _language(h, request.args.get("l"))
    form = request.form
    queue = None
    call_sid = form.get("CallSid", "")

    def release() -> str | None:
        with h.sessions() as session, session.begin():
            return storm.message_left(session, call_sid)

    try:
        queue = bounded(release)
    except Exception:  # the call-back is booked already; it waits out its grace period instead
        log.warning("could not release the call-back after a storm message", exc_info=True)
    data = {k: form.get(k, "") for k in ("RecordingUrl", "RecordingSid", "RecordingDuration")}
    noted = {"queue": queue or "", "result": "storm-message"}
    record_events(
        h.sessions, h.spool, [_event("voicemail", data | {"storm": True}), _event("callback.noted", noted)]
    )
    return _xml(twiml.speak_and_hang_up(h.voice, [Said("storm_message_thanks", language)]))


@bp.post("/dial-result")
def dial_result() -> Response:
    """The action of a <Dial> to the duty engineer: anything but a completed call tries again."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    status = request.form.get("DialCallStatus", "")
    attempt = _int(request.args.get("a"), 1)
    events = [
        _event(
            "dial.result",
            {"status": status, "attempt": attempt, "duration": request.form.get("DialCallDuration", "")},
        )
    ]
    if status == "completed":
        record_events(h.sessions, h.spool, events)
        return _xml(twiml.speak_and_hang_up(h.voice, []))
    # The caller is a safety caller waiting again: our queue must know, so agents can take them.
    requeued = {
        "queue": SAFETY_QUEUE,
        "intent": "safety",
        "priority": 10,
        "emergency": True,
        "language": language,
    }
    events.append(_event("call.queued", requeued))
    record_events(h.sessions, h.spool, events)
    # Not answered: back to the safety queue, where any free agent takes the caller at once; the duty engineer
    # is dialled again no later than safety_queue_max_wait from now.
    deadline = int(h.clock()) + h.settings.safety_queue_max_wait
    flags = {"q": SAFETY_QUEUE, "l": language, "e": 1, "d": deadline}
    return _xml(
        twiml.enqueue(
            h.voice,
            [Said("emergency_still_connecting", language)],
            SAFETY_QUEUE,
            _url("voice.wait", **flags),
            _url("voice.queue_exit", **flags),
        )
    )


def _dial_duty(h: Hotline, language: str, attempt: int, announce: bool = True) -> VoiceResponse:
    return twiml.dial(
        h.voice,
        [Said("emergency_connecting_duty", language)] if announce else [],
        h.settings.duty_engineer_number,
        _url("voice.dial_result", l=language, a=attempt),
    )


# ---------------------------------------------------------------- end of call, failures


@bp.post("/status")
def status() -> Response:
    """The status callback: closes the call record."""
    h = hotline()
    record_events(
        h.sessions,
        h.spool,
        [
            _event(
                "call.status",
                {
                    "status": request.form.get("CallStatus", ""),
                    "duration": request.form.get("CallDuration", ""),
                },
            )
        ],
    )
    return _xml(VoiceResponse())


@bp.post("/fallback")
def fallback() -> Response:
    """The number's fallback URL: answers from memory, with neither the database nor the disk (its events go
    to the spool, or to the log when the disk is full)."""
    h = hotline()
    error_url = request.form.get("ErrorUrl", "")
    query = parse_qs(urlparse(error_url).query)
    language = _language(h, (query.get("l") or [""])[0])
    on_safety_path = _on_safety_path(urlparse(error_url).path, (query.get("e") or [""])[0])
    rescued = _event("call.rescued", {"error": request.form.get("ErrorCode", ""), "url": error_url[:300]})
    document, events = _rescue(h, language, on_safety_path, known_language=bool(query.get("l")))
    keep(h.spool, [rescued, *events])
    return _xml(document)


@bp.post("/rescue")
def rescue_choice() -> Response:
    """The answer to the rescue question: 2 is a gas leak (the advice, then the duty engineer's line); any
    other key stays on the way to a person it is already queued for."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    digits = _clean_digits(request.form.get("Digits", ""))
    # choice 2 also takes the caller out of the general queue the rescue put them in (events.py)
    events = [_event("call.rescued", {"choice": digits})]
    if digits == "2":
        record_events(h.sessions, h.spool, events)
        return _xml(_safety_rescue(h, language))
    events.append(_rescued_into_queue(language))
    record_events(h.sessions, h.spool, events)
    return _xml(_general_queue(h, language))


def rescue_response(h: Hotline, language: str, on_safety_path: bool, known_language: bool = True) -> str:
    """What a caller hears when something failed: an apology and the way to a person, never silence."""
    return _rescue(h, language, on_safety_path, known_language)[0]


def _rescue(
    h: Hotline, language: str, on_safety_path: bool, known_language: bool = True
) -> tuple[str, list[EventRecord]]:
    """The rescue document, built from memory only (prompt catalogues, settings), and the events it implies.

    On the gas-leak path: the leak advice and the duty engineer's line. Elsewhere: the rescue question (2 for
    a gas leak), then the general queue; the caller is written into our queue at once (`call.queued`), so
    the dispatcher pairs them with an agent like anyone else (a spooled one, when the spool is replayed)."""
    if on_safety_path:
        return _safety_rescue(h, language), []
    languages = [language] if known_language else list(dict.fromkeys([language, *h.voice.catalogues]))
    said = tuple(Said("rescue", lang) for lang in languages)

    def build() -> VoiceResponse:
        def then(response: VoiceResponse) -> None:
            response.append(_general_queue_document(h, language).verbs[-1])

        return twiml.gather_rescue(h.voice, said, _url("voice.rescue_choice", l=language), then, language)

    document = h.voice.cached(("rescue", said, language, request.host), build)
    return document, [_rescued_into_queue(language)]


def _safety_rescue(h: Hotline, language: str) -> str:
    """The gas-leak rescue: the advice, then the duty engineer (whose dial result webhook takes it on)."""

    def build() -> VoiceResponse:
        return twiml.dial(
            h.voice,
            [Said("safety_instructions", language), Said("emergency_connecting_duty", language)],
            h.settings.duty_engineer_number,
            _url("voice.dial_result", l=language, a=1),
        )

    return h.voice.cached(("rescue-duty", language, request.host), build)


def _rescued_into_queue(language: str) -> EventRecord:
    """The rescued caller's place in our general queue (as key 0 at the root would give, one step ahead)."""
    queued = {"queue": "general", "intent": "agent", "priority": 5, "emergency": False, "language": language}
    return _event("call.queued", queued | {"rescued": True})


def _general_queue(h: Hotline, language: str) -> str:
    return h.voice.cached(("general", language, request.host), lambda: _general_queue_document(h, language))


def _general_queue_document(h: Hotline, language: str) -> VoiceResponse:
    flags = {"q": "general", "l": language, "e": 0}
    return twiml.enqueue(
        h.voice, [], "general", _url("voice.wait", **flags), _url("voice.queue_exit", **flags)
    )


# Answers to an Enqueue's waitUrl and to the Gathers inside it: wait-document verbs only
_WAITING_PATHS = ("/voice/wait", "/voice/storm-offer", "/voice/callback-offer", "/voice/callback-confirm")
_SAFETY_FLAG_PATHS = ("/voice/wait", "/voice/queue-exit")  # where `e` is the emergency flag, not an entry id


def _on_safety_path(path: str, e: str | None) -> bool:
    """Whether a failed request was on the gas-leak path: the safety queue's URLs, or the duty dial."""
    return (path.endswith(_SAFETY_FLAG_PATHS) and e == "1") or path.endswith("/voice/dial-result")


@bp.errorhandler(Exception)
def _any_failure(error: Exception) -> Response:
    """Whatever broke inside a webhook, the caller hears valid TwiML and the event is kept."""
    if isinstance(error, HTTPException):
        return plain_http_error(error)
    log.exception("webhook %s failed; rescuing the call", request.path)
    try:
        h = hotline()
        language = _language(h, request.args.get("l"))
        on_safety_path = _on_safety_path(request.path, request.args.get("e"))
        node = request.args.get("n", "")
        # A step URL with an account `a` asked for a second factor (ivr/calls/flow.py): it is never kept.
        form = {} if "a" in request.args else request.form
        rescued = _event(
            "call.rescued",
            {
                "node": node,
                "error": type(error).__name__,
                "language": language,
                # what the caller gave is kept even though the turn itself failed
                "digits": _clean_digits(form.get("Digits", "")),
                "speech": form.get("SpeechResult", "")[:MAX_SPEECH_CHARS],
            },
        )
        if request.path in _WAITING_PATHS:
            # Still in Twilio's queue, which allows only wait verbs: a safety caller leaves (the queue's
            # action dials the duty engineer), anyone else keeps their place.
            record_events(h.sessions, h.spool, [rescued])
            key = ("rescue-wait", on_safety_path)
            return _xml(h.voice.cached(key, lambda: _waiting_rescue(h, on_safety_path)))
        document, events = _rescue(h, language, on_safety_path, known_language="l" in request.args)
        record_events(h.sessions, h.spool, [rescued, *events])  # never raises
        return _xml(document)
    except Exception:  # even the rescue failed: the document prepared at startup, which needs nothing
        log.exception("rescue failed too")
        return Response(_last_resort(), content_type=twiml.TWIML_CONTENT_TYPE)


def _waiting_rescue(h: Hotline, on_safety_path: bool) -> VoiceResponse:
    return twiml.wait_document(h.voice, [], h.settings.queue_announce_seconds, leave=on_safety_path)


# The last resort, when even building the rescue failed: no URL of ours (a server that cannot build a rescue
# should not be asked again), no queue entry possible, so no queue: a person who answers whatever state the
# hotline is in, the duty engineer's line, after an apology and the leak advice in both languages; if
# nobody answers, the caller is told to call again. Built once when the app is created (`_prepare`).
LAST_RESORT_KEY = "voice.last_resort"
LAST_RESORT_TWIML = (  # only if preparing failed at startup: no number known, no catalogue read
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Say language="cmn-CN">抱歉，系统故障，请稍后再拨。'
    "如果您闻到燃气味，请先迅速离开现场，到室外安全处再拨打本热线。</Say>"
    '<Say language="en-US">Sorry, we have a technical problem; please call again later. If you smell gas, '
    "get out of the building first, and call us again from outside.</Say><Hangup/></Response>"
)


def last_resort_document(voice: twiml.Voice, duty_number: str) -> str:
    """The last-resort TwiML, from the catalogues and the duty number: both languages, no URL of ours."""
    languages = list(voice.catalogues)
    return twiml.render(
        twiml.dial_without_webhook(
            voice,
            [Said("last_resort", lang) for lang in languages],
            duty_number,
            [Said("last_resort_unanswered", lang) for lang in languages],
        )
    )


@bp.record_once
def _prepare(state: BlueprintSetupState) -> None:
    """At app creation: the last resort, in memory, so a rescue that fails needs nothing at all."""
    h: Hotline = state.app.extensions["hotline"]
    try:
        state.app.extensions[LAST_RESORT_KEY] = last_resort_document(h.voice, h.settings.duty_engineer_number)
    except Exception:
        log.exception("could not prepare the last-resort document; the fixed one stands in")


def _last_resort() -> str:
    try:
        return str(current_app.extensions.get(LAST_RESORT_KEY, LAST_RESORT_TWIML))
    except Exception:
        return LAST_RESORT_TWIML


# ---------------------------------------------------------------- helpers


def _event(kind: str, data: Mapping[str, object]) -> EventRecord:
    form = request.form
    call_sid = form.get("CallSid", "")[:64] or "unknown"
    headers = request.headers
    # Every request here is signed (checked before any view), so the signature is always there.
    request_id = headers.get("I-Twilio-Idempotency-Token", "")[:100] or headers.get("X-Twilio-Signature", "")
    payload = {"from": form.get("From", "")[:40], "to": form.get("To", "")[:40], **data}
    return new_event(call_sid, kind, event_key(call_sid, kind, request_id), payload)


def _state_from_url(h: Hotline) -> CallState | None:
    args = request.args
    version, step, tries = _int(args.get("v"), -1), _int(args.get("s"), -1), _int(args.get("t"), 0)
    node, language = args.get("n", ""), args.get("l", "")
    if version < 1 or step < 0 or not node or language not in h.voice.catalogues:
        return None
    try:
        menu = h.menus.get(version)
    except KeyError:
        return None
    if language not in menu.languages:
        return None
    account = args.get("a", "")  # an account number the caller keyed, signed with the URL like the rest
    account = account if account.isascii() and account.isdigit() and len(account) <= 20 else ""
    return CallState(version, node, language, tries=max(0, tries), step=step, account=account)


def _state_args(state: CallState) -> dict[str, object]:
    args = {"v": state.version, "n": state.node, "l": state.language, "t": state.tries, "s": state.step}
    if state.account:
        args["a"] = state.account  # keyed by the caller, waiting for its second factor (ivr/calls/flow.py)
    return args


_PATHS = {
    "voice.voicemail": "/voice/voicemail",
    "voice.agent_result": "/voice/agent-result",
    "voice.agent_leg": "/voice/agent-leg",
    "voice.recording": "/voice/recording",
    "voice.callback_confirm": "/voice/callback-confirm",
    "voice.callback_offer": "/voice/callback-offer",
    "voice.step": "/voice/step",
    "voice.wait": "/voice/wait",
    "voice.queue_exit": "/voice/queue-exit",
    "voice.dial_result": "/voice/dial-result",
    "voice.rescue_choice": "/voice/rescue",
    "voice.storm_offer": "/voice/storm-offer",
    "voice.storm_message": "/voice/storm-message",
}


def _url(endpoint: str, **params: Any) -> str:
    """An absolute action URL; built by hand because url_for was a tenth of a webhook's time."""
    base = hotline().settings.public_base_url or request.host_url.rstrip("/")
    return f"{base}{_PATHS[endpoint]}?{query_string(params)}"


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # what urlencode leaves as it is


def query_string(params: Mapping[str, Any]) -> str:
    """urlencode's result, without its cost for the plain values (numbers, node names) most URLs carry."""
    parts = []
    for key, value in params.items():
        text = str(value)
        parts.append(f"{key}={text}" if _PLAIN.match(text) else urlencode({key: text}))
    return "&".join(parts)


def _intent(menu: MenuDocument, visited: tuple[str, ...]) -> str | None:
    intents = [menu.nodes[node].intent for node in visited if node in menu.nodes and menu.nodes[node].intent]
    return intents[-1] if intents else None


def _clean_digits(raw: str) -> str:
    """Keys as given, or '?' for anything that no keypad sends (garbage, over-long, non-ASCII)."""
    raw = raw.strip()
    if not raw:
        return ""
    return raw if _DIGITS.match(raw) else "?"


def _language(h: Hotline, requested: str | None) -> str:
    return requested if requested in h.voice.catalogues else h.settings.default_language


_INT_MAX = 2**31 - 1  # the database's INTEGER: a larger id, version or counter is no id at all


def _int(value: object, default: int) -> int:
    """A whole number in the database's range, or `default` for anything else (garbage, huge, absent)."""
    text = str(value).strip()
    if not 0 < len(text) <= 11:  # "-2147483648": never parse a huge string (int() is quadratic in it)
        return default
    try:
        number = int(text)
    except ValueError:
        return default
    return number if -_INT_MAX <= number <= _INT_MAX else default


def _xml(response: str | VoiceResponse) -> Response:
    text = response if isinstance(response, str) else twiml.render(response)
    return Response(text, content_type=twiml.TWIML_CONTENT_TYPE)
