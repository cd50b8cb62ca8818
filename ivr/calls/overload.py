"""Overload shedding: past its capacity a worker answers new calls and queue waits with a fixed document.

The answer is a small safe TwiML document given at once, instead of queueing the requests without bound; the
gas-leak path is always served. A WSGI middleware, so a shed request costs no Flask, no signature check and
no database: a cached string.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.calls import twiml
from ivr.calls.flow import Said
from ivr.calls.twiml import Voice

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SHED_HEADER = "X-Hotline-Shed"  # on every shed answer: what it was, for logs and load tests
LOG_EVERY_SECONDS = 10.0
BUSY_GATHER_SECONDS = 5  # after the apology: time to press 2 before the call tries the greeting again
# A call shed is sent back to the greeting once (`busy=N` in the redirect counts its sheds); shed BUSY_TRIES
# times, it is told to call again later and ended: the callers turned away and sent back to the greeting were
# most of what kept the load up once new calls fell (16,255 of 17,441 greetings in the minute after a
# 20,000-caller surge with five tries; 19,187 with three), as a real utility's line says "call again later"
# rather than holding every caller it cannot take. "Press 2" works all through every busy answer, the last
# one too (any hold and the farewell are inside the Gather): a gas-leak caller is never held nor hung up on.
BUSY_HOLD_SECONDS = (0,)  # by how many times the call was shed before: the hold before its next try
BUSY_TRIES = len(BUSY_HOLD_SECONDS) + 1  # the shed that ends the call
RETRY_ARG = "busy"
# A shed wait page holds this many announcement intervals: the caller keeps their place and loses nothing
# (the dispatcher's redirect reaches them during the pause), and the queue asks half as often while shedding.
SHED_HOLD_FACTOR = 2
# In the environ of every request the worker serves: whether it shed anything in the last PRESSURE_SECONDS.
# The wait page then paces an ordinary queue as a shed one (SHED_HOLD_FACTOR): queued callers are most of what
# keeps asking once new calls fall, and each asking half as often is what lets the server catch up.
PRESSURE_KEY = "hotline.shedding"
PRESSURE_SECONDS = 10.0


def shed_kind(path: str, query: str) -> str | None:
    """Which shed answer a request may get ("incoming", "wait"), or None: always served.

    Only a new call's greeting and an ordinary queue's wait page are ever shed. The gas-leak path (the safety
    queue's wait and exit, `e=1`; the duty engineer's dial result; the rescue's "press 2") is never shed; nor
    is a menu step (`/voice/step`): the step that chooses the gas leak is only known once the call flow has
    run, and steps come only from calls already admitted, so they are bounded by the greetings admitted.
    """
    if path == "/voice/incoming":
        return "incoming"
    if path == "/voice/wait" and parse_qs(query).get("e", [""])[0] != "1":
        return "wait"
    return None


def busy_retries(query: str) -> int:
    """How many times this call was shed before (`busy=N` in the busy document's redirect), 0 to the cap
    (BUSY_TRIES - 1: the last busy answer)."""
    text = parse_qs(query).get(RETRY_ARG, ["0"])[0]
    count = int(text) if text.isdigit() else 0
    return min(count, BUSY_TRIES - 1)


def busy_hold_seconds(retries: int) -> int:
    """The hold before a call shed after `retries` earlier sheds tries the greeting again."""
    return BUSY_HOLD_SECONDS[max(0, min(retries, len(BUSY_HOLD_SECONDS) - 1))]


def request_age(header: str, now: float) -> float | None:
    """Seconds since a proxy's X-Request-Start ("t=1700000000.123", seconds, milliseconds or microseconds)."""
    text = header.strip().removeprefix("t=")
    try:
        started = float(text)
    except ValueError:
        return None
    if started > 1e14:  # microseconds
        started /= 1e6
    elif started > 1e11:  # milliseconds
        started /= 1e3
    return now - started


class ShedDocuments:
    """The shed answers, built once per language and host from the prompt catalogues: they need nothing."""

    def __init__(self, voice: Voice, public_base_url: str, default_language: str, hold_seconds: int):
        self.voice = voice
        self.public_base_url = public_base_url
        self.default_language = default_language
        self.hold_seconds = hold_seconds

    def document(self, kind: str, environ: dict[str, Any]) -> bytes:
        scheme, host = environ.get("wsgi.url_scheme", "http"), environ.get("HTTP_HOST", "")
        base = self.public_base_url or f"{scheme}://{host}"
        if kind == "incoming":
            retries = busy_retries(environ.get("QUERY_STRING", ""))
            busy = self.voice.cached(("shed-incoming", base, retries), lambda: self._busy(base, retries))
            return busy.encode()
        language = parse_qs(environ.get("QUERY_STRING", "")).get("l", [""])[0]
        language = language if language in self.voice.catalogues else self.default_language
        return self.voice.cached(("shed-wait", language), lambda: self._hold(language)).encode()

    def _busy(self, base: str, retries: int) -> VoiceResponse:
        """A new call: the apology with "press 2 for a gas leak" (the rescue's duty engineer), the hold for
        its count of sheds, then the greeting again; every language, since the caller has chosen none yet.
        The BUSY_TRIES-th time: "please call again later" (press 2 still works), then the call ends."""
        languages = list(dict.fromkeys([self.default_language, *self.voice.catalogues]))
        last = retries >= BUSY_TRIES - 1
        response = VoiceResponse()
        gather = Gather(
            input="dtmf",
            action=f"{base}/voice/rescue?l={self.default_language}",
            method="POST",
            timeout=BUSY_GATHER_SECONDS,
        )
        gather.attrs["numDigits"] = "1"
        key = "overload_call_later" if last else "overload_busy"
        self.voice.add(gather, [Said(key, language) for language in languages])
        hold = 0 if last else busy_hold_seconds(retries)
        if hold:
            gather.pause(length=hold)
        response.append(gather)
        if last:
            response.hangup()
            return response
        response.redirect(f"{base}/voice/incoming?{RETRY_ARG}={retries + 1}", method="POST")
        return response

    def _hold(self, language: str) -> VoiceResponse:
        """A queue's wait page: the caller keeps their place, and Twilio asks again after a longer pause."""
        pause = self.hold_seconds * SHED_HOLD_FACTOR
        return twiml.wait_document(self.voice, [Said("overload_hold", language)], pause)


class ShedOverload:
    """Counts the webhooks a worker process is working on. Past `limit`, a queue's wait page gets the shed
    answer at once; a new call waits up to `admit_wait` seconds for a place (so a burst passes), unless
    `max_waiting` wait already: then, or when its wait is over, it gets the shed answer. So does a new call or
    wait a proxy says waited more than `max_age` seconds (its caller may be gone). The threads beyond
    `limit + max_waiting` are what answer the excess at once."""

    def __init__(
        self,
        app: WSGIApp,
        documents: ShedDocuments,
        limit: int,
        max_age: float,
        admit_wait: float = 0.0,
        max_waiting: int = 0,
        clock: Callable[[], float] = time.time,
    ):
        self.app = app
        self.documents = documents
        self.limit = limit
        self.max_age = max_age
        self.admit_wait = admit_wait
        self.max_waiting = max_waiting
        self.waiting = 0
        self.clock = clock
        self.in_flight = 0
        self.shed = 0  # since the process started
        self._lock = threading.Lock()
        self._finished = threading.Condition(self._lock)
        self._logged_at, self._logged_shed = 0.0, 0
        self._shed_at = -PRESSURE_SECONDS  # monotonic: the last shed answer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if self.limit <= 0 or not path.startswith("/voice/"):
            return self.app(environ, start_response)
        kind = shed_kind(path, environ.get("QUERY_STRING", ""))
        if kind is not None and not self._admitted(kind, environ):
            return self._shed(kind, environ, start_response)
        if kind is None:
            with self._lock:
                self.in_flight += 1  # the gas-leak path and calls under way: always, and counted
        environ[PRESSURE_KEY] = self.shedding()
        try:
            # Flask's answer is complete when the app returns (no streaming webhooks): the work is done here.
            return self.app(environ, start_response)
        finally:
            with self._lock:
                self.in_flight -= 1
                self._finished.notify()

    def _admitted(self, kind: str, environ: dict[str, Any]) -> bool:
        """A place among the `limit` in flight (then counted), or shed. Only a new call waits for one: a
        queue's wait page shed loses one announcement, a new call shed hears the busy document."""
        if self._too_old(environ):
            with self._lock:
                self.shed += 1
            return False
        deadline = time.monotonic() + (self.admit_wait if kind == "incoming" else 0.0)
        with self._lock:
            if self.in_flight >= self.limit and (kind != "incoming" or self.waiting >= self.max_waiting):
                self.shed += 1
                return False
            self.waiting += 1
            try:
                while self.in_flight >= self.limit:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.shed += 1
                        return False
                    self._finished.wait(left)
                self.in_flight += 1
                return True
            finally:
                self.waiting -= 1

    def shedding(self) -> bool:
        """Whether this worker shed a request in the last PRESSURE_SECONDS."""
        return time.monotonic() - self._shed_at < PRESSURE_SECONDS

    def _too_old(self, environ: dict[str, Any]) -> bool:
        header = environ.get("HTTP_X_REQUEST_START")
        if not header:
            return False
        age = request_age(header, self.clock())
        return age is not None and age > self.max_age

    def _shed(
        self, kind: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        self._shed_at = time.monotonic()
        body = self.documents.document(kind, environ)
        start_response(
            "200 OK",
            [
                ("Content-Type", twiml.TWIML_CONTENT_TYPE),
                ("Content-Length", str(len(body))),
                (SHED_HEADER, kind),
            ],
        )
        self._log_now_and_then()
        return [body]

    def _log_now_and_then(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._logged_at < LOG_EVERY_SECONDS:
                return
            count, self._logged_at, self._logged_shed = self.shed - self._logged_shed, now, self.shed
        log.warning(
            "overloaded: %d new calls or queue waits answered with the busy document in the last %.0f s "
            "(limit %d in flight per worker, IVR_WEB_MAX_IN_FLIGHT)",
            count,
            LOG_EVERY_SECONDS,
            self.limit,
        )
