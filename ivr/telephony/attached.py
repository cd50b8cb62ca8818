"""Terminal phones attached to a running server in simulator mode, and the adapter that reaches their calls.

`run.py call --url` runs a caller in its own simulator. For the server to connect that caller to an agent
(a REST redirect), the phone serves its simulator's Twilio-compatible REST API and attaches it here; the
server's processes (web workers, scheduler) share the list through small files in the instance folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from ivr.telephony.base import CallQueue, NumberConfig, PlacedCall, Telephony, TelephonyError
from ivr.telephony.twilio_rest import TwilioTelephony

log = logging.getLogger(__name__)
T = TypeVar("T")
# A phone re-attaches while it runs; one silent for longer has gone (killed without detaching).
ATTACHMENT_TTL_SECONDS = 15 * 60


@dataclass(frozen=True)
class Attachment:
    """One terminal phone's simulator: where its REST API answers, and its account."""

    api_base_url: str
    account_sid: str


class Attachments:
    """The attached phones, one JSON file each in `folder` (shared by every process of the server)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def attach(self, attachment: Attachment) -> None:
        """Add (or refresh) a phone; only a local http address is taken (the simulator is a local tool)."""
        parts = urlsplit(attachment.api_base_url)
        if (
            parts.scheme != "http"
            or parts.hostname not in ("127.0.0.1", "localhost", "::1")
            or not parts.port
        ):
            raise ValueError("ApiBaseUrl must be http://127.0.0.1:<port> (a simulator on this machine)")
        if not attachment.account_sid.startswith("AC"):
            raise ValueError("AccountSid must start with AC")
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(attachment)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"api": attachment.api_base_url, "account": attachment.account_sid}))
        os.replace(temporary, path)  # a reader never sees half a file

    def detach(self, attachment: Attachment) -> None:
        """Remove a phone (nothing happens if it was not attached)."""
        self._path(attachment).unlink(missing_ok=True)

    def current(self) -> list[Attachment]:
        """The phones attached in the last ATTACHMENT_TTL_SECONDS, newest first."""
        if not self.folder.is_dir():
            return []
        fresh = []
        for path in self.folder.glob("*.json"):
            try:
                if time.time() - path.stat().st_mtime > ATTACHMENT_TTL_SECONDS:
                    continue
                data = json.loads(path.read_text())
                fresh.append((path.stat().st_mtime, Attachment(data["api"], data["account"])))
            except (OSError, ValueError, KeyError):
                continue  # removed meanwhile, or not one of ours
        return [attachment for _, attachment in sorted(fresh, key=lambda pair: pair[0], reverse=True)]

    def _path(self, attachment: Attachment) -> Path:
        port = urlsplit(attachment.api_base_url).port
        return self.folder / f"phone-{port}.json"


class AttachedPhonesTelephony:
    """The server's telephony in simulator mode: a call a terminal phone made is reached through that
    phone's REST API; everything else goes to `inner` (the server's own simulator, if it has one)."""

    def __init__(self, attachments: Attachments, auth_token: str, inner: Telephony | None = None) -> None:
        self.attachments = attachments
        self.auth_token = auth_token
        self.inner = inner

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Redirect the call in whichever simulator holds it."""
        self._first(lambda telephony: telephony.redirect_call(call_sid, url), f"call {call_sid}")

    def calls_placed(self, *, to: str, since: datetime) -> list[PlacedCall]:
        """The calls to `to` placed in every simulator."""
        placed: list[PlacedCall] = []
        for telephony in self._phones():
            try:
                placed += telephony.calls_placed(to=to, since=since)
            except TelephonyError as error:
                log.info("an attached phone did not answer: %s", error)
        if self.inner is not None:
            placed += self.inner.calls_placed(to=to, since=since)
        return placed

    def fetch_recording(self, recording_sid: str) -> bytes:
        """The recording's audio from whichever simulator made it."""
        return self._first(lambda telephony: telephony.fetch_recording(recording_sid), recording_sid)

    def delete_recording(self, recording_sid: str) -> None:
        """Delete the recording in whichever simulator made it."""
        self._first(lambda telephony: telephony.delete_recording(recording_sid), recording_sid)

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str | None = None,
        machine_detection: bool = False,
    ) -> str:
        """Outbound calls (call-backs) are the server's own simulator's."""
        return self._inner().create_call(
            to=to, from_=from_, url=url, status_callback=status_callback, machine_detection=machine_detection
        )

    def find_number(self, phone_number: str) -> NumberConfig:
        """The number, from the server's own simulator."""
        return self._inner().find_number(phone_number)

    def set_voice_fallback(self, number_sid: str, url: str, method: str) -> NumberConfig:
        """Set the fallback in the server's own simulator."""
        return self._inner().set_voice_fallback(number_sid, url, method)

    def list_queues(self) -> list[CallQueue]:
        """The server's own simulator's queues."""
        return self._inner().list_queues()

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        """A queue in the server's own simulator."""
        return self._inner().create_queue(name, max_size)

    def resize_queue(self, sid: str, max_size: int) -> CallQueue:
        """Resize a queue of the server's own simulator."""
        return self._inner().resize_queue(sid, max_size)

    def _inner(self) -> Telephony:
        if self.inner is None:
            raise TelephonyError("no telephony adapter configured")
        return self.inner

    def _phones(self) -> Iterator[TwilioTelephony]:
        for attachment in self.attachments.current():
            with TwilioTelephony(attachment.account_sid, self.auth_token, attachment.api_base_url) as phone:
                yield phone

    def _first(self, operation: Callable[[Telephony], T], what: str) -> T:
        """Run `operation` on the first simulator that knows `what`. If none did it, the most telling refusal:
        one that knows the call but cannot do it (the call is over), else Twilio's "not found"."""
        refusal: TelephonyError | None = None
        for telephony in self._all():
            try:
                return operation(telephony)
            except TelephonyError as error:
                if error.status != 404 and (refusal is None or error.status is not None):
                    refusal = error  # a refusal with a status beats a phone that did not answer at all
        raise refusal or TelephonyError(f"no simulator knows {what}", status=404, code=20404)

    def _all(self) -> Iterator[Telephony]:
        yield from self._phones()
        if self.inner is not None:
            yield self.inner
