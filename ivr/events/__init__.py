"""The event store: each webhook's facts appended once, projected into the records, spooled if need be.

Use cases store their events with `append` (ivr/events/recorder.py), the one call of the hot path."""

from ivr.events.recorder import append

__all__ = ["append"]
