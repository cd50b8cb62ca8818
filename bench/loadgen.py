"""A light asyncio load generator: closed loop (N clients) and open loop (fixed arrival schedule)."""

# It writes prepared request bytes to plain asyncio streams and reads just enough of each answer to
# check it (status line, Content-Type, Content-Length, a piece of the body): no HTTP client library,
# so its own CPU per request stays small on the 2 cores it shares with the server under test.

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from calls import Prepared

REQUEST_TIMEOUT = 10.0  # seconds; a request slower than this counts as an error
MAX_IN_FLIGHT = 512  # open loop: beyond this many unanswered requests the server has fallen over
LATE_START = 0.005  # open loop: a request sent this long after its slot says the generator lagged


@dataclass
class Outcome:
    """What one run measured: latencies of good answers (seconds) and errors by kind."""

    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # the same latencies, per webhook
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    late_starts: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, pct: float, kind: str | None = None) -> float:
        """Nearest-rank percentile of the good answers (of one kind of webhook), in milliseconds."""
        return percentile_ms(self.latencies if kind is None else self.by_kind.get(kind, []), pct)


def percentile_ms(latencies: list[float], pct: float) -> float:
    """Nearest-rank percentile of latencies in seconds, in milliseconds; NaN for none."""
    if not latencies:
        return float("nan")
    ordered = sorted(latencies)
    rank = max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))
    return ordered[rank] * 1000


class BadAnswer(Exception):
    """The server answered, but not with 200 text/xml."""


class Connections:
    """Idle connections to reuse when the server keeps them alive (gunicorn's sync worker never does)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def exchange(self, request: Prepared) -> None:
        """Send one request and check its answer; raises BadAnswer or an I/O error."""
        if self.idle:
            reader, writer = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        reusable = False
        try:
            writer.write(request.raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status, headers = _parse_head(head)
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if status != 200:
                raise BadAnswer(f"HTTP {status}")
            if not headers.get("content-type", "").startswith("text/xml"):
                raise BadAnswer(f"content-type {headers.get('content-type', 'none')}")
            if request.expect not in body:
                raise BadAnswer(f"unexpected TwiML for {request.kind}")
            reusable = headers.get("connection", "").lower() != "close" and "content-length" in headers
        finally:
            if reusable:
                self.idle.append((reader, writer))
            else:
                writer.close()

    def close(self) -> None:
        for _reader, writer in self.idle:
            writer.close()
        self.idle.clear()


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if value:
            headers[name.strip().lower()] = value.strip()
    return status, headers


async def _timed(connections: Connections, request: Prepared, since: float, outcome: Outcome) -> None:
    """One request; its latency counts from `since` (when it should have been sent)."""
    try:
        await asyncio.wait_for(connections.exchange(request), REQUEST_TIMEOUT)
    except BadAnswer as bad:
        outcome.errors[str(bad)] += 1
    except TimeoutError:
        outcome.errors["timeout"] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
        outcome.errors[type(error).__name__] += 1
    else:
        latency = time.perf_counter() - since
        outcome.latencies.append(latency)
        outcome.by_kind.setdefault(request.kind, []).append(latency)


async def closed_loop(
    host: str, port: int, requests: Iterable[Prepared], clients: int, seconds: float
) -> Outcome:
    """`clients` clients, each sending its next request when its last one is answered, until time is up."""
    # Bounded twice: by the duration and by the finite `requests`, each sent once.
    outcome = Outcome()
    connections = Connections(host, port)
    feed = iter(requests)
    start = time.perf_counter()
    deadline = start + seconds

    async def client() -> None:
        for request in feed:  # a shared iterator: each prepared request is sent once
            if time.perf_counter() >= deadline:
                return
            await _timed(connections, request, time.perf_counter(), outcome)

    try:
        await asyncio.gather(*(client() for _ in range(clients)))
    finally:
        connections.close()
    outcome.elapsed = time.perf_counter() - start
    return outcome


async def open_loop(
    host: str, port: int, requests: Sequence[Prepared], rate: float, seconds: float
) -> Outcome:
    """Requests sent on a fixed schedule, `rate` a second, whatever the answers do."""
    # Latency counts from each request's slot, not from when it went out, so a server that falls
    # behind cannot hide it by slowing the sender (coordinated omission).
    outcome = Outcome()
    connections = Connections(host, port)
    count = min(len(requests), int(rate * seconds))
    interval = 1.0 / rate
    pending: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    try:
        for i in range(count):
            slot = start + i * interval
            delay = slot - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif -delay > LATE_START:
                outcome.late_starts += 1
            if len(pending) >= MAX_IN_FLIGHT:
                outcome.errors["too many in flight"] += 1
                continue
            task = asyncio.create_task(_timed(connections, requests[i], slot, outcome))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.wait(pending, timeout=REQUEST_TIMEOUT + 1)
    finally:
        for task in pending:
            task.cancel()
        connections.close()
    outcome.elapsed = time.perf_counter() - start
    return outcome
