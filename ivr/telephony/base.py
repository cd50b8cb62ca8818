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
