"""The built-in simulator as a served hotline's telephony (`make run`, IVR_TELEPHONY=simulator).

It stands where Twilio's REST API would: the calls the server places (satisfaction call-backs, queue
call-backs, the duty engineer's notice) ring simulated people who answer and press keys, their webhooks
sent over HTTP to the server itself; and a recording's audio is made when asked for, a stand-in that sounds
like two people talking, as long as the recording (capped), the same each time.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from ivr.telephony.audio import speech_like_wav
from ivr.telephony.base import TelephonyError
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.sim_clock import SimClock
from ivr.telephony.sim_telephony import SimulatorTelephony
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport, Response

log = logging.getLogger(__name__)

# A recording's (duration in seconds, channels), or None when the hotline knows no such recording.
RecordingLength = Callable[[str], tuple[int, int] | None]


class LiveClock(SimClock):
    """Call lengths in simulated time (nothing sleeps), but calls are made at the real time of day, so
    that the Calls list the placer reconciles against shows when each call was really placed."""

    def datetime(self) -> datetime:
        return datetime.now(UTC)


class ForwardingTransport:
    """HTTP to the server at `webhook_base`, for URLs written with the server's public base: the request
    keeps the public URL's Host, so the signature checks against the URL the simulator signed."""

    def __init__(self, public_base: str, webhook_base: str) -> None:
        self.public_base = public_base.rstrip("/")
        self.webhook_base = webhook_base.rstrip("/")
        self.http = HttpTransport()

    def request(self, method: str, url: str, params: dict[str, str], headers: dict[str, str]) -> Response:
        """Send one webhook request to the server."""
        if url.startswith(self.public_base + "/"):
            headers = {**headers, "Host": urlsplit(url).netloc}
            url = self.webhook_base + url[len(self.public_base) :]
        return self.http.request(method, url, params, headers)

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()


def customer_answers(rng: random.Random) -> list[str]:
    """What a simulated customer presses on a call-back: yes to the survey, two scores (mostly good), on
    time or not, charged or not, then a few seconds of comment."""
    attitude = rng.choices(range(1, 11), weights=(1, 1, 1, 1, 2, 3, 6, 10, 12, 10))[0]
    ability = rng.choices(range(1, 11), weights=(1, 1, 1, 1, 2, 4, 7, 10, 10, 8))[0]
    comment = f"record:{rng.randint(3, 9)}"
    return ["1", str(attitude), str(ability), rng.choice("1112"), rng.choice("12"), comment]


class ServedSimulator(SimulatorTelephony):
    """Telephony for a served hotline backed by the built-in simulator: placed calls run in a background
    thread against the server; recordings are generated from their length."""

    def __init__(
        self,
        *,
        auth_token: str,
        public_base: str,
        webhook_base: str,
        hotline_number: str,
        recording_length: RecordingLength,
        seed: int | None = None,
    ) -> None:
        sim = Simulator(
            ForwardingTransport(public_base, webhook_base),
            auth_token=auth_token,
            voice_url=f"{public_base.rstrip('/')}/voice/incoming",
            clock=LiveClock(),
            seed=seed,
        )
        # The account holds the hotline's number, so the hosted fallback can be kept on it as on Twilio.
        sim.numbers.provision(hotline_number, voice_url=sim.voice_url)
        super().__init__(sim)
        self.recording_length = recording_length
        self._rng = random.Random(seed)
        self._calls_waiting = threading.Event()
        self._runner: threading.Thread | None = None
        self._lock = threading.Lock()

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str | None = None,
        machine_detection: bool = False,
    ) -> str:
        """Ring `to`: a simulated person answers (a human, for machine detection) and presses keys."""
        self.sim.callee_for(to, ScriptedCaller(customer_answers(self._rng)))
        sid = super().create_call(
            to=to, from_=from_, url=url, status_callback=status_callback, machine_detection=machine_detection
        )
        self._start_runner()
        self._calls_waiting.set()
        return sid

    def fetch_recording(self, recording_sid: str) -> bytes:
        """The audio of a recording the hotline knows: generated to its length (and channels)."""
        length = self.recording_length(recording_sid)
        if length is None:
            raise TelephonyError(f"recording {recording_sid} not found", status=404, code=20404)
        seconds, channels = length
        return speech_like_wav(seconds, channels, seed=recording_sid)

    def _start_runner(self) -> None:
        with self._lock:
            if self._runner is None:
                self._runner = threading.Thread(target=self._run_calls, name="simulated-calls", daemon=True)
                self._runner.start()

    def _run_calls(self) -> None:
        """Run the placed calls one after another, as they come."""
        while True:
            self._calls_waiting.wait()
            self._calls_waiting.clear()
            try:
                for result in self.sim.run_pending_calls():
                    log.info("simulated call %s to %s: %s", result.call_sid, result.to, result.summary())
            except Exception:  # a broken call must not stop the next ones
                log.exception("a simulated call failed")
