"""When something failed: the fallback URL, the rescue question, the webhooks' error handler, the last resort.

A caller always hears valid TwiML, built from memory (prompt catalogues, settings): an apology and the way
to a person, never silence.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlparse

from flask import Response, current_app, request
from flask.blueprints import BlueprintSetupState
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from ivr.calls import events as call_events
from ivr.calls import inputs, twiml
from ivr.calls.events import GENERAL_QUEUE, CallRequest
from ivr.calls.flow import Said
from ivr.calls.webhook import Webhooks, action_url, call_request, language_arg, xml
from ivr.events import kinds
from ivr.events.kinds import EventRecord
from ivr.hotline import Hotline
from ivr.web.current_hotline import hotline
from ivr.web.errors import plain_http_error

log = logging.getLogger(__name__)


def fallback() -> Response:
    """The number's fallback URL: answers from memory, with neither the database nor the disk (its events go
    to the spool, or to the log when the disk is full)."""
    h = hotline()
    call = call_request()
    error_url = request.form.get("ErrorUrl", "")
    query = parse_qs(urlparse(error_url).query)
    language = language_arg(h, (query.get("l") or [""])[0])
    on_safety_path = _on_safety_path(urlparse(error_url).path, (query.get("e") or [""])[0])
    rescued = call.record(
        kinds.CallRescued(**call.numbers(), error=request.form.get("ErrorCode", ""), url=error_url[:300])
    )
    document, events = _rescue(h, call, language, on_safety_path, known_language=bool(query.get("l")))
    call_events.keep_only(h.spool, [rescued, *events])
    return xml(document)


def rescue_choice() -> Response:
    """The answer to the rescue question: 2 is a gas leak (the advice, then the duty engineer's line); any
    other key stays on the way to a person it is already queued for."""
    h = hotline()
    call = call_request()
    language = language_arg(h, request.args.get("l"))
    digits = inputs.clean_digits(request.form.get("Digits", ""))
    # choice 2 also takes the caller out of the general queue the rescue put them in (events.py)
    events = [call.record(kinds.CallRescued(**call.numbers(), choice=digits))]
    if digits == "2":
        call_events.write(h.sessions, h.spool, events)
        return xml(_safety_rescue(h, language))
    events.append(call_events.rescued_into_queue(call, language))
    call_events.write(h.sessions, h.spool, events)
    return xml(_general_queue(h, language))


def _rescue(
    h: Hotline, call: CallRequest, language: str, on_safety_path: bool, known_language: bool = True
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

        return twiml.gather_rescue(
            h.voice, said, action_url("voice.rescue_choice", l=language), then, language
        )

    document = h.voice.cached(("rescue", said, language, request.host), build)
    return document, [call_events.rescued_into_queue(call, language)]


def _safety_rescue(h: Hotline, language: str) -> str:
    """The gas-leak rescue: the advice, then the duty engineer (whose dial result webhook takes it on)."""

    def build() -> VoiceResponse:
        return twiml.dial(
            h.voice,
            [Said("safety_instructions", language), Said("emergency_connecting_duty", language)],
            h.settings.duty_engineer_number,
            action_url("voice.dial_result", l=language, a=1),
        )

    return h.voice.cached(("rescue-duty", language, request.host), build)


def _general_queue(h: Hotline, language: str) -> str:
    return h.voice.cached(("general", language, request.host), lambda: _general_queue_document(h, language))


def _general_queue_document(h: Hotline, language: str) -> VoiceResponse:
    flags = {"q": GENERAL_QUEUE, "l": language, "e": 0}
    return twiml.enqueue(
        h.voice, [], GENERAL_QUEUE, action_url("voice.wait", **flags), action_url("voice.queue_exit", **flags)
    )


# Answers to an Enqueue's waitUrl and to the Gathers inside it: wait-document verbs only
_WAITING_PATHS = ("/voice/wait", "/voice/storm-offer", "/voice/callback-offer", "/voice/callback-confirm")
_SAFETY_FLAG_PATHS = ("/voice/wait", "/voice/queue-exit")  # where `e` is the emergency flag, not an entry id


def _on_safety_path(path: str, e: str | None) -> bool:
    """Whether a failed request was on the gas-leak path: the safety queue's URLs, or the duty dial."""
    return (path.endswith(_SAFETY_FLAG_PATHS) and e == "1") or path.endswith("/voice/dial-result")


def any_failure(error: Exception) -> Response:
    """Whatever broke inside a webhook, the caller hears valid TwiML and the event is kept."""
    if isinstance(error, HTTPException):
        return plain_http_error(error)
    log.exception("webhook %s failed; rescuing the call", request.path)
    try:
        h = hotline()
        call = call_request()
        language = language_arg(h, request.args.get("l"))
        on_safety_path = _on_safety_path(request.path, request.args.get("e"))
        # A step URL with an account `a` asked for a second factor (ivr/calls/flow.py): it is never kept.
        form = {} if "a" in request.args else request.form
        failed = kinds.CallRescued(
            **call.numbers(),
            node=request.args.get("n", ""),
            error=type(error).__name__,
            language=language,
            # what the caller gave is kept even though the turn itself failed
            digits=inputs.clean_digits(form.get("Digits", "")),
            speech=inputs.speech(form.get("SpeechResult", "")),
        )
        rescued = call.record(failed)
        if request.path in _WAITING_PATHS:
            # Still in Twilio's queue, which allows only wait verbs: a safety caller leaves (the queue's
            # action dials the duty engineer), anyone else keeps their place.
            call_events.write(h.sessions, h.spool, [rescued])
            key = ("rescue-wait", on_safety_path)
            return xml(h.voice.cached(key, lambda: _waiting_rescue(h, on_safety_path)))
        document, events = _rescue(h, call, language, on_safety_path, known_language="l" in request.args)
        call_events.write(h.sessions, h.spool, [rescued, *events])  # never raises
        return xml(document)
    except Exception:  # even the rescue failed: the document prepared at startup, which needs nothing
        log.exception("rescue failed too")
        return Response(_last_resort(), content_type=twiml.TWIML_CONTENT_TYPE)


def _waiting_rescue(h: Hotline, on_safety_path: bool) -> VoiceResponse:
    return twiml.wait_document(h.voice, [], h.settings.queue_announce_seconds, leave=on_safety_path)


# The last resort, when even building the rescue failed: no URL of ours (a server that cannot build a rescue
# should not be asked again), no queue entry possible, so no queue: a person who answers whatever state the
# hotline is in, the duty engineer's line, after an apology and the leak advice in both languages; if
# nobody answers, the caller is told to call again. Built once when the app is created (`prepare`).
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


def prepare(state: BlueprintSetupState) -> None:
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


WEBHOOKS: Webhooks = (
    ("/fallback", fallback),
    ("/rescue", rescue_choice),
)
