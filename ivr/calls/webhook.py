"""The request side of the voice webhooks: the signature check, the call a request is about, URLs, TwiML.

The action URLs are the ones a document's verbs point to; the response carries TwiML's content type."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.calls import twiml
from ivr.calls.events import CallRequest
from ivr.calls.signature import is_signed_by_twilio
from ivr.hotline import Hotline
from ivr.web.current_hotline import hotline

Webhooks = tuple[tuple[str, Callable[[], Response]], ...]  # (path under /voice, view): POST routes


def only_signed_posts() -> None:
    """Before every voice webhook: a POST signed by Twilio, or a 405/403 saying what was wrong."""
    if request.method != "POST":
        abort(405, description="Twilio webhooks are POST requests.")
    settings = hotline().settings
    if not is_signed_by_twilio(request, settings.twilio_auth_token, settings.public_base_url):
        abort(403, description="Missing or invalid X-Twilio-Signature.")


def call_request() -> CallRequest:
    """The call this request is about, from its form and headers."""
    form = request.form
    headers = request.headers
    # Every request here is signed (checked before any view), so the signature is always there.
    request_id = headers.get("I-Twilio-Idempotency-Token", "")[:100] or headers.get("X-Twilio-Signature", "")
    return CallRequest(form.get("CallSid", ""), form.get("From", ""), form.get("To", ""), request_id)


def language_arg(h: Hotline, requested: str | None) -> str:
    """The language an URL asked for, if the hotline speaks it; else the default."""
    return requested if requested in h.voice.catalogues else h.settings.default_language


PATHS = {
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


def action_url(endpoint: str, **params: Any) -> str:
    """An absolute action URL; built by hand because url_for was a tenth of a webhook's time."""
    base = hotline().settings.public_base_url or request.host_url.rstrip("/")
    return f"{base}{PATHS[endpoint]}?{query_string(params)}"


_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # what urlencode leaves as it is


def query_string(params: Mapping[str, Any]) -> str:
    """urlencode's result, without its cost for the plain values (numbers, node names) most URLs carry."""
    parts = []
    for key, value in params.items():
        text = str(value)
        parts.append(f"{key}={text}" if _PLAIN.match(text) else urlencode({key: text}))
    return "&".join(parts)


def xml(response: str | VoiceResponse) -> Response:
    """The TwiML answer."""
    text = response if isinstance(response, str) else twiml.render(response)
    return Response(text, content_type=twiml.TWIML_CONTENT_TYPE)
