"""A local stand-in for Twilio's voice platform that drives calls against our webhooks."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

from ivr.telephony.audio import tone_wav
from ivr.telephony.call_flow import SimulatedCall
from ivr.telephony.call_result import CallResult, SentRequest
from ivr.telephony.callers import Caller, ScriptedCaller
from ivr.telephony.flow_base import Goto
from ivr.telephony.transport import Response, Transport

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DIAL_OUTCOMES = {"answer", "busy", "no-answer", "failed", "canceled"}
ANSWERED_BY = {"human", "machine_start", "machine_end_beep", "machine_end_silence", "fax", "unknown"}


class SimulatorError(Exception):
    """A REST-style operation on the simulator failed; `status`/`code` mirror Twilio's answer."""

    def __init__(self, message: str, *, status: int, code: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SimClock:
    """Simulated time: verbs advance it, nothing ever sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._seconds = 0.0

    def now(self) -> float:
        """Seconds elapsed since the clock started."""
        return self._seconds

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._seconds += max(0.0, seconds)

    def datetime(self) -> datetime:
        """The current simulated wall-clock time (UTC)."""
        return self.start + timedelta(seconds=self._seconds)


@dataclass
class Callee:
    """Who answers an outbound call to one number, and how."""

    caller: Caller
    answered_by: str = "human"
    outcome: str = "answer"


class Simulator:
    """Plays Twilio's side of voice calls against a webhook server reached through `transport`."""

    def __init__(
        self,
        transport: Transport,
        *,
        auth_token: str,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        voice_url: str,
        status_callback_url: str | None = None,
        fallback_url: str | None = None,
        dial_endpoints: dict[str, str | tuple[str, int]] | None = None,
        clock: SimClock | None = None,
        retry_every_request: bool = False,
        api_base_url: str = "https://api.twilio.com",
        talk_seconds: int = 30,
        seed: int | None = None,
    ) -> None:
        self.transport = transport
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.voice_url = voice_url
        self.status_callback_url = status_callback_url
        self.fallback_url = fallback_url
        self.dial_endpoints = dict(dial_endpoints or {})
        self.clock = clock or SimClock()
        self.retry_every_request = retry_every_request
        self.api_base_url = api_base_url.rstrip("/")
        self.talk_seconds = talk_seconds
        self.validator = RequestValidator(auth_token)
        self.calls: dict[str, SimulatedCall] = {}
        self.queues: dict[str, list[SimulatedCall]] = {}
        self.recordings: dict[str, bytes] = {}
        self._queue_sids: dict[str, str] = {}
        self._queue_waits: dict[str, list[int]] = {}
        self._callees: dict[str, Callee] = {}
        self._pending: list[SimulatedCall] = []
        self._rng = random.Random(seed)
        # REST operations may arrive from a server thread while a call runs in the test thread.
        self._lock = threading.RLock()
        for number in self.dial_endpoints:
            self.endpoint(number)  # validate early

    # ----- calls ---------------------------------------------------------------------------

    def start_call(
        self, from_: str, to: str, caller: Caller, *, voice_url: str | None = None
    ) -> SimulatedCall:
        """Ring our number from `from_`; returns the call, not yet run (see run / run_until_waiting)."""
        call = SimulatedCall(
            self,
            self.new_sid("CA"),
            from_=from_,
            to=to,
            direction="inbound",
            caller=caller,
            url=voice_url or self.voice_url,
            status_callback=self.status_callback_url,
            status_events=("completed",),
        )
        with self._lock:
            self.calls[call.sid] = call
        return call

    def place_call(self, from_: str, to: str, caller: Caller) -> CallResult:
        """Ring our number and run the whole call."""
        return self.start_call(from_, to, caller).run()

    def call(self, call_sid: str) -> SimulatedCall:
        """A call by its sid (KeyError if unknown)."""
        return self.calls[call_sid]

    def redirect(self, call_sid: str, url: str, method: str = "POST") -> None:
        """Like POST /Calls/{sid}.json with Url: the live call fetches `url` at its next step."""
        with self._lock:
            call = self._known(call_sid)
            if call.status == "queued":
                call.url, call.method = url, method
                return
            if not call.live:
                raise SimulatorError(f"call {call_sid} is not in progress", status=400, code=21220)
            call.request_redirect(Goto(url, method, {}, "redirect"))

    def hangup(self, call_sid: str) -> None:
        """Like POST /Calls/{sid}.json with Status=completed."""
        with self._lock:
            call = self._known(call_sid)
            if call.status == "queued":
                self._pending.remove(call)
                call.cancel()
            elif call.live:
                call.request_hangup()
            else:
                raise SimulatorError(f"call {call_sid} is not in progress", status=400, code=21220)

    def callee_for(
        self, number: str, caller: Caller, *, answered_by: str = "human", outcome: str = "answer"
    ) -> None:
        """Register who picks up outbound calls to `number` (answered_by is what AMD reports)."""
        if answered_by not in ANSWERED_BY:
            raise ValueError(f"answered_by must be one of {sorted(ANSWERED_BY)}")
        if outcome not in DIAL_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(DIAL_OUTCOMES)}")
        self._callees[number] = Callee(caller, answered_by, outcome)

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        method: str = "POST",
        status_callback: str | None = None,
        status_callback_event: Iterable[str] = (),
        machine_detection: bool = False,
    ) -> str:
        """Like POST /Calls.json: queue an outbound call (run it with run_pending_calls)."""
        callee = self._callees.get(to) or Callee(ScriptedCaller(), outcome=self.endpoint(to)[0])
        call = SimulatedCall(
            self,
            self.new_sid("CA"),
            from_=from_,
            to=to,
            direction="outbound-api",
            caller=callee.caller,
            url=url,
            method=method,
            status_callback=status_callback,
            status_events=tuple(status_callback_event) or ("completed",),
            answered_by=callee.answered_by if machine_detection else None,
            outcome=callee.outcome,
        )
        with self._lock:
            self.calls[call.sid] = call
            self._pending.append(call)
        return call.sid

    def pending_calls(self) -> list[SimulatedCall]:
        """Outbound calls created but not started yet."""
        with self._lock:
            return list(self._pending)

    def run_pending_calls(self) -> list[CallResult]:
        """Run every queued outbound call to its end, oldest first."""
        results: list[CallResult] = []
        while True:
            with self._lock:
                if not self._pending:
                    return results
                call = self._pending.pop(0)
            results.append(call.run())

    # ----- endpoints, recordings, sids ----------------------------------------------------

    def endpoint(self, address: str) -> tuple[str, int]:
        """How a dialled address behaves: (outcome, talk seconds); unknown addresses answer."""
        setting = self.dial_endpoints.get(address, "answer")
        outcome, seconds = setting if isinstance(setting, tuple) else (setting, self.talk_seconds)
        if outcome not in DIAL_OUTCOMES:
            raise ValueError(f"dial endpoint {address}: outcome must be one of {sorted(DIAL_OUTCOMES)}")
        return outcome, int(seconds)

    def store_recording(self, seconds: int, channels: int) -> str:
        """Keep a generated WAV for a new recording and return its RecordingSid."""
        sid = self.new_sid("RE")
        with self._lock:
            self.recordings[sid] = tone_wav(seconds, channels)
        return sid

    def recording_audio(self, recording_sid: str) -> bytes:
        """The WAV bytes of a recording."""
        with self._lock:
            if recording_sid not in self.recordings:
                raise SimulatorError(f"recording {recording_sid} not found", status=404, code=20404)
            return self.recordings[recording_sid]

    def recording_url(self, recording_sid: str) -> str:
        """The RecordingUrl Twilio would report (no extension; add .wav or .mp3 to download)."""
        return f"{self.api_base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}"

    def new_sid(self, prefix: str) -> str:
        """A Twilio-shaped sid: two letters and 32 hex digits."""
        with self._lock:
            return f"{prefix}{self._rng.getrandbits(128):032x}"

    # ----- queues --------------------------------------------------------------------------

    def join_queue(self, name: str, call: SimulatedCall) -> None:
        """Put a call at the back of a queue."""
        with self._lock:
            self.queues.setdefault(name, []).append(call)

    def leave_queue(self, name: str, call: SimulatedCall, waited: int) -> None:
        """Take a call out of a queue, remembering its wait for AvgQueueTime."""
        with self._lock:
            members = self.queues.get(name, [])
            if call in members:
                members.remove(call)
                self._queue_waits.setdefault(name, []).append(waited)

    def queue_sid(self, name: str) -> str:
        """The QueueSid of a queue (created on first use, like <Enqueue> does)."""
        with self._lock:
            if name not in self._queue_sids:
                self._queue_sids[name] = self.new_sid("QU")
            return self._queue_sids[name]

    def queue_position(self, name: str, call: SimulatedCall) -> tuple[int, int]:
        """(1-based position of the call, current queue size)."""
        with self._lock:
            members = self.queues.get(name, [])
            position = members.index(call) + 1 if call in members else 0
            return position, len(members)

    def average_wait(self, name: str) -> int:
        """Average seconds spent in the queue by callers who left it."""
        with self._lock:
            waits = self._queue_waits.get(name, [])
            return round(sum(waits) / len(waits)) if waits else 0

    def dequeue_first(self, name: str) -> SimulatedCall | None:
        """Take the longest-waiting call out of a queue (as <Dial><Queue> does) and return it."""
        with self._lock:
            members = self.queues.get(name, [])
            if not members:
                return None
            call = members[0]
            self.leave_queue(name, call, call.queue_time())
            return call

    # ----- webhook delivery ------------------------------------------------------------------

    def send(
        self, result: CallResult, method: str, url: str, params: dict[str, str], purpose: str
    ) -> Response | Exception:
        """Deliver one signed webhook request (twice with retry_every_request); never raises."""
        body = params
        if method == "GET":
            url = _with_query(url, params)
            body = {}
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(url, body),
            "I-Twilio-Idempotency-Token": self.new_sid("")[:32],
            "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*",
            "Cache-Control": "max-age=259200",
        }
        answer: Response | Exception = RuntimeError("no request sent")
        for _attempt in range(2 if self.retry_every_request else 1):
            sent = SentRequest(url, method, dict(params), dict(headers), purpose)
            result.requests.append(sent)
            try:
                answer = self._deliver(method, url, body, headers)
                sent.status = answer.status
            except Exception as exc:  # any failure to get an answer is Twilio's 11205
                answer = exc
        return answer

    def _deliver(self, method: str, url: str, body: dict[str, str], headers: dict[str, str]) -> Response:
        return self.transport.request(method, url, dict(body), dict(headers))

    def _known(self, call_sid: str) -> SimulatedCall:
        call = self.calls.get(call_sid)
        if call is None:
            raise SimulatorError(f"call {call_sid} not found", status=404, code=20404)
        return call


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))
