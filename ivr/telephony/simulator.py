"""A local stand-in for Twilio's voice platform that drives calls against our webhooks."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeGuard
from urllib.parse import urlencode, urlsplit, urlunsplit

from twilio.request_validator import RequestValidator

from ivr.telephony.audio import tone_wav
from ivr.telephony.base import QUEUE_DEFAULT_SIZE, QUEUE_MAX_SIZE, CallQueue
from ivr.telephony.call_flow import SimulatedCall, VerbFlows
from ivr.telephony.call_result import CallResult, SentRequest
from ivr.telephony.callers import Caller, ScriptedCaller
from ivr.telephony.dial_flow import run_dial
from ivr.telephony.flow_base import Goto
from ivr.telephony.input_flow import run_gather, run_record
from ivr.telephony.queue_flow import run_enqueue
from ivr.telephony.sim_clock import SimClock
from ivr.telephony.sim_errors import SimulatorError
from ivr.telephony.sim_numbers import PhoneNumbers
from ivr.telephony.transport import Response, Transport
from ivr.telephony.twilio_hosted import hosted_answer, is_hosted

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DIAL_OUTCOMES = {"answer", "busy", "no-answer", "failed", "canceled"}
ANSWERED_BY = {"human", "machine_start", "machine_end_beep", "machine_end_silence", "fax", "unknown"}
CLIENT_PREFIX = "client:"

# How one dial attempt to an address goes: an outcome, or (outcome, talk seconds) for an answer.
EndpointOutcome = str | tuple[str, int]
# A dial endpoint's behaviour: one outcome for every attempt, or a sequence used one item per
# attempt whose last item repeats (a list, or a tuple that is not an (outcome, seconds) pair).
EndpointSetting = EndpointOutcome | Sequence[EndpointOutcome]
VERB_FLOWS = VerbFlows(enqueue=run_enqueue, dial=run_dial, gather=run_gather, record=run_record)


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
        dial_endpoints: Mapping[str, EndpointSetting] | None = None,
        clock: SimClock | None = None,
        retry_every_request: bool = False,
        api_base_url: str = "https://api.twilio.com",
        talk_seconds: int = 30,
        seed: int | None = None,
        fetch_seconds: float = 0.0,
    ) -> None:
        self.transport = transport
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.voice_url = voice_url
        self.status_callback_url = status_callback_url
        self.fallback_url = fallback_url
        self.clock = clock or SimClock()
        self.retry_every_request = retry_every_request
        self.api_base_url = api_base_url.rstrip("/")
        self.talk_seconds = talk_seconds
        self.fetch_seconds = fetch_seconds  # simulated round trip of each TwiML request (Twilio's latency)
        self.verbs = VERB_FLOWS
        self.validator = RequestValidator(auth_token)
        self.calls: dict[str, SimulatedCall] = {}
        self.queues: dict[str, list[SimulatedCall]] = {}
        self.recordings: dict[str, bytes] = {}
        self.created: dict[str, datetime] = {}  # CallSid -> when the call was made (the clock's time)
        self._queue_sids: dict[str, str] = {}
        self._queue_waits: dict[str, list[int]] = {}
        self._queue_sizes: dict[str, int] = {}  # queue name -> MaxSize
        # Every Queue create/update made through the REST API: (action, name, MaxSize), for tests.
        self.queue_changes: list[tuple[str, str, int]] = []
        self._callees: dict[str, Callee] = {}
        self._pending: list[SimulatedCall] = []
        self._rng = random.Random(seed)
        # The account's numbers: a provisioned one's VoiceFallbackUrl replaces `fallback_url` for its calls.
        self.numbers = PhoneNumbers(self.new_sid)
        # REST operations may arrive from a server thread while a call runs in the test thread.
        self._lock = threading.RLock()
        self._endpoints: dict[str, list[tuple[str, int | None]]] = {}
        self._settings: dict[str, EndpointSetting] = {}
        self._attempts: dict[str, int] = {}
        for address, setting in (dial_endpoints or {}).items():
            self.set_endpoint(address, setting)

    # ----- calls ---------------------------------------------------------------------------

    def start_call(
        self, from_: str, to: str, caller: Caller, *, voice_url: str | None = None
    ) -> SimulatedCall:
        """Ring our number from `from_`; returns the call, not yet run (see run / run_until_waiting)."""
        number = self.numbers.find(to)
        call = SimulatedCall(
            self,
            self.new_sid("CA"),
            from_=from_,
            to=to,
            direction="inbound",
            caller=caller,
            url=voice_url or (number.voice_url if number and number.voice_url else self.voice_url),
            status_callback=self.status_callback_url,
            status_events=("completed",),
        )
        if number is not None and number.voice_fallback_url:
            call.fallback_url, call.fallback_method = number.voice_fallback_url, number.voice_fallback_method
        with self._lock:
            self.calls[call.sid] = call
            self.created[call.sid] = self.clock.datetime()
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
        callee = self._callees.get(to) or Callee(ScriptedCaller(), outcome=self.dial_attempt(to)[0])
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
            self.created[call.sid] = self.clock.datetime()
            self._pending.append(call)
        return call.sid

    def start_time(self, call: SimulatedCall) -> datetime | None:
        """When the call started (Twilio leaves it empty while a call is still queued)."""
        return None if call.status == "queued" else self.created.get(call.sid)

    def list_calls(
        self,
        *,
        to: str | None = None,
        from_: str | None = None,
        status: str | None = None,
        started_from: date | None = None,
    ) -> list[SimulatedCall]:
        """Like GET /Calls.json filtered by To, From, Status and StartTime>= (a date, as Twilio's is):
        newest first, as Twilio lists them; a queued call has no start time, so StartTime leaves it out."""
        with self._lock:
            calls = list(self.calls.values())
        chosen = []
        for call in calls:
            started = self.start_time(call)
            if to is not None and call.result.to != to:
                continue
            if from_ is not None and call.result.from_ != from_:
                continue
            if status is not None and call.status != status:
                continue
            if started_from is not None and (started is None or started.date() < started_from):
                continue
            chosen.append(call)
        return sorted(chosen, key=lambda call: self.created.get(call.sid) or self.clock.start, reverse=True)

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

    @property
    def dial_endpoints(self) -> dict[str, EndpointSetting]:
        """The endpoint settings as given (to dial_endpoints or set_endpoint), by address."""
        with self._lock:
            return dict(self._settings)

    def set_endpoint(self, address: str, setting: EndpointSetting) -> None:
        """Set how dials to `address` go from the next attempt on (any time, even mid-call).

        `address` is a phone number (or sip:/whatsapp:... address) exactly as the TwiML dials it,
        or a <Client> identity, written either `client:agent-chenjing` (as Twilio's To shows it)
        or bare `agent-chenjing`; setting one spelling replaces the other.  `setting` is an
        outcome ("answer", "busy", "no-answer", "failed", "canceled"), an (outcome, talk seconds)
        pair, or a list of those used one per dial attempt, the last one repeating.  A new
        setting starts again from its first item.
        """
        plan = _endpoint_plan(address, setting)
        with self._lock:
            for other in _spellings(address):
                self._endpoints.pop(other, None)
                self._settings.pop(other, None)
                self._attempts.pop(other, None)
            self._endpoints[address] = plan
            self._settings[address] = setting
            self._attempts.pop(address, None)

    def endpoint(self, address: str) -> tuple[str, int]:
        """How the next dial attempt to `address` will go: (outcome, talk seconds); unknown ones answer."""
        with self._lock:
            key = self._endpoint_key(address)
            return self._pick(key, self._attempts.get(key, 0))

    def dial_attempt(self, address: str) -> tuple[str, int]:
        """One dial attempt to `address`: its (outcome, talk seconds), using up one item of a sequence."""
        with self._lock:
            key = self._endpoint_key(address)
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
            return self._pick(key, attempt)

    def dial_attempts(self, address: str) -> int:
        """How many times `address` was dialled since its setting was last set."""
        with self._lock:
            return self._attempts.get(self._endpoint_key(address), 0)

    def _endpoint_key(self, address: str) -> str:
        for key in (address, *_spellings(address)):
            if key in self._endpoints:
                return key
        return address

    def _pick(self, key: str, attempt: int) -> tuple[str, int]:
        plan = self._endpoints.get(key) or [("answer", None)]
        outcome, seconds = plan[min(attempt, len(plan) - 1)]
        return outcome, self.talk_seconds if seconds is None else seconds

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

    def delete_recording(self, recording_sid: str) -> None:
        """Like DELETE /Recordings/{sid}.json: the recording and its audio are gone."""
        with self._lock:
            if self.recordings.pop(recording_sid, None) is None:
                raise SimulatorError(f"recording {recording_sid} not found", status=404, code=20404)

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

    def queue_max_size(self, name: str) -> int:
        """How many callers the queue holds (Twilio's default for one <Enqueue> created on first use)."""
        with self._lock:
            return self._queue_sizes.get(name, QUEUE_DEFAULT_SIZE)

    def create_queue(self, name: str, max_size: int | None = None) -> CallQueue:
        """Like POST /Queues.json: a new named queue (one name, one queue)."""
        size = QUEUE_DEFAULT_SIZE if max_size is None else max_size
        _check_queue_size(size)
        with self._lock:
            if name in self._queue_sids:
                raise SimulatorError(f"a queue named {name!r} exists already", status=400, code=22003)
            sid = self.queue_sid(name)
            self._queue_sizes[name] = size
            self.queue_changes.append(("create", name, size))
            return self.describe_queue(sid)

    def resize_queue(self, sid: str, max_size: int) -> CallQueue:
        """Like POST /Queues/{sid}.json with MaxSize."""
        _check_queue_size(max_size)
        with self._lock:
            name = self._queue_name(sid)
            self._queue_sizes[name] = max_size
            self.queue_changes.append(("update", name, max_size))
            return self.describe_queue(sid)

    def describe_queue(self, sid: str) -> CallQueue:
        """A queue as the REST API reports it."""
        with self._lock:
            name = self._queue_name(sid)
            return CallQueue(sid, name, self.queue_max_size(name), len(self.queues.get(name, [])))

    def list_queues(self) -> list[CallQueue]:
        """Every queue of the account, created explicitly or by <Enqueue>."""
        with self._lock:
            return [self.describe_queue(sid) for sid in self._queue_sids.values()]

    def _queue_name(self, sid: str) -> str:
        for name, known in self._queue_sids.items():
            if known == sid:
                return name
        raise SimulatorError(f"The requested resource {sid} was not found", status=404, code=20404)

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
        if is_hosted(url):  # Twilio's own servers answer it, whatever state our app is in
            return hosted_answer(url)
        return self.transport.request(method, url, dict(body), dict(headers))

    def _known(self, call_sid: str) -> SimulatedCall:
        call = self.calls.get(call_sid)
        if call is None:
            raise SimulatorError(f"call {call_sid} not found", status=404, code=20404)
        return call


def _spellings(address: str) -> tuple[str, ...]:
    """The other way of writing a client identity: bare for `client:x`, prefixed for `x`."""
    if address.startswith(CLIENT_PREFIX):
        return (address[len(CLIENT_PREFIX) :],)
    if ":" in address or address.startswith("+") or address.isdigit():
        return ()  # a phone number or a sip:/whatsapp:/conference: address is never an identity
    return (CLIENT_PREFIX + address,)


def _endpoint_plan(address: str, setting: EndpointSetting) -> list[tuple[str, int | None]]:
    """A setting as the list of (outcome, talk seconds or None for the default) to go through."""
    if isinstance(setting, str) or _is_pair(setting):
        items: list[object] = [setting]
    elif isinstance(setting, Sequence) and setting:
        items = list(setting)
    else:
        raise ValueError(f"dial endpoint {address}: give an outcome, (outcome, seconds) or a non-empty list")
    plan: list[tuple[str, int | None]] = []
    for item in items:
        if isinstance(item, str):
            outcome, seconds = item, None
        elif _is_pair(item):
            outcome, seconds = item
        else:
            raise ValueError(f"dial endpoint {address}: {item!r} is not an outcome or (outcome, seconds)")
        if outcome not in DIAL_OUTCOMES:
            raise ValueError(f"dial endpoint {address}: outcome must be one of {sorted(DIAL_OUTCOMES)}")
        plan.append((outcome, seconds))
    return plan


def _is_pair(value: object) -> TypeGuard[tuple[str, int]]:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def _check_queue_size(size: int) -> None:
    if not 1 <= size <= QUEUE_MAX_SIZE:
        raise SimulatorError(f"MaxSize must be between 1 and {QUEUE_MAX_SIZE}", status=400, code=20001)
