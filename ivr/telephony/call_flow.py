"""One simulated call: fetches TwiML and follows it verb by verb, as Twilio does."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Generator
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import urljoin

from ivr.telephony import twiml_rules as rules
from ivr.telephony.call_result import CallError, CallResult, TranscriptEntry
from ivr.telephony.callers import Caller
from ivr.telephony.flow_base import (
    WAITING,
    Bridge,
    Failure,
    Flow,
    Goto,
    Stop,
    attr_method,
    media_entry,
    media_seconds,
    resolve,
    voice_params,
)
from ivr.telephony.sim_clock import SimClock
from ivr.telephony.transport import Response


@dataclass(frozen=True)
class VerbFlows:
    """Verbs played by modules of their own: they build on SimulatedCall, so the simulator hands them in."""

    enqueue: Callable[[SimulatedCall, ET.Element, str], Flow]
    dial: Callable[[SimulatedCall, ET.Element, str], Goto | Stop | None]
    gather: Callable[[SimulatedCall, ET.Element, str], Goto | Stop | None]
    record: Callable[[SimulatedCall, ET.Element, str], Goto | Stop | None]


class Platform(Protocol):
    """What a call asks of the simulated platform (the Simulator): clock, requests, queues, recordings."""

    account_sid: str
    clock: SimClock
    fetch_seconds: float
    fallback_url: str | None
    talk_seconds: int
    verbs: VerbFlows

    def send(
        self, result: CallResult, method: str, url: str, params: dict[str, str], purpose: str
    ) -> Response | Exception: ...
    def new_sid(self, prefix: str) -> str: ...
    def dial_attempt(self, address: str) -> tuple[str, int]: ...
    def store_recording(self, seconds: int, channels: int) -> str: ...
    def recording_url(self, recording_sid: str) -> str: ...
    def join_queue(self, name: str, call: SimulatedCall) -> None: ...
    def leave_queue(self, name: str, call: SimulatedCall, waited: int) -> None: ...
    def queue_sid(self, name: str) -> str: ...
    def queue_max_size(self, name: str) -> int: ...
    def queue_position(self, name: str, call: SimulatedCall) -> tuple[int, int]: ...
    def average_wait(self, name: str) -> int: ...
    def dequeue_first(self, name: str) -> SimulatedCall | None: ...


MAX_FETCHES = 300  # Twilio stops runaway redirect loops too; this keeps a broken app from spinning
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
REDIRECT_STATUSES = {301, 302, 303, 307}  # the only redirects Twilio follows


class SimulatedCall:
    """A call in progress; drive it with run() or run_until_waiting()."""

    def __init__(
        self,
        sim: Platform,
        sid: str,
        *,
        from_: str,
        to: str,
        direction: str,
        caller: Caller,
        url: str,
        method: str = "POST",
        status_callback: str | None = None,
        status_events: tuple[str, ...] = ("completed",),
        answered_by: str | None = None,
        outcome: str = "answer",
    ) -> None:
        self.sim = sim
        self.sid = sid
        self.caller = caller
        self.url = url
        self.method = method
        self.status_callback = status_callback
        self.status_events = status_events
        # The number's VoiceFallbackUrl (inbound calls to a provisioned number); else the simulator's.
        self.fallback_url: str | None = None
        self.fallback_method = "POST"
        self.answered_by = answered_by
        self.outcome = outcome
        self.result = CallResult(call_sid=sid, from_=from_, to=to, direction=direction)
        self.status = "queued"
        self.queue: str | None = None
        self.queue_entered_at = 0.0
        self._answered_at: float | None = None
        self._final_status: str | None = None
        self._flow: Generator[str, None, None] | None = None
        self._redirect: Goto | None = None
        self._bridge: Bridge | None = None
        self._hangup_requested = False
        self._deferred: list[tuple[Goto, dict[str, str]]] = []
        self._fetches = 0
        self._status_sequence = 0

    # ----- driving -------------------------------------------------------------------------

    @property
    def live(self) -> bool:
        """True while the call is ringing or connected."""
        return self.status in ("ringing", "in-progress")

    @property
    def ended(self) -> bool:
        """True once the call is over."""
        return self._final_status is not None

    def run_until_waiting(self) -> bool:
        """Run until the caller waits in a queue (True) or the call ends (False)."""
        if self.ended:
            return False
        if self._flow is None:
            self._flow = self._lifecycle()
        try:
            next(self._flow)
        except StopIteration:
            return False
        return True

    def run(self) -> CallResult:
        """Run the call to its end and return the result."""
        while self.run_until_waiting():
            pass
        return self.result

    def request_redirect(self, goto: Goto) -> None:
        """Ask the call to leave its current TwiML for `goto` at its next step."""
        self._redirect = goto

    def request_hangup(self) -> None:
        """Ask the call to end at its next step (REST Status=completed)."""
        self._hangup_requested = True

    def request_bridge(self, bridge: Bridge) -> None:
        """Connect this queued call to an agent at its next step."""
        self._bridge = bridge

    def cancel(self) -> None:
        """End a call that never started (REST hangup of a queued outbound call)."""
        self._flow = None  # nothing left to run
        self._finish_call("canceled", "api")

    def queue_time(self) -> int:
        """Whole seconds spent in the current queue."""
        return int(self.sim.clock.now() - self.queue_entered_at) if self.queue else 0

    # ----- requests --------------------------------------------------------------------------

    def params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Twilio's standard voice request parameters for this call, plus `extra`."""
        r = self.result
        params = voice_params(self.sim.account_sid, self.sid, self.status, r.direction, r.from_, r.to)
        if self.answered_by:
            params["AnsweredBy"] = self.answered_by
            params["MachineDetectionDuration"] = "2500"
        params.update(extra or {})
        return params

    def fetch(self, goto: Goto, allowed_verbs: set[str] | None = None) -> ET.Element | Failure:
        """Request a TwiML document (following HTTP redirects like Twilio) and validate it."""
        url, method, params = goto.url, goto.method.upper(), self.params(goto.params)

        def fail(code: int, message: str) -> Failure:
            return self._fail(code, message, url, goto.purpose)

        self._fetches += 1
        if self._fetches > MAX_FETCHES:
            return fail(0, f"simulator stopped after {MAX_FETCHES} documents (a redirect loop?)")
        for _hop in range(5):
            self.sim.clock.advance(self.sim.fetch_seconds)  # Twilio's round trip, when the test sets one
            answer = self.sim.send(self.result, method, url, params, goto.purpose)
            if isinstance(answer, Exception):
                return fail(rules.HTTP_CONNECTION_FAILURE, f"{type(answer).__name__}: {answer}")
            if 300 <= answer.status < 400:
                location = answer.headers.get("Location")
                if answer.status not in REDIRECT_STATUSES or not location:
                    return fail(rules.HTTP_INVALID_REDIRECT, f"HTTP {answer.status} is not a usable redirect")
                url = urljoin(url, location)
                method = method if answer.status == 307 else "GET"
                continue
            if not 200 <= answer.status < 300:
                return fail(rules.HTTP_RETRIEVAL_FAILURE, f"HTTP {answer.status}")
            self._flush_deferred()
            try:
                return rules.parse_response(answer.content_type, answer.body, url, allowed_verbs)
            except rules.TwimlError as exc:
                return fail(exc.code, exc.message)
            except rules.UnsimulatedVerb as exc:
                return fail(0, str(exc))
        return fail(rules.HTTP_INVALID_REDIRECT, "too many HTTP redirects")

    def notify(self, goto: Goto, base: dict[str, str] | None = None) -> None:
        """Send a request whose answer Twilio ignores (status callbacks, abandoned actions)."""
        params = dict(self.params() if base is None else base)
        params.update(goto.params)
        answer = self.sim.send(self.result, goto.method.upper(), goto.url, params, goto.purpose)
        if isinstance(answer, Exception):
            self._error(rules.HTTP_CONNECTION_FAILURE, f"{type(answer).__name__}: {answer}", goto.url)
        elif answer.status >= 400:
            self._error(rules.HTTP_RETRIEVAL_FAILURE, f"HTTP {answer.status}", goto.url)

    def defer(self, goto: Goto, base: dict[str, str]) -> None:
        """Send a notification after the next document fetch (Twilio's recording callbacks lag)."""
        self._deferred.append((goto, base))

    def log(self, entry: TranscriptEntry) -> TranscriptEntry:
        """Add to the transcript (stamped with the simulated time) and let the caller hear it."""
        if entry.at is None:
            entry.at = self.sim.clock.now()
        self.result.transcript.append(entry)
        self.caller.hear(entry)
        return entry

    def end(self, ended_by: str, status: str = "completed") -> Stop:
        """Mark the call over; the status callback goes out when the flow unwinds."""
        if self._final_status is None:
            self._final_status = status
            self.result.ended_by = ended_by
        return Stop.END

    def recover(self, failure: Failure) -> Goto | Stop:
        """After a failure: go to the fallback URL, or end the call as Twilio does."""
        fallback = self.fallback_url or self.sim.fallback_url
        if fallback and failure.purpose != "fallback":
            extra = {"ErrorCode": str(failure.code), "ErrorUrl": failure.url}
            return Goto(fallback, self.fallback_method if self.fallback_url else "POST", extra, "fallback")
        self.log(TranscriptEntry("say", APPLICATION_ERROR, language="en-US", detail={"source": "twilio"}))
        return self.end("error")

    def interruption(self, context: str) -> Goto | Stop | None:
        """A REST redirect/hangup (or a bridge, in a queue) waiting to take over the call."""
        if self._hangup_requested:
            if context == "wait":
                return Stop.INTERRUPTED
            return self.end("api")
        if context == "wait" and (self._redirect or self._bridge):
            return Stop.INTERRUPTED
        if self._redirect is not None:
            goto, self._redirect = self._redirect, None
            self.log(TranscriptEntry("redirect", url=goto.url, detail={"source": "api"}))
            return goto
        return None

    def take_redirect(self) -> Goto | None:
        """Consume a pending REST redirect."""
        goto, self._redirect = self._redirect, None
        return goto

    def take_bridge(self) -> Bridge | None:
        """Consume a pending bridge."""
        bridge, self._bridge = self._bridge, None
        return bridge

    @property
    def hangup_requested(self) -> bool:
        """A REST hangup is pending."""
        return self._hangup_requested

    def resolve(self, doc_url: str, target: str | None) -> str:
        """An attribute URL made absolute against the document it came from (empty: the document)."""
        return resolve(doc_url, target)

    # ----- the flow ----------------------------------------------------------------------------

    def follow(self, goto: Goto, context: str, allowed: set[str] | None = None) -> Flow:
        """Fetch and run documents, following every transfer, until one ends or stops."""
        while True:
            doc = self.fetch(goto, allowed)
            if isinstance(doc, Failure):
                return doc
            outcome = yield from self._run(doc, goto.url, context)
            if not isinstance(outcome, Goto):
                return outcome
            goto = outcome

    def _lifecycle(self) -> Generator[str, None, None]:
        self.status = "ringing" if self.result.direction == "inbound" else "initiated"
        self._status_event("initiated", "initiated")
        if self.result.direction != "inbound":
            self._status_event("ringing", "ringing")
            if self.outcome != "answer":
                self._finish_call(self.outcome, "not-answered")
                return
            self._answer()
        goto: Goto | Stop | None = Goto(self.url, self.method, {}, "voice")
        while isinstance(goto, Goto) and not self.ended:
            outcome = yield from self.follow(goto, "call")
            if isinstance(outcome, Failure):
                goto = self.recover(outcome)
            else:
                goto = None
                if outcome is None:
                    self.end("document-end")
        self._flush_deferred()
        self._finish_call(self._final_status or "completed", self.result.ended_by or "document-end")

    def _run(self, doc: ET.Element, doc_url: str, context: str) -> Flow:
        verbs = self.sim.verbs
        last = doc[-1] if len(doc) else None
        for verb in doc:
            interrupt = self.interruption(context)
            if interrupt is not None:
                return interrupt
            if verb.tag != "Reject":
                self._answer()
            if verb.tag == "Enqueue":
                outcome = yield from verbs.enqueue(self, verb, doc_url)
            elif verb.tag == "Dial":
                outcome = verbs.dial(self, verb, doc_url)
            elif verb.tag == "Gather":
                outcome = verbs.gather(self, verb, doc_url)
            elif verb.tag == "Record":
                outcome = verbs.record(self, verb, doc_url)
            else:
                outcome = getattr(self, f"_verb_{verb.tag.lower()}")(verb, doc_url, context)
                if verb.tag == "Pause" and context == "wait" and verb is not last:
                    # Time passes in the queue: the server may take the caller now (a REST redirect or a
                    # bridge), as on Twilio, even when the wait document goes on to <Leave>. (A pause that
                    # ends the document is the idle time the queue flow yields for already.)
                    yield WAITING
            if outcome is not None:
                return outcome
            if self.ended:
                return Stop.END
        return None

    # ----- verbs ---------------------------------------------------------------------------

    def _verb_say(self, verb: ET.Element, doc_url: str, context: str) -> None:
        self._speak(verb, doc_url)

    def _verb_play(self, verb: ET.Element, doc_url: str, context: str) -> None:
        self._speak(verb, doc_url)

    def _verb_pause(self, verb: ET.Element, doc_url: str, context: str) -> None:
        self._speak(verb, doc_url)

    def _verb_redirect(self, verb: ET.Element, doc_url: str, context: str) -> Goto:
        url = self.resolve(doc_url, verb.text)
        self.log(TranscriptEntry("redirect", url=url))
        return Goto(url, attr_method(verb), {}, "redirect")

    def _verb_hangup(self, verb: ET.Element, doc_url: str, context: str) -> Stop:
        self.log(TranscriptEntry("hangup"))
        return self.end("hangup-verb")

    def _verb_reject(self, verb: ET.Element, doc_url: str, context: str) -> Stop:
        reason = verb.get("reason", "rejected")
        self.log(TranscriptEntry("reject", reason))
        if self._answered_at is not None:
            return self.end("reject")
        # Only a <Reject> before anything else keeps Twilio from answering the call.
        return self.end("reject", "busy" if reason == "busy" else "no-answer")

    def _verb_leave(self, verb: ET.Element, doc_url: str, context: str) -> Stop | None:
        self.log(TranscriptEntry("leave", self.queue or "", detail={} if self.queue else {"ignored": True}))
        return Stop.LEAVE if context == "wait" else None

    # ----- helpers -------------------------------------------------------------------------

    def _speak(self, verb: ET.Element, doc_url: str) -> None:
        entry = self.log(media_entry(verb, doc_url))
        self.sim.clock.advance(media_seconds(entry))

    def _answer(self) -> None:
        if self._answered_at is None:
            self._answered_at = self.sim.clock.now()
            self.status = "in-progress"
            self._status_event("answered", "in-progress")

    def _fail(self, code: int, message: str, url: str, purpose: str = "") -> Failure:
        self._error(code, message, url)
        return Failure(code, message, url, purpose)

    def _error(self, code: int, message: str, url: str) -> None:
        self.result.errors.append(CallError(code, message, url))
        self.log(TranscriptEntry("error", message, url=url, detail={"code": code}))

    def _flush_deferred(self) -> None:
        pending, self._deferred = self._deferred, []
        for goto, base in pending:
            self.notify(goto, base)

    def _finish_call(self, status: str, ended_by: str) -> None:
        self._final_status = self._final_status or status
        self.result.ended_by = self.result.ended_by or ended_by
        self.result.status = self._final_status
        if self._answered_at is not None:
            self.result.duration = math.ceil(self.sim.clock.now() - self._answered_at)
        if self.queue:
            self.sim.leave_queue(self.queue, self, self.queue_time())
            self.queue = None
        self.status = self._final_status
        self._status_event("completed", self._final_status)

    def _status_event(self, event: str, call_status: str) -> None:
        if not self.status_callback or event not in self.status_events:
            return
        self._status_sequence += 1
        extra = {
            "CallStatus": call_status,
            "Timestamp": format_datetime(self.sim.clock.datetime()),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._status_sequence - 1),
        }
        if event == "completed":
            extra["CallDuration"] = str(self.result.duration)
        self.notify(Goto(self.status_callback, "POST", extra, f"status-{event}"))
