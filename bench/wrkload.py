"""Closed-loop load with wrk: a Lua script cycles through the prepared signed requests."""

# wrk is C and event-driven, so it takes far less of the shared 2 cores than a Python client does;
# that matters most for the bare baseline, whose figure is the denominator of every ratio.

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from calls import Prepared
from loadgen import Outcome

APT_TIMEOUT = 180  # seconds for each apt-get step; a hung mirror must not hang the benchmark

# One wrk thread: its event loop alone keeps 16 connections busy, and a second would only take CPU
# from the server. `id`-free on purpose: with one thread there is one Lua state and one request file.
LUA = r"""
-- Sends the prepared requests in order (wrapping round, counted, if they run out) and counts every
-- answer that is not 200 text/xml holding one of the expected pieces of TwiML.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests, markers, sent, bad = {}, {}, 0, 0
  local file = assert(io.open(args[1], "rb"))
  while true do
    local size = file:read("*l")
    if not size then break end
    table.insert(requests, file:read(tonumber(size)))
  end
  file:close()
  for i = 2, #args do table.insert(markers, args[i]) end
  pool_size = #requests
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

local function expected(body)
  for _, marker in ipairs(markers) do
    if string.find(body, marker, 1, true) then return true end
  end
  return false
end

function response(status, headers, body)
  local ctype = headers["Content-Type"] or headers["content-type"] or ""
  if status ~= 200 or string.sub(ctype, 1, 8) ~= "text/xml" or not expected(body) then
    bad = bad + 1
  end
end

function done(summary, latency, _)
  local total_bad, repeated = 0, 0
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    repeated = repeated + math.max(0, thread:get("sent") - thread:get("pool_size"))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "bad": %d, "repeated": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, total_bad, repeated, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def ensure_wrk(log: list[str]) -> str | None:
    """The wrk binary, installing Debian's package if it is missing and we may; None if it cannot be had."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get"):
        return found
    install = ["apt-get", "install", "-y", "wrk"]
    for step in (install, ["apt-get", "update"], install):  # the package lists may be missing or stale
        try:
            result = subprocess.run(step, capture_output=True, timeout=APT_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            log.append(f"{' '.join(step)}: {error}")
            return None
        if step[1] == "install" and result.returncode == 0:
            log.append("installed wrk from Debian's packages")
            return shutil.which("wrk")
    log.append("could not install wrk (not root, or the package is not to be had)")
    return None


def closed_loop(
    wrk: str, url: str, requests: Sequence[Prepared], clients: int, seconds: float, workdir: Path
) -> tuple[Outcome, int]:
    """wrk's figures for `seconds` of `clients` connections, and how many prepared requests it repeated."""
    script, pool = workdir / "cycle.lua", workdir / "requests.bin"
    script.write_text(LUA)
    with pool.open("wb") as out:
        for request in requests:
            out.write(b"%d\n" % len(request.raw) + request.raw)
    markers = sorted({request.expect.decode() for request in requests})
    command = [
        wrk,
        "--threads",
        "1",
        "--connections",
        str(clients),
        "--duration",
        f"{seconds:g}s",
        "--timeout",
        "10s",
        "--script",
        str(script),
        url,
        "--",
        str(pool),
        *markers,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH-JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stdout[-800:]} {result.stderr[-800:]}")
    figures = json.loads(line.removeprefix("BENCH-JSON "))
    return _outcome(figures), int(figures["repeated"])


class WrkOutcome(Outcome):
    """An Outcome whose percentiles come from wrk's histogram instead of a list of latencies."""

    def __init__(self, answered: int, elapsed: float, p50_ms: float, p99_ms: float) -> None:
        super().__init__(elapsed=elapsed)
        self.answered = answered
        self.fixed = {50.0: p50_ms, 99.0: p99_ms}

    @property
    def ok(self) -> int:
        return self.answered

    def percentile_ms(self, pct: float, kind: str | None = None) -> float:
        return self.fixed[pct] if kind is None else math.nan  # wrk cannot tell the webhooks apart


def _outcome(figures: dict[str, int]) -> Outcome:
    outcome = WrkOutcome(
        answered=figures["requests"] - figures["bad"],
        elapsed=figures["duration_us"] / 1e6,
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )
    names = {
        "bad": "not 200 text/xml with the expected TwiML",
        "connect": "connect",
        "read": "read",
        "write": "write",
        "timeout": "timeout",
    }
    for kind, name in names.items():
        if figures[kind]:
            outcome.errors[name] = figures[kind]
    return outcome
