"""The Telephony interface served in-process by the simulator."""

from __future__ import annotations

from ivr.telephony.base import TelephonyError
from ivr.telephony.simulator import Simulator, SimulatorError


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

    def fetch_recording(self, recording_sid: str) -> bytes:
        """The WAV bytes the simulator generated for a recording."""
        try:
            return self.sim.recording_audio(recording_sid)
        except SimulatorError as exc:
            raise TelephonyError(str(exc), status=exc.status, code=exc.code) from exc
