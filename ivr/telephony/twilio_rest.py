"""Telephony implemented with Twilio's own Python library."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from ivr.telephony.base import CallQueue, NumberConfig, PlacedCall, TelephonyError

TWILIO_API_BASE_URL = "https://api.twilio.com"
REQUEST_TIMEOUT_SECONDS = 15.0


class TwilioTelephony:
    """Talks to Twilio's REST API (or to a Twilio-compatible server at `api_base_url`)."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        *,
        status_events: Sequence[str] = ("answered", "completed"),
    ) -> None:
        self.account_sid = account_sid
        self._auth = (account_sid, auth_token)
        self._status_events = list(status_events)
        self._base_url = (api_base_url or TWILIO_API_BASE_URL).rstrip("/")
        self._http = TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if api_base_url:
            # Every REST resource URL is built from the Api domain's base_url.  Edge/region
            # settings (TWILIO_EDGE / TWILIO_REGION) would rewrite the host name again, so
            # they are switched off when pointing at a local server.
            self._client.api.base_url = self._base_url
            self._client.edge = None
            self._client.region = None

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live call fetch new TwiML from `url` with POST."""
        try:
            self._client.api.account.calls(call_sid).update(url=url, method="POST")
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"redirecting call {call_sid} failed") from exc

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str | None = None,
        machine_detection: bool = False,
    ) -> str:
        """Place an outbound call running the TwiML at `url`; return its CallSid."""
        options: dict[str, object] = {"to": to, "from_": from_, "url": url, "method": "POST"}
        if status_callback:
            options.update(
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=self._status_events,
            )
        if machine_detection:
            options["machine_detection"] = "Enable"
        try:
            call = self._client.api.account.calls.create(**options)
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"creating a call to {to} failed") from exc
        if not call.sid:
            raise TelephonyError("the API answered without a CallSid")
        return str(call.sid)

    def calls_placed(self, *, to: str, since: datetime) -> list[PlacedCall]:
        """Outbound calls to `to` accepted at or after `since` (naive UTC), from the Calls list."""
        calls = self._client.api.account.calls
        try:
            # StartTime>= is a date filter (docs: "YYYY-MM-DD"), and a call still queued has no start time
            # yet, so the queued ones are asked for apart and the moment is checked here.
            found = calls.list(to=to, start_time_after=since.date().isoformat(), page_size=100)
            found += calls.list(to=to, status="queued", page_size=100)
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"listing the calls to {to} failed") from exc
        placed: dict[str, PlacedCall] = {}
        for call in found:
            created = _naive_utc(call.date_created or call.start_time)
            if not call.sid or created is None or created < since:
                continue
            if not str(call.direction or "").startswith("outbound"):
                continue
            status = str(call.status or "")
            placed[call.sid] = PlacedCall(call.sid, status, created, call.answered_by)
        return sorted(placed.values(), key=lambda call: (call.created_at, call.sid))

    def list_queues(self) -> list[CallQueue]:
        """The account's call queues (GET /Queues.json, every page)."""
        try:
            found = self._client.api.account.queues.list(page_size=1000)
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, "listing the call queues failed") from exc
        return [_queue(queue) for queue in found]

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        """Create a call queue (POST /Queues.json with FriendlyName and MaxSize)."""
        try:
            return _queue(self._client.api.account.queues.create(friendly_name=name, max_size=max_size))
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"creating the call queue {name!r} failed") from exc

    def resize_queue(self, sid: str, max_size: int) -> CallQueue:
        """Change a queue's MaxSize (POST /Queues/{sid}.json)."""
        try:
            return _queue(self._client.api.account.queues(sid).update(max_size=max_size))
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"resizing the call queue {sid} failed") from exc

    def find_number(self, phone_number: str) -> NumberConfig:
        """The account's number from the IncomingPhoneNumbers list (filtered by PhoneNumber)."""
        try:
            found = self._client.api.account.incoming_phone_numbers.list(phone_number=phone_number, limit=1)
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"looking up the number {phone_number} failed") from exc
        if not found:
            raise TelephonyError(f"the account has no number {phone_number}", status=404)
        return _number(found[0])

    def set_voice_fallback(self, number_sid: str, url: str, method: str) -> NumberConfig:
        """Update the number's VoiceFallbackUrl and VoiceFallbackMethod."""
        try:
            number = self._client.api.account.incoming_phone_numbers(number_sid).update(
                voice_fallback_url=url, voice_fallback_method=method
            )
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"setting the fallback URL of {number_sid} failed") from exc
        return _number(number)

    def delete_recording(self, recording_sid: str) -> None:
        """Delete Twilio's copy of a recording (DELETE /Recordings/{sid}); one already gone is no error."""
        try:
            self._client.api.account.recordings(recording_sid).delete()
        except TwilioRestException as exc:
            if exc.status == 404:
                return
            raise _wrap(exc, f"deleting recording {recording_sid} failed") from exc
        except (TwilioException, requests.RequestException) as exc:
            raise _wrap(exc, f"deleting recording {recording_sid} failed") from exc

    def fetch_recording(self, recording_sid: str) -> bytes:
        """Download a recording as WAV bytes."""
        url = f"{self._base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}.wav"
        # twilio's http client decodes bodies to text, which would corrupt audio, so the
        # download goes through requests directly (same credentials, same timeout).
        try:
            response = requests.get(url, auth=self._auth, timeout=REQUEST_TIMEOUT_SECONDS)
        except requests.RequestException as exc:
            raise TelephonyError(f"downloading recording {recording_sid} failed: {exc}") from exc
        if response.status_code != 200:
            raise TelephonyError(
                f"downloading recording {recording_sid} failed: HTTP {response.status_code}",
                status=response.status_code,
                code=_error_code(response),
            )
        return response.content

    def close(self) -> None:
        """Release pooled HTTP connections."""
        if self._http.session is not None:
            self._http.session.close()

    def __enter__(self) -> TwilioTelephony:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _wrap(exc: Exception, what: str) -> TelephonyError:
    if isinstance(exc, TwilioRestException):
        return TelephonyError(f"{what}: HTTP {exc.status} {exc.msg}", status=exc.status, code=exc.code)
    return TelephonyError(f"{what}: {exc}")


def _queue(queue: Any) -> CallQueue:
    return CallQueue(
        str(queue.sid), str(queue.friendly_name or ""), int(queue.max_size or 0), int(queue.current_size or 0)
    )


def _number(number: Any) -> NumberConfig:
    return NumberConfig(
        str(number.sid),
        str(number.phone_number or ""),
        str(number.voice_url or ""),
        str(number.voice_fallback_url or ""),
        str(number.voice_fallback_method or "POST"),
    )


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _error_code(response: requests.Response) -> int | None:
    try:
        code = response.json().get("code")
    except ValueError:
        return None
    return code if isinstance(code, int) else None
