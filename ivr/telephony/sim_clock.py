"""The simulator's clocks: simulated time (verbs advance it, nothing sleeps) and real time."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """Simulated time: verbs advance it, nothing ever sleeps."""

    def __init__(self, start: datetime | None = None) -> None:
        self.start = start or datetime(2024, 1, 1, tzinfo=UTC)
        self._seconds = 0.0

    def now(self) -> float:
        """Seconds elapsed since the clock started."""
        return self._seconds

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._seconds += max(0.0, seconds)

    def datetime(self) -> datetime:
        """The current simulated wall-clock time (UTC)."""
        return self.start + timedelta(seconds=self._seconds)


class RealTimeClock(SimClock):
    """Time that passes as it does for a real caller: each verb takes its seconds of wall-clock time.

    Used against a running server, whose own clock is the wall clock: a 60 s wait must last 60 s there too.
    `wake()` (a REST redirect or hangup arriving) cuts the current verb short, as Twilio does.
    """

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start or datetime.now(UTC))
        self._woken = threading.Event()

    def advance(self, seconds: float) -> None:
        """Wait `seconds` (less if woken meanwhile), then move time forward by what really passed."""
        # A wake before this verb began is not for it: the call checks for redirects between verbs.
        self._woken.clear()
        began = time.monotonic()
        self._woken.wait(max(0.0, seconds))
        super().advance(time.monotonic() - began)

    def wake(self) -> None:
        """End the current wait at once."""
        self._woken.set()
