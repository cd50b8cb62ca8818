"""After the fall of a surge: how the server answered second by second, and when it had recovered."""

# A window is the requests SENT in one second (or --window seconds) after the moment the offered rate fell;
# their latency is counted in the window they were sent in, so a slow answer cannot slip into a later one.
# Recovered: the first window from which on `hold` windows in a row had no new call (greeting) shed, no
# failed request, and a p99 under the bound. Shed queue waits are counted but do not stop recovery: a shed
# wait is the hold music once more, and the caller keeps their place.

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from loadgen import percentile_ms

NEW_CALL = "greeting"


@dataclass(frozen=True)
class Window:
    """The requests sent in one window after the fall."""

    start: float  # seconds after the fall
    sent: int
    good: int
    failed: int
    shed_new_calls: int
    shed_waits: int
    p50_ms: float
    p99_ms: float

    def healthy(self, bound_ms: float) -> bool:
        return self.shed_new_calls == 0 and self.failed == 0 and (self.sent == 0 or self.p99_ms < bound_ms)


@dataclass(frozen=True)
class Recovery:
    windows: list[Window]
    recovered_after: float | None  # seconds from the fall; None: never within the run
    relapses: int  # windows after the recovery that were not healthy again
    steady_after: float | None  # from when on every window was healthy, to the end; None: not even the last
    all_quiet_after: float | None  # from when on nothing at all was shed (waits included), to the end


def windows_after(
    records: list[tuple[float, float, str, bool, str]], fall: float, width: float, until: float
) -> list[Window]:
    """One Window per `width` seconds from `fall` to `until` (monotonic clock moments)."""
    count = max(0, math.ceil((until - fall) / width))
    buckets: list[list[tuple[float, str, bool, str]]] = [[] for _ in range(count)]
    for sent, latency, kind, ok, shed in records:
        index = int((sent - fall) // width)
        if 0 <= index < count:
            buckets[index].append((latency, kind, ok, shed))
    windows = []
    for index, bucket in enumerate(buckets):
        good = [latency for latency, _, ok, _ in bucket if ok]
        windows.append(
            Window(
                start=index * width,
                sent=len(bucket),
                good=len(good),
                failed=len(bucket) - len(good),
                shed_new_calls=sum(1 for _, kind, _, shed in bucket if shed and kind == NEW_CALL),
                shed_waits=sum(1 for _, kind, _, shed in bucket if shed and kind != NEW_CALL),
                p50_ms=percentile_ms(good, 50),
                p99_ms=percentile_ms(good, 99),
            )
        )
    return windows


def kinds_sent(records: list[tuple[float, float, str, bool, str]], start: float, end: float) -> Counter[str]:
    """How many requests of each webhook kind were sent between two moments."""
    return Counter(kind for sent, _, kind, _, _ in records if start <= sent < end)


def recovery(windows: list[Window], bound_ms: float, hold: int) -> Recovery:
    """When the server had recovered after the fall, and whether it stayed so."""
    recovered_at = None
    for index in range(len(windows) - hold + 1):
        if all(window.healthy(bound_ms) for window in windows[index : index + hold]):
            recovered_at = index
            break
    relapses = 0
    if recovered_at is not None:
        relapses = sum(1 for window in windows[recovered_at:] if not window.healthy(bound_ms))
    unhealthy = [index for index, window in enumerate(windows) if not window.healthy(bound_ms)]
    steady = 0 if not unhealthy else unhealthy[-1] + 1
    quiet = len(windows)
    while quiet > 0 and windows[quiet - 1].shed_new_calls + windows[quiet - 1].shed_waits == 0:
        quiet -= 1
    return Recovery(
        windows,
        None if recovered_at is None else windows[recovered_at].start,
        relapses,
        windows[steady].start if steady < len(windows) else None,
        windows[quiet].start if quiet < len(windows) else None,
    )
