"""The hotline's local time for the floor: naive-UTC instants as local wall time, and back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_now(now: datetime, timezone: str) -> datetime:
    """A naive-UTC instant as an aware local time."""
    return now.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone))


def utc_of_local(moment: datetime, timezone: str) -> datetime:
    """A naive local wall time -> naive UTC."""
    return moment.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC).replace(tzinfo=None)
