"""The simulated account's phone numbers (Twilio's IncomingPhoneNumbers): where a number's calls go."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from ivr.telephony.sim_errors import SimulatorError

METHODS = ("GET", "POST")


@dataclass(frozen=True)
class PhoneNumber:
    """One number's voice configuration, as the IncomingPhoneNumbers resource holds it."""

    sid: str
    phone_number: str
    voice_url: str = ""
    voice_method: str = "POST"
    voice_fallback_url: str = ""
    voice_fallback_method: str = "POST"


class PhoneNumbers:
    """The numbers of the simulated account: provisioned by tests, read and updated like the REST API."""

    def __init__(self, new_sid: Callable[[str], str]) -> None:
        self._new_sid = new_sid
        self._numbers: dict[str, PhoneNumber] = {}  # by sid
        self._lock = threading.Lock()
        # Every update made through the API: (sid, the fields changed), for tests.
        self.updates: list[tuple[str, dict[str, str]]] = []

    def provision(
        self, phone_number: str, *, voice_url: str = "", voice_fallback_url: str = ""
    ) -> PhoneNumber:
        """Give the account a number (as buying one in the console would)."""
        number = PhoneNumber(self._new_sid("PN"), phone_number, voice_url, "POST", voice_fallback_url, "POST")
        with self._lock:
            self._numbers[number.sid] = number
        return number

    def find(self, phone_number: str) -> PhoneNumber | None:
        """The number's configuration, if the account has it."""
        with self._lock:
            return next((n for n in self._numbers.values() if n.phone_number == phone_number), None)

    def list(self, phone_number: str | None = None) -> list[PhoneNumber]:
        """Like GET /IncomingPhoneNumbers.json, filtered by PhoneNumber."""
        with self._lock:
            numbers = list(self._numbers.values())
        return [n for n in numbers if phone_number is None or n.phone_number == phone_number]

    def get(self, sid: str) -> PhoneNumber:
        """Like GET /IncomingPhoneNumbers/{sid}.json."""
        with self._lock:
            number = self._numbers.get(sid)
        if number is None:
            raise _error(f"The requested resource {sid} was not found", 404, 20404)
        return number

    def update(self, sid: str, **changes: str) -> PhoneNumber:
        """Like POST /IncomingPhoneNumbers/{sid}.json with VoiceUrl, VoiceMethod, VoiceFallbackUrl..."""
        with self._lock:
            number = self._numbers.get(sid)
            if number is None:
                raise _error(f"The requested resource {sid} was not found", 404, 20404)
            for field in ("voice_method", "voice_fallback_method"):
                if field in changes and changes[field].upper() not in METHODS:
                    raise _error(f"{field} must be GET or POST", 400, 21403)
                if field in changes:
                    changes[field] = changes[field].upper()
            updated = replace(number, **changes)
            if updated.voice_fallback_url and not updated.voice_url:
                raise _error("Cannot set VoiceFallbackUrl without setting Url", 400, 21405)
            self._numbers[sid] = updated
            self.updates.append((sid, dict(changes)))
            return updated


def _error(message: str, status: int, code: int) -> Exception:
    return SimulatorError(message, status=status, code=code)
