"""Benchmark of the hotline's call-flow webhooks against two baselines served by the same gunicorn."""

# .venv/bin/python bench/webhooks.py [--seconds 10] [--concurrency 16] [--workers 2] [--generator auto]
# For each target: gunicorn on a free loopback port, a warm-up, peak throughput with a closed loop, then
# latency with an open loop at half the app's peak rate. Prints a table and the ratios and writes
# bench/results/webhooks.json. See bench/README.md.

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import cycle, islice
from pathlib import Path

import report
import servers
import targets
import wrkload
from calls import Prepared, expecting, prepare_calls
from loadgen import Outcome, closed_loop, open_loop
from targets import APP, BARE, SIGN_ROW, Target

RESULTS = targets.REPO / "bench" / "results" / "webhooks.json"
RUN_ORDER = (APP, BARE, SIGN_ROW)  # the app first: its peak sets the open-loop rate for all three
SHOW_ORDER = ["bare", "sign+row", "app"]
APP_PEAK_CEILING = 1500  # req/s no 2-core box will reach with the hotline: sizes its unique-request pool
BASELINE_POOL_CALLS = 2000  # the baselines do not care about repeats, so a small pool is sent round
WARMUP_CALLS = 100  # 300 requests: imports, the menu cache, SQLite pages and the pool all warmed
WARMUP_CLIENTS = 4
WARMUP_SECONDS = 5.0
PAUSE_SECONDS = 1.0  # lets the server drain between the peak and the open-loop run


@dataclass
class Plan:
    """The command line, and the load generator chosen for the closed loop."""

    seconds: float
    concurrency: int
    workers: int
    wrk: str | None  # the wrk binary, or None for the Python closed loop


def _base_url(port: int) -> str:
    return f"http://{servers.HOST}:{port}"


def _requests(target: Target, port: int, calls: int) -> list[Prepared]:
    prepared = prepare_calls(_base_url(port), f"{servers.HOST}:{port}", targets.TOKEN, calls)
    return prepared if target is APP else expecting(prepared, targets.BARE_MARKER)


def _peak(plan: Plan, target: Target, port: int, workdir: Path) -> tuple[Outcome, int]:
    """Closed-loop peak; also how many requests had to be repeated (0 unless the pool ran out)."""
    calls = math.ceil(plan.seconds * APP_PEAK_CEILING / 3) if target.unique_requests else BASELINE_POOL_CALLS
    pool = _requests(target, port, calls)
    if plan.wrk:
        outcome, repeated = wrkload.closed_loop(
            plan.wrk, _base_url(port) + "/", pool, plan.concurrency, plan.seconds, workdir
        )
        if repeated and target.unique_requests:
            outcome.errors["prepared requests ran out (repeats sent)"] += repeated
        return outcome, repeated
    # The Python closed loop sends each request once; a baseline's pool goes round, bounded in count.
    feed = pool if target.unique_requests else islice(cycle(pool), int(plan.seconds * 20_000))
    outcome = asyncio.run(closed_loop(servers.HOST, port, feed, plan.concurrency, plan.seconds))
    if outcome.elapsed < plan.seconds * 0.95:
        outcome.errors["prepared requests ran out before the time was up"] += 1
    return outcome, 0


def run_target(plan: Plan, target: Target, open_rate: float | None) -> tuple[report.TargetResult, float]:
    """Serve one target and measure it; returns its result and the open-loop rate used."""
    port = servers.free_port()
    with tempfile.TemporaryDirectory(prefix=f"bench-{target.name.replace('+', '-')}-") as tmp:
        workdir = Path(tmp)
        env = targets.environment(target, _base_url(port), workdir)
        targets.prepare(target, env)
        log = workdir / "gunicorn.log"
        warm = _requests(target, port, WARMUP_CALLS)
        with servers.gunicorn(target.factory, port, plan.workers, env, targets.REPO, log):
            warmed = asyncio.run(closed_loop(servers.HOST, port, warm, WARMUP_CLIENTS, WARMUP_SECONDS))
            peak, repeated = _peak(plan, target, port, workdir)
            rate = open_rate or max(1.0, peak.rate / 2)
            # Prepared while the server idles, so preparing costs the measured runs nothing.
            fixed = _requests(target, port, math.ceil(rate * plan.seconds / 3))
            time.sleep(PAUSE_SECONDS)
            steady = asyncio.run(open_loop(servers.HOST, port, fixed, rate, plan.seconds))
        result = report.TargetResult(
            target.name,
            report.Figures.of(peak),
            report.Figures.of(steady),
            round(rate, 1),
            warmup_errors=dict(warmed.errors),
            late_starts=steady.late_starts,
        )
        if target is APP:
            answered = warmed.ok + peak.ok - repeated + steady.ok
            result.notes += targets.app_findings(workdir, log, answered)
    return result, rate


def _arguments(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    parser.add_argument("--concurrency", type=int, default=16, help="clients of the closed loop")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers of every target")
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator: wrk (installed if missing) or the Python one",
    )
    args = parser.parse_args(argv)
    if not (1 <= args.seconds <= 120 and 1 <= args.concurrency <= 256 and 1 <= args.workers <= 16):
        parser.error("keep --seconds in 1..120, --concurrency in 1..256, --workers in 1..16")
    notes: list[str] = []
    wrk = wrkload.ensure_wrk(notes) if args.generator != "python" else None
    for note in notes:
        print(note)
    if args.generator == "wrk" and wrk is None:
        parser.error("wrk asked for but not available")
    return Plan(args.seconds, args.concurrency, args.workers, wrk)


def main(argv: list[str] | None = None) -> int:
    """Run all three targets, print the table and the ratios, write the JSON."""
    plan = _arguments(argv)
    generator = "wrk closed loop + Python asyncio open loop" if plan.wrk else "Python asyncio, both loops"
    print(
        f"{plan.seconds:g}s runs, {plan.concurrency} clients, {plan.workers} sync workers;"
        f" generator: {generator}"
    )
    results: dict[str, report.TargetResult] = {}
    open_rate: float | None = None
    for target in RUN_ORDER:
        started = time.monotonic()
        result, open_rate = run_target(plan, target, open_rate)
        results[target.name] = result
        print(
            f"  {target.name}: peak {result.peak.rate:.1f} req/s, open loop at {open_rate:.1f} req/s"
            f" ({time.monotonic() - started:.0f}s)",
            flush=True,
        )
    print()
    print(report.table(results, SHOW_ORDER))
    print()
    for line in report.summary(results):
        print(line)
    for name in SHOW_ORDER:
        r = results[name]
        for run, kinds in (
            ("warm-up", r.warmup_errors),
            ("peak", r.peak.error_kinds),
            ("open loop", r.open_loop.error_kinds),
        ):
            if kinds:
                print(f"{name} {run} errors: {kinds}")
        if name == "app" and r.open_loop.by_webhook:
            print(f"app open loop p50/p99 by webhook: {report.by_webhook(r.open_loop)}")
        if r.late_starts:
            print(f"{name}: the generator started {r.late_starts} open-loop requests late (> 5 ms)")
        for note in r.notes:
            print(f"{name}: {note}")
    settings = {
        "seconds": plan.seconds,
        "concurrency": plan.concurrency,
        "workers": plan.workers,
        "generator": generator,
        "worker_class": "sync",
        "host": servers.HOST,
    }
    report.write_json(RESULTS, settings, results)
    print(f"\nwritten {RESULTS.relative_to(targets.REPO)}")
    errors = sum(r.error_count for r in results.values())
    print(f"total errors (answers not 200 text/xml with the expected TwiML, or none): {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
