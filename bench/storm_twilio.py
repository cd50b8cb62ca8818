"""Twilio's side of a storm, in real time: callers playing the app's TwiML, and a REST stand-in."""

# One asyncio coroutine per caller. Every webhook is a signed POST on a new connection (Twilio reaches the
# app from many hosts), answered within 15 s or counted failed, and its answer parsed with xml.etree. The
# caller then does what the TwiML says, in real time: a <Say> lasts as long as it takes to read (about 4.5
# Chinese characters or 14 others a second), a <Pause> its length; a wait document is fetched again as soon
# as it has played. The app's REST calls (a caller redirected to an agent, queues created and sized) reach
# the REST stand-in served from the same event loop, which hands the redirect to the waiting caller.

from __future__ import annotations

import asyncio
import base64
import itertools
import random
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

from aiohttp import web
from twilio.request_validator import RequestValidator

TWILIO_TIMEOUT = 15.0  # seconds: Twilio gives up on a webhook after this long
CJK_SECONDS, OTHER_SECONDS, SAY_START = 0.22, 0.07, 0.3  # how long text-to-speech takes, per character
PLAY_SECONDS = 5.0  # a recorded prompt (<Play>), as the simulator counts it
DUTY_TALK_SECONDS = 30.0  # the duty engineer's call with a gas-leak caller
RING_SECONDS = 2.0  # an agent's phone rings this long before the agent answers
THINK_SECONDS = (2.0, 6.0)  # a caller presses the menu key this long after the greeting starts
QUEUE_DEFAULT_SIZE = 1000  # Twilio: a queue made by <Enqueue> on first use holds this many callers
HOTLINE_NUMBER = "+864008888888"  # the number the callers dial (To)
PERSON_WITHIN = 60.0  # seconds: the gas-leak promise
MENU_PATIENCE = 60.0  # seconds a general caller stays on outside a queue, on top of their patience in it
MAX_DOCUMENTS = 40  # documents a call fetches outside a queue before this player gives up (an app loop)
SHED_HEADER = "x-hotline-shed"  # the app marks an answer it gave instead of the work (ivr/calls/overload.py)


@dataclass
class Storm:
    """Everything the callers share: where the app is, its token, the figures being collected."""

    base_url: str
    token: str
    account_sid: str
    duty_number: str
    leak_share: float
    handle_seconds: tuple[float, float]
    patience_seconds: tuple[float, float]
    fallback_url: str = ""  # the number's VoiceFallbackUrl: the app's /voice/fallback until the app sets one
    hosted_fallbacks: int = 0  # failures answered by a fallback Twilio hosts (the Echo twimlet)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)  # "kind: reason"
    invalid_twiml: int = 0
    sent: list[float] = field(default_factory=list)  # when each request went out
    answered: list[tuple[float, float, bool]] = field(default_factory=list)  # (done at, latency, good)
    # Every request: (sent at, latency, webhook kind, good, what the app shed it as or ""), for the recovery
    records: list[tuple[float, float, str, bool, str]] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)  # where each caller ended
    leak_callers: list[Caller] = field(default_factory=list)
    callers: dict[str, Caller] = field(default_factory=dict)  # live callers by CallSid
    queues: dict[str, list[str]] = field(default_factory=dict)  # queue name -> CallSids in order
    queue_sizes: dict[str, int] = field(default_factory=dict)  # MaxSize set through the REST API
    queue_peaks: Counter[str] = field(default_factory=Counter)
    rest_calls: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)  # TwiML this player does not model
    shed: Counter[str] = field(default_factory=Counter)  # answers the app marked as shed under overload
    greetings_again: list[float] = field(default_factory=list)  # when a caller asked for a greeting again
    arrival_lag: float = 0.0  # the latest a caller entered after its slot (the generator falling behind)
    generator_cpu: float = 0.0  # CPU seconds of this process during the storm

    def __post_init__(self) -> None:
        self.validator = RequestValidator(self.token)
        split = urlsplit(self.base_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.fallback_url = self.fallback_url or self.base_url + "/voice/fallback"

    # ------------------------------------------------------------ one webhook

    async def post(self, kind: str, url: str, params: dict[str, str]) -> ET.Element | None:
        """POST a signed webhook as Twilio does; the parsed <Response>, or None when it failed."""
        signature = self.validator.compute_signature(url, params)
        split = urlsplit(url)
        target = split.path + (f"?{split.query}" if split.query else "")
        body = urlencode(params).encode()
        raw = (
            f"POST {target} HTTP/1.1\r\nHost: {split.netloc}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n\r\n"
        ).encode() + body
        started = time.monotonic()
        self.sent.append(started)
        try:
            async with asyncio.timeout(TWILIO_TIMEOUT):
                status, text, shed = await self._exchange(raw)
        except TimeoutError:
            return self._failed(kind, "timeout (15 s)", started, params)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
            return self._failed(kind, type(error).__name__, started, params)
        if status != 200:
            return self._failed(kind, f"HTTP {status}", started, params)
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            root = None
        if root is None or root.tag != "Response":
            self.invalid_twiml += 1
            return self._failed(kind, "invalid TwiML", started, params)
        done = time.monotonic()
        if shed:
            self.shed[f"{kind} ({shed})"] += 1
        caller = self.callers.get(params.get("CallSid", ""))
        if caller is not None:
            caller.last_shed = shed
        self.latencies.setdefault(kind, []).append(done - started)
        self.answered.append((done, done - started, True))
        self.records.append((started, done - started, kind, True, shed))
        self._trace(params, (started, done - started, kind, shed or "good"))
        return root

    async def _exchange(self, raw: bytes) -> tuple[int, bytes, str]:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = headers.get("content-length")
            body = await (reader.readexactly(int(length)) if length is not None else reader.read())
            return status, body, headers.get(SHED_HEADER, "")
        finally:
            writer.close()

    def _failed(self, kind: str, reason: str, started: float, params: dict[str, str]) -> ET.Element | None:
        self.failures[f"{kind}: {reason}"] += 1
        done = time.monotonic()
        self.answered.append((done, done - started, False))
        self.records.append((started, done - started, kind, False, ""))
        self._trace(params, (started, done - started, kind, f"failed: {reason}"))
        return None

    def _trace(self, params: dict[str, str], request: tuple[float, float, str, str]) -> None:
        """A gas-leak caller's requests, kept for the report on the late ones."""
        caller = self.callers.get(params.get("CallSid", ""))
        if caller is not None and caller.leak:
            caller.trace.append(request)

    # ------------------------------------------------------------ queues, as Twilio keeps them

    def join(self, name: str, call_sid: str) -> bool:
        """Into the named queue, unless it is full (MaxSize from the REST API, else Twilio's default)."""
        line = self.queues.setdefault(name, [])
        if len(line) >= self.queue_sizes.get(name, QUEUE_DEFAULT_SIZE):
            return False
        line.append(call_sid)
        self.queue_peaks[name] = max(self.queue_peaks[name], len(line))
        return True

    def leave(self, name: str, call_sid: str) -> None:
        line = self.queues.get(name, [])
        if call_sid in line:
            line.remove(call_sid)

    def position(self, name: str, call_sid: str) -> tuple[int, int]:
        line = self.queues.get(name, [])
        return (line.index(call_sid) + 1 if call_sid in line else len(line)), len(line)


def kind_of(url: str) -> str:
    """The webhook's kind, as the figures name it: the path's last part (the greeting and menu by name)."""
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    return {"incoming": "greeting", "step": "menu"}.get(last, last)


def is_echo(url: str) -> bool:
    """Whether Twilio answers `url` itself: the Echo twimlet, whose TwiML is in the URL."""
    parts = urlsplit(url)
    return parts.hostname in ("twimlets.com", "www.twimlets.com") and parts.path.rstrip("/") == "/echo"


class Redirected(Exception):
    """The REST API redirected the call: the TwiML being played is abandoned."""


class Caller:
    """One caller: the greeting, a menu key, the queue, and whatever the app's TwiML says after."""

    def __init__(self, storm: Storm, index: int, leak: bool, rng: random.Random) -> None:
        self.storm, self.leak, self.rng = storm, leak, rng
        self.sid = "CA" + uuid.uuid4().hex
        self.number = f"+86139{index:08d}"
        self.key = "2" if leak else "0"  # 2: gas leak; 0: a person (the general queue)
        self.patience = float("inf") if leak else rng.uniform(*storm.patience_seconds)
        self.redirect_url: str | None = None
        self.redirect_at: float | None = None
        self.wake = asyncio.Event()
        self.queue: str | None = None
        self.queue_entered = 0.0
        self.started = 0.0
        self.pressed_2: float | None = None  # when the gas-leak key went in
        self.pressed_at = ""  # the document whose <Gather> took the key 2 (menu, rescue, ...)
        self.trace: list[tuple[float, float, str, str]] = []  # gas-leak callers: (sent, latency, kind, how)
        self.duty_deadline: float | None = None  # the `d` of the safety wait URL (POSIX seconds)
        self.dialled_at: float | None = None  # when the <Dial> began
        self.reached: tuple[str, float] | None = None  # ("agent" | "duty", seconds after pressing 2)
        self.reached_unpressed: str | None = None  # a person reached before the key 2 went in
        self.ended = False
        self.greeted = False
        self.last_shed = ""  # what the app shed the last answer as ("incoming", "wait"), or ""
        self.talking = False  # with an agent or the duty engineer

    # ------------------------------------------------------------ the call

    async def run(self) -> None:
        storm = self.storm
        self.started = time.monotonic()
        storm.callers[self.sid] = self
        if self.leak:
            storm.leak_callers.append(self)
        outcome = "ended: the benchmark failed"
        try:
            outcome = await self._call()
            outcome = self._served_by or outcome
        except asyncio.CancelledError:
            outcome = "still talking to a person when the run ended"
            raise
        finally:
            self.ended = True
            storm.callers.pop(self.sid, None)
            if self.queue:
                storm.leave(self.queue, self.sid)
            storm.outcomes[outcome] += 1
        await self._notify(
            "status", "/voice/status", {"CallStatus": "completed", "CallDuration": self._age()}
        )

    async def _call(self) -> str:
        kind, url = "greeting", self.storm.base_url + "/voice/incoming"
        extra: dict[str, str] = {}
        for _ in range(MAX_DOCUMENTS):
            if kind == "greeting" and time.monotonic() - self.started > self.patience + MENU_PATIENCE:
                return "hung up before reaching a queue (busy answers)"
            document = await self._fetch(kind, url, extra)
            if document is None:
                return "ended: the app failed and so did the fallback"
            try:
                result = await self._play(document, url)
            except Redirected:
                result = None
            if self.redirect_url is not None:  # the REST API took the call elsewhere
                kind, url, extra = "connect", self.redirect_url, {}
                self.redirect_url = None
                self.wake.clear()
                continue
            if isinstance(result, tuple):  # a new document to fetch: (kind, url, params)
                kind, url, extra = result
                continue
            return result or "ended: the TwiML ran out"
        return f"ended: over {MAX_DOCUMENTS} documents outside a queue"

    async def _fetch(self, kind: str, url: str, params: dict[str, str]) -> ET.Element | None:
        """The document at `url`; on a failure, the number's fallback URL, as Twilio does."""
        if kind == "greeting":
            if self.greeted:  # the busy answer sent the call back to the greeting
                self.storm.greetings_again.append(time.monotonic())
            self.greeted = True
        document = await self.storm.post(kind, url, self._params() | params)
        if document is not None or kind == "fallback":
            return document
        fallback = self.storm.fallback_url
        if is_echo(fallback):  # Twilio answers it itself: the TwiML travels in the URL
            self.storm.hosted_fallbacks += 1
            return ET.fromstring((parse_qs(urlsplit(fallback).query).get("Twiml") or ["<Response/>"])[0])
        error = {"ErrorCode": "11200", "ErrorUrl": url}
        return await self.storm.post("fallback", fallback, self._params() | error)

    def _params(self) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": self.storm.account_sid,
            "From": self.number,
            "To": HOTLINE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }

    def _age(self) -> str:
        return str(int(time.monotonic() - self.started))

    async def _notify(self, kind: str, path_or_url: str, params: dict[str, str]) -> None:
        url = path_or_url if path_or_url.startswith("http") else self.storm.base_url + path_or_url
        await self.storm.post(kind, url, self._params() | params)

    # ------------------------------------------------------------ TwiML

    async def _play(self, document: ET.Element, url: str, in_queue: bool = False):  # type: ignore[no-untyped-def]
        """Do what the document says. Returns an outcome (str), the next document (kind, url, params) or
        None when it ran out; raises Redirected when the REST API took the call."""
        for verb in document:
            self._check_redirect()
            tag = verb.tag
            if tag == "Say":
                await self._sleep(_speech_seconds(verb.text or "") * max(1, int(verb.get("loop", "1") or 1)))
            elif tag == "Play":
                await self._sleep(PLAY_SECONDS)
            elif tag == "Pause":
                await self._sleep(float(verb.get("length", "1")))
            elif tag == "Gather":
                step = await self._gather(verb, url, in_queue)
                if step is not None:
                    return step
            elif tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                return (kind_of(target), target, {})
            elif tag == "Enqueue" and not in_queue:
                return await self._enqueue(verb, url)
            elif tag == "Leave" and in_queue:
                return "leave"
            elif tag == "Dial":
                return await self._dial(verb, url)
            elif tag == "Hangup" and self.last_shed == "incoming":
                return "told to call again later (the last busy answer)"
            elif tag == "Hangup":
                return "ended: <Hangup> (no person)"
            elif tag == "Record":
                return "ended: left a message"
            else:
                self.storm.unexpected[tag] += 1
        return None

    async def _gather(self, verb: ET.Element, url: str, in_queue: bool):  # type: ignore[no-untyped-def]
        action = urljoin(url, verb.get("action", url))
        # Offers while waiting, and any question but the menu for a general caller (the busy answer's
        # "press 2 for a gas leak"): silence, and the document goes on. A gas-leak caller presses 2 anywhere.
        if in_queue or (not self.leak and "/voice/step" not in action):
            for inner in verb:
                if inner.tag == "Say":
                    await self._sleep(_speech_seconds(inner.text or ""))
                elif inner.tag == "Pause":
                    await self._sleep(float(inner.get("length", "1")))
            await self._sleep(float(verb.get("timeout", "5")))
            return None
        await self._sleep(self.rng.uniform(*THINK_SECONDS))
        digits = self.key  # the same key at every menu (a busy answer's menu too)
        if digits == "2" and self.pressed_2 is None:
            self.pressed_2 = time.monotonic()
            self.pressed_at = kind_of(url)
        return (kind_of(action), action, {"Digits": digits})

    async def _enqueue(self, verb: ET.Element, url: str):  # type: ignore[no-untyped-def]
        storm = self.storm
        name = (verb.text or "").strip()
        action = urljoin(url, verb.get("action", "")) if verb.get("action") else None
        wait_url = urljoin(url, verb.get("waitUrl", "")) if "waitUrl" in verb.attrib else None
        queue_sid = "QU" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex
        deadline = parse_qs(urlsplit(wait_url or "").query).get("d", [""])[0]
        if self.leak and deadline.isdigit():
            self.duty_deadline = float(deadline)
        if not storm.join(name, self.sid):
            result, queue_time = "queue-full", 0
        else:
            self.queue, self.queue_entered = name, time.monotonic()
            result = await self._wait_in_queue(name, queue_sid, wait_url)
            queue_time = int(time.monotonic() - self.queue_entered)
            storm.leave(name, self.sid)
            self.queue = None
        params = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(queue_time)}
        if result in ("hangup", "redirected"):  # Twilio tells the action; its TwiML is not played
            if action:
                await self._notify("queue-exit-notify", action, params)
            if result == "hangup":
                return "hung up while waiting"
            raise Redirected
        # leave, queue-full, error (the wait document failed): the action's TwiML runs, as on Twilio
        if not action:
            return None
        return ("queue-exit", action, params)

    async def _wait_in_queue(self, name: str, queue_sid: str, wait_url: str | None) -> str:
        storm = self.storm
        while True:
            if time.monotonic() - self.queue_entered > self.patience:
                return "hangup"
            if not wait_url:
                await self._sleep_in_queue(30.0)
                continue
            position, size = storm.position(name, self.sid)
            params = self._params() | {
                "QueuePosition": str(position),
                "QueueSid": queue_sid,
                "QueueTime": str(int(time.monotonic() - self.queue_entered)),
                "AvgQueueTime": "60",
                "CurrentQueueSize": str(size),
                "MaxQueueSize": str(storm.queue_sizes.get(name, QUEUE_DEFAULT_SIZE)),
            }
            document = await storm.post("wait", wait_url, params)
            if self.redirect_url is not None:
                return "redirected"
            if document is None:
                return "error"
            try:
                result = await self._play_wait(document, wait_url)
            except Redirected:
                return "redirected"
            except _OutOfPatience:
                return "hangup"
            if result is not None:
                return result

    async def _play_wait(self, document: ET.Element, url: str) -> str | None:
        """A wait document, and what it leads to (a <Gather> action, a <Redirect>) while still queued."""
        for _ in range(10):  # a wait document that redirects for ever is the app's bug: stop after ten
            step = await self._play(document, url, in_queue=True)
            if step is None:
                return None
            if step == "leave":
                return "leave"
            if isinstance(step, tuple):
                kind, url, extra = step
                followed = await self.storm.post(kind, url, self._params() | extra)
                if followed is None:
                    return "error"
                document = followed
                continue
            return "hangup"  # a <Hangup> in the wait document
        return None

    async def _dial(self, verb: ET.Element, url: str):  # type: ignore[no-untyped-def]
        storm = self.storm
        noun = next(iter(verb), None)
        who = (noun.text or "").strip() if noun is not None else (verb.text or "").strip()
        action = urljoin(url, verb.get("action", "")) if verb.get("action") else None
        duty = who == storm.duty_number
        if duty:
            self._reached("duty")
            talk = DUTY_TALK_SECONDS
        else:
            self._reached("agent")
            await asyncio.sleep(RING_SECONDS)
            leg = noun.get("statusCallback") if noun is not None else None
            if leg:
                await self._notify("agent-leg", urljoin(url, leg), {"CallStatus": "in-progress"})
            talk = self.rng.uniform(*storm.handle_seconds)
        self.talking = True
        await asyncio.sleep(talk)
        self.talking = False
        if not action:
            return "talked to the duty engineer" if duty else "talked to an agent"
        params = {"DialCallStatus": "completed", "DialCallDuration": str(int(talk))}
        step = ("dial-result" if duty else "agent-result", action, params)
        self._served_by = "talked to the duty engineer" if duty else "talked to an agent"
        return step

    _served_by = ""

    def _reached(self, whom: str) -> None:
        if self.leak and self.pressed_2 is None and self.reached_unpressed is None:
            self.reached_unpressed = whom  # before the menu: a fallback dialled the duty engineer
        if self.pressed_2 is not None and self.reached is None:
            at = self.redirect_at if whom == "agent" and self.redirect_at else time.monotonic()
            self.reached = (whom, at - self.pressed_2)
            self.dialled_at = at

    def _check_redirect(self) -> None:
        if self.redirect_url is not None:
            raise Redirected

    async def _sleep(self, seconds: float) -> None:
        """Time passing on the call; a REST redirect cuts it short, and so does a caller's patience."""
        if seconds <= 0:
            return
        if self.queue is not None:
            await self._sleep_in_queue(seconds)
            return
        await asyncio.sleep(seconds)

    async def _sleep_in_queue(self, seconds: float) -> None:
        left = self.patience - (time.monotonic() - self.queue_entered)
        try:
            await asyncio.wait_for(self.wake.wait(), min(seconds, max(0.0, left)))
        except TimeoutError:
            if seconds > left:
                raise _OutOfPatience from None
            return
        self._check_redirect()

    def redirect(self, url: str) -> None:
        """The REST API's redirect: taken at once if waiting in a queue, else at the next verb."""
        self.redirect_url, self.redirect_at = url, time.monotonic()
        self.wake.set()


class _OutOfPatience(Exception):
    """The caller hung up while waiting."""


def _speech_seconds(text: str) -> float:
    wide = sum(1 for char in text if ord(char) >= 0x2E80)
    return SAY_START + wide * CJK_SECONDS + (len(text) - wide) * OTHER_SECONDS


# ---------------------------------------------------------------- the REST stand-in


def rest_app(storm: Storm) -> web.Application:
    """Twilio's REST paths the app uses in a storm: redirect or end a call, place a call, the Queues list."""
    app = web.Application()
    base = "/2010-04-01/Accounts/{account}"
    sids = itertools.count(1)

    def authorised(request: web.Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{storm.account_sid}:{storm.token}".encode()).decode()
        return request.headers.get("Authorization") == expected and request.match_info["account"] == (
            storm.account_sid
        )

    def error(status: int, code: int, message: str) -> web.Response:
        body = {
            "code": code,
            "message": message,
            "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
        }
        return web.json_response(body, status=status)

    def call_json(sid: str, status: str) -> dict[str, object]:
        return {
            "sid": sid,
            "account_sid": storm.account_sid,
            "status": status,
            "api_version": "2010-04-01",
            "date_created": formatdate(usegmt=True),
            "uri": f"/2010-04-01/Accounts/x/Calls/{sid}.json",
        }

    def queue_json(name: str) -> dict[str, object]:
        sid = "QU" + uuid.uuid5(uuid.NAMESPACE_URL, name).hex
        return {
            "sid": sid,
            "account_sid": storm.account_sid,
            "friendly_name": name,
            "max_size": storm.queue_sizes.get(name, QUEUE_DEFAULT_SIZE),
            "current_size": len(storm.queues.get(name, [])),
            "average_wait_time": 0,
            "date_created": formatdate(usegmt=True),
            "date_updated": formatdate(usegmt=True),
            "uri": f"/2010-04-01/Accounts/{storm.account_sid}/Queues/{sid}.json",
        }

    def page(key: str, items: list[dict[str, object]], uri: str) -> web.Response:
        return web.json_response(
            {
                key: items,
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": len(items),
                "previous_page_uri": None,
                "start": 0,
                "end": max(0, len(items) - 1),
                "uri": uri,
            }
        )

    async def update_call(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["update call"] += 1
        form = await request.post()
        caller = storm.callers.get(request.match_info["sid"])
        if caller is None or caller.ended:
            return error(404, 20404, "The requested resource was not found")
        if form.get("Status") in ("completed", "canceled"):
            caller.patience = 0  # ended by the app
            caller.wake.set()
        elif form.get("Url"):
            caller.redirect(str(form["Url"]))
        else:
            return error(400, 21218, "Url, Twiml or Status is required.")
        return web.json_response(call_json(caller.sid, "in-progress"))

    async def create_call(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["create call (not placed by this benchmark)"] += 1
        return web.json_response(call_json(f"CA{next(sids):032x}", "queued"), status=201)

    async def list_calls(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["list calls"] += 1
        return page("calls", [], request.path)

    async def list_queues(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["list queues"] += 1
        names = set(storm.queue_sizes) | set(storm.queues)
        return page("queues", [queue_json(name) for name in sorted(names)], request.path)

    async def create_queue(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["create queue"] += 1
        form = await request.post()
        name = str(form.get("FriendlyName", ""))
        storm.queue_sizes[name] = int(str(form.get("MaxSize", QUEUE_DEFAULT_SIZE)))
        return web.json_response(queue_json(name), status=201)

    async def update_queue(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["resize queue"] += 1
        form = await request.post()
        sid = request.match_info["sid"]
        names = set(storm.queue_sizes) | set(storm.queues)
        name = next((n for n in names if "QU" + uuid.uuid5(uuid.NAMESPACE_URL, n).hex == sid), None)
        if name is None:
            return error(404, 20404, "The requested resource was not found")
        if "MaxSize" in form:
            storm.queue_sizes[name] = int(str(form["MaxSize"]))
        return web.json_response(queue_json(name))

    number_sid = "PN" + "7" * 32

    def number_json() -> dict[str, object]:
        return {
            "sid": number_sid,
            "account_sid": storm.account_sid,
            "phone_number": HOTLINE_NUMBER,
            "friendly_name": HOTLINE_NUMBER,
            "voice_url": storm.base_url + "/voice/incoming",
            "voice_method": "POST",
            "voice_fallback_url": storm.fallback_url,
            "voice_fallback_method": "POST",
            "capabilities": {"voice": True},
            "api_version": "2010-04-01",
            "date_created": formatdate(usegmt=True),
            "date_updated": formatdate(usegmt=True),
            "uri": f"/2010-04-01/Accounts/{storm.account_sid}/IncomingPhoneNumbers/{number_sid}.json",
        }

    async def list_numbers(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        storm.rest_calls["list numbers"] += 1
        wanted = request.query.get("PhoneNumber")
        numbers = [number_json()] if wanted in (None, HOTLINE_NUMBER) else []
        return page("incoming_phone_numbers", numbers, request.path)

    async def number(request: web.Request) -> web.Response:
        if not authorised(request):
            return error(401, 20003, "Authenticate")
        if request.match_info["sid"] != number_sid:
            return error(404, 20404, "The requested resource was not found")
        if request.method == "POST":
            storm.rest_calls["update number"] += 1
            form = await request.post()
            if "VoiceFallbackUrl" in form:
                storm.fallback_url = str(form["VoiceFallbackUrl"])
        return web.json_response(number_json())

    async def other(request: web.Request) -> web.Response:
        storm.rest_calls[f"not modelled: {request.method} {request.path.split('/')[-1]}"] += 1
        return error(404, 20404, "The requested resource was not found")

    app.router.add_post(base + "/Calls/{sid}.json", update_call)
    app.router.add_post(base + "/Calls.json", create_call)
    app.router.add_get(base + "/Calls.json", list_calls)
    app.router.add_get(base + "/Queues.json", list_queues)
    app.router.add_post(base + "/Queues.json", create_queue)
    app.router.add_post(base + "/Queues/{sid}.json", update_queue)
    app.router.add_get(base + "/IncomingPhoneNumbers.json", list_numbers)
    app.router.add_route("*", base + "/IncomingPhoneNumbers/{sid}.json", number)
    app.router.add_route("*", "/{tail:.*}", other)
    return app
