"""The small part of Twilio's REST API that the hotline server relies on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class TelephonyError(Exception):
    """A telephony operation failed (bad credentials, unknown call, network trouble...)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        # HTTP status and Twilio error code, when the provider gave them: callers may want to
        # treat e.g. 21220 ("call is not in progress") differently from an outage.
        self.status = status
        self.code = code


@dataclass(frozen=True)
class PlacedCall:
    """An outbound call the provider has accepted, as its Calls list reports it."""

    sid: str
    status: str  # queued, ringing, in-progress, completed, busy, no-answer, failed, canceled
    created_at: datetime  # naive UTC: when the provider accepted it (start_time stays empty while queued)
    answered_by: str | None = None

    @property
    def live(self) -> bool:
        """True while the call may still run its TwiML (not ended)."""
        return self.status in ("queued", "initiated", "ringing", "in-progress")


# Twilio's Queue resource: MaxSize defaults to 1000 (a queue <Enqueue> creates on first use gets it too) and
# may be set up to 5000.
QUEUE_DEFAULT_SIZE = 1000
QUEUE_MAX_SIZE = 5000


@dataclass(frozen=True)
class CallQueue:
    """One of the account's call queues, as the Queues list reports it."""

    sid: str
    name: str  # FriendlyName: the name <Enqueue> uses
    max_size: int
    current_size: int = 0


@dataclass(frozen=True)
class NumberConfig:
    """A phone number of the account and where Twilio sends its calls (IncomingPhoneNumbers)."""

    sid: str
    phone_number: str
    voice_url: str
    voice_fallback_url: str
    voice_fallback_method: str


class Telephony(Protocol):
    """Operations the server asks of the telephony provider."""

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call leave its current TwiML and fetch `url` (POST)."""
        ...

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str | None = None,
        machine_detection: bool = False,
    ) -> str:
        """Place an outbound call that runs the TwiML at `url`; return its CallSid."""
        ...

    def calls_placed(self, *, to: str, since: datetime) -> list[PlacedCall]:
        """Outbound calls to `to` accepted at or after `since` (naive UTC), oldest first: what a placer that
        died before storing a CallSid may have left behind."""
        ...

    def fetch_recording(self, recording_sid: str) -> bytes:
        """Return the audio (WAV) of a recording."""
        ...

    def delete_recording(self, recording_sid: str) -> None:
        """Delete the provider's copy of a recording (already gone: no error)."""
        ...

    def find_number(self, phone_number: str) -> NumberConfig:
        """The account's number `phone_number` (E.164) and its voice URLs; TelephonyError if it has none."""
        ...

    def set_voice_fallback(self, number_sid: str, url: str, method: str) -> NumberConfig:
        """Point the number's VoiceFallbackUrl (what Twilio asks when our TwiML fails) at `url`."""
        ...

    def list_queues(self) -> list[CallQueue]:
        """The account's call queues."""
        ...

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        """Create a call queue named `name` holding at most `max_size` callers."""
        ...

    def resize_queue(self, sid: str, max_size: int) -> CallQueue:
        """Change how many callers a queue may hold."""
        ...
