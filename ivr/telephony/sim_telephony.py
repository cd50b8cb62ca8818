"""The Telephony interface served in-process by the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.telephony.base import CallQueue, NumberConfig, PlacedCall, TelephonyError
from ivr.telephony.sim_errors import SimulatorError
from ivr.telephony.sim_numbers import PhoneNumber
from ivr.telephony.simulator import Simulator


class SimulatorTelephony:
    """Redirects, places calls and serves recordings inside a Simulator, without HTTP."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def redirect_call(self, call_sid: str, url: str) -> None:
        """Make a live simulated call fetch `url` at its next step."""
        try:
            self.sim.redirect(call_sid, url, "POST")
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc

    def create_call(
        self,
        *,
        to: str,
        from_: str,
        url: str,
        status_callback: str | None = None,
        machine_detection: bool = False,
    ) -> str:
        """Queue an outbound simulated call; run it with sim.run_pending_calls()."""
        return self.sim.create_call(
            to=to,
            from_=from_,
            url=url,
            status_callback=status_callback,
            status_callback_event=("answered", "completed") if status_callback else (),
            machine_detection=machine_detection,
        )

    def calls_placed(self, *, to: str, since: datetime) -> list[PlacedCall]:
        """Outbound simulated calls to `to` made at or after `since` (naive UTC), oldest first."""
        placed = []
        for call in self.sim.list_calls(to=to):
            made = self.sim.created[call.sid]
            made = made.astimezone(UTC).replace(tzinfo=None) if made.tzinfo else made
            if made >= since and call.result.direction.startswith("outbound"):
                answered_by = call.answered_by if call.ended else None
                placed.append(PlacedCall(call.sid, call.status, made, answered_by))
        return sorted(placed, key=lambda call: (call.created_at, call.sid))

    def delete_recording(self, recording_sid: str) -> None:
        """Remove a simulated recording (one already gone is no error, like the REST adapter)."""
        try:
            self.sim.delete_recording(recording_sid)
        except SimulatorError as exc:
            if exc.status != 404:
                raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc

    def find_number(self, phone_number: str) -> NumberConfig:
        """A number provisioned in the simulator (sim.numbers)."""
        number = self.sim.numbers.find(phone_number)
        if number is None:
            raise TelephonyError(f"the account has no number {phone_number}", status=404)
        return _config(number)

    def set_voice_fallback(self, number_sid: str, url: str, method: str) -> NumberConfig:
        """Update a simulated number's fallback URL."""
        try:
            number = self.sim.numbers.update(number_sid, voice_fallback_url=url, voice_fallback_method=method)
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc
        return _config(number)

    def fetch_recording(self, recording_sid: str) -> bytes:
        """The WAV bytes the simulator generated for a recording."""
        try:
            return self.sim.recording_audio(recording_sid)
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc

    def list_queues(self) -> list[CallQueue]:
        """The simulated account's call queues."""
        return self.sim.list_queues()

    def create_queue(self, name: str, max_size: int) -> CallQueue:
        """Create a simulated call queue of `max_size` callers."""
        try:
            return self.sim.create_queue(name, max_size)
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc

    def resize_queue(self, sid: str, max_size: int) -> CallQueue:
        """Change a simulated queue's MaxSize."""
        try:
            return self.sim.resize_queue(sid, max_size)
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc


def _config(number: PhoneNumber) -> NumberConfig:
    return NumberConfig(
        number.sid,
        number.phone_number,
        number.voice_url,
        number.voice_fallback_url,
        number.voice_fallback_method,
    )
