"""The number's fallback that Twilio hosts: leak advice and the duty engineer's dial when our server fails.

It needs no server of ours, is published as the number's VoiceFallbackUrl, and is kept in step with the live
menu and the duty number.

Twilio requests the fallback URL on a fatal error while executing a call (our URL refused, timed out, an HTTP
error or bad TwiML). Served by our own server, a dead server would take it down too; hosted by Twilio (the
Echo twimlet, whose TwiML travels in its URL: docs/twilio-setup.md says why this and not a Function), a dead
app still means the duty engineer, not silence."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.calls.flow import Said
from ivr.calls.twiml import Voice, render
from ivr.configuration.menus.schema import MenuDocument
from ivr.telephony.base import Telephony, TelephonyError
from ivr.telephony.twilio_hosted import echo_url

log = logging.getLogger(__name__)

# Rings before a dial gives up: as long as our own duty dial (twiml.dial), so both tries fit in a minute.
DIAL_TIMEOUT = 20
# POST, Twilio's default: the document travels in the URL's query, and a POST leaves the URL as it is (a GET
# would add Twilio's parameters to an already long URL); the Echo twimlet reads `Twiml` from either.
FALLBACK_METHOD = "POST"


@dataclass(frozen=True)
class Published:
    """What publish_fallback found and did."""

    number: str
    url: str
    changed: bool  # the number's VoiceFallbackUrl was updated (False: it held this document already)


def fallback_document(voice: Voice, menu: MenuDocument, duty_number: str) -> str:
    """The hosted TwiML: "putting you through" in every language, the duty engineer's dial; if it ends (nobody
    answered, or the call with the engineer is over), the live menu's leak advice and "connecting you to the
    duty engineer" in every language and a second dial; then an apology and the end of the call. No URL of
    ours: it works with our server dead.

    The dial comes first, after the shortest words we have, because the caller who lands here mid-queue has
    heard the advice already and was promised a person within 60 s of the choice (every second spoken before
    the dial counts); a caller who has not hears it if the first dial fails."""
    languages = list(dict.fromkeys([menu.default_language, *menu.languages]))
    languages = [language for language in languages if language in voice.catalogues]
    advice = menu.nodes[menu.emergency.target].prompts
    response = VoiceResponse()
    voice.add(response, [Said("queue_connecting", language) for language in languages])
    _dial(response, duty_number)
    voice.add(response, [Said(key, language) for language in languages for key in advice])
    voice.add(response, [Said("emergency_connecting_duty", language) for language in languages])
    _dial(response, duty_number)
    voice.add(response, [Said("last_resort_unanswered", language) for language in languages])
    response.hangup()
    return render(response)


def _dial(response: VoiceResponse, number: str) -> None:
    # No action URL: the call goes on to the next verb whatever the dial's outcome.
    verb = Dial(timeout=DIAL_TIMEOUT)
    verb.number(number)
    response.append(verb)


def fallback_url(voice: Voice, menu: MenuDocument, duty_number: str) -> str:
    """The hosted fallback URL for a menu (spoken in its voice) and the duty number."""
    return echo_url(fallback_document(voice, menu, duty_number))


def publish_fallback(
    current_url: Callable[[], str], *, telephony: Telephony | None, hotline_number: str
) -> Published:
    """Set the hotline number's VoiceFallbackUrl to the hosted fallback `current_url()`, unless it is set
    already. Raises TelephonyError when there is no REST client (then the URL is not even made), the
    account has no such number, or Twilio refuses."""
    client = telephony
    if client is None:
        raise TelephonyError("no Twilio REST client: set IVR_TELEPHONY=twilio and TWILIO_ACCOUNT_SID")
    url = current_url()
    number = client.find_number(hotline_number)
    if number.voice_fallback_url == url and number.voice_fallback_method == FALLBACK_METHOD:
        return Published(number.phone_number, url, changed=False)
    client.set_voice_fallback(number.sid, url, FALLBACK_METHOD)
    log.info("published the hosted fallback to %s (%d characters)", number.phone_number, len(url))
    return Published(number.phone_number, url, changed=True)


class FallbackKeeper:
    """Republishes the hosted fallback when its content changed (a menu published, a new duty number).

    Remembers the last URL published, so a run with nothing changed makes no REST request; the first run
    (at start) checks the number once, and a failure is retried on the next run."""

    def __init__(self) -> None:
        self._published: str | None = None
        self._lock = threading.Lock()

    def keep(
        self, current_url: Callable[[], str], *, telephony: Telephony | None, hotline_number: str
    ) -> bool:
        """Publish `current_url()` if it changed since the last publish; True when the number was updated."""
        if telephony is None:
            return False  # the built-in simulator, no REST client: nothing to publish to
        with self._lock:
            url = current_url()
            if url == self._published:
                return False
            try:
                result = publish_fallback(lambda: url, telephony=telephony, hotline_number=hotline_number)
            except TelephonyError:
                log.exception("publishing the hosted fallback failed; trying again on the next run")
                return False
            self._published = result.url
            return result.changed
