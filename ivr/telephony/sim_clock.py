"""Simulated time for the simulator's calls: verbs advance it, nothing ever sleeps."""

from __future__ import annotations

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
