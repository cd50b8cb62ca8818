"""Benchmark of the hotline's call-flow webhooks against two baselines served by the same gunicorn."""

# .venv/bin/python bench/webhooks.py [--rounds 5] [--open-rounds 3] [--seconds 5] [--concurrency 16]
#                                    [--workers 2] [--generator auto]
# All three targets are served at once, each by gunicorn on a free loopback port, and warmed up. Then
# rounds: in each, the closed-loop peak of every target once, the order rotating from round to round, so
# the ratios compare figures taken seconds apart. Then latency in open-loop rounds, each target once per
# round at half the app's median peak. Prints a line per round, a table and the ratios, and writes
# bench/results/webhooks.json.
# See bench/README.md.

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
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
RUN_ORDER = (APP, BARE, SIGN_ROW)  # the order of round 0; each later round starts one further on
SHOW_ORDER = ["bare", "sign+row", "app"]
APP_PEAK_CEILING = 3000  # req/s, about twice the app's best seen on 2 cores: sizes its unique-request pools
SLOW_PREPARATION = 5.0  # seconds; preparing for longer is said, as it delays the first clock
BASELINE_POOL_CALLS = 2000  # the baselines do not care about repeats, so a small pool is sent round
WARMUP_CALLS = 100  # 300 requests: imports, the menu cache, SQLite pages and the pool all warmed
WARMUP_CLIENTS = 4
WARMUP_SECONDS = 5.0
PAUSE_SECONDS = 1.0  # lets the servers drain before each open loop
DRAIN_SECONDS = 0.5  # between peaks: wrk leaves at most --concurrency requests in flight, soon answered


@dataclass
class Plan:
    """The command line, and the load generator chosen for the closed loop."""

    rounds: int
    open_rounds: int
    seconds: float
    concurrency: int
    workers: int
    wrk: str | None  # the wrk binary, or None for the Python closed loop


@dataclass
class Served:
    """One target under test: where it is served, its files, and what it has been sent so far."""

    target: Target
    port: int
    workdir: Path
    env: dict[str, str]
    pools: list[list[Prepared]] = field(default_factory=list)  # the closed-loop requests of each round
    warmup: Outcome = field(default_factory=Outcome)
    peaks: list[Outcome] = field(default_factory=list)  # one per round
    steady: list[Outcome] = field(default_factory=list)  # one open loop per open-loop round
    open_rate: float = 0.0
    answered: int = 0  # good answers that must each have left one call event (the app's check)
    process: subprocess.Popen[bytes] | None = None  # gunicorn's master, while it serves

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def log(self) -> Path:
        return self.workdir / "gunicorn.log"


def _base_url(port: int) -> str:
    return f"http://{servers.HOST}:{port}"


def _requests(target: Target, port: int, calls: int) -> list[Prepared]:
    prepared = prepare_calls(_base_url(port), f"{servers.HOST}:{port}", targets.TOKEN, calls)
    return prepared if target is APP else expecting(prepared, targets.BARE_MARKER)


def _distinct_free_ports(count: int) -> list[int]:
    """Free ports, none twice: the kernel may offer a port again once its probe is closed."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := servers.free_port()) not in ports:
            ports.append(port)
    return ports


def _prepare(target: Target, port: int, workdirs: ExitStack) -> Served:
    """A temporary directory and the target's database."""
    prefix = f"bench-{target.name.replace('+', '-')}-"
    workdir = Path(workdirs.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    env = targets.environment(target, _base_url(port), workdir)
    targets.prepare(target, env)
    return Served(target, port, workdir, env)


def _pools(served: Served, rounds: int, unique_calls: int, shared_calls: int) -> list[list[Prepared]]:
    """Requests for each of `rounds` runs: fresh ones every round for the app, one shared pool otherwise."""
    if served.target.unique_requests:
        # Each request is sent at most once over the whole benchmark.
        return [_requests(served.target, served.port, unique_calls) for _ in range(rounds)]
    return [_requests(served.target, served.port, shared_calls)] * rounds  # the same list every round


def _say_if_slow(what: str, started: float) -> None:
    """How long preparing requests took, said only when it noticeably delays the measurements."""
    if (took := time.monotonic() - started) > SLOW_PREPARATION:
        print(f"  preparing the {what} requests took {took:.1f}s (before any clock started)", flush=True)


def _warm_up(served: Served) -> None:
    warm = _requests(served.target, served.port, WARMUP_CALLS)
    served.warmup = asyncio.run(closed_loop(servers.HOST, served.port, warm, WARMUP_CLIENTS, WARMUP_SECONDS))
    served.answered += served.warmup.ok


def _peak(plan: Plan, served: Served, pool: list[Prepared]) -> tuple[Outcome, float]:
    """One closed-loop peak, counted in `served`, and the server's CPU microseconds per answer in it;
    requests repeated from the pool are errors for the app."""
    unique = served.target.unique_requests
    assert served.process is not None
    cpu_before = servers.cpu_seconds(served.process)
    if plan.wrk:
        outcome, repeated = wrkload.closed_loop(
            plan.wrk, _base_url(served.port) + "/", pool, plan.concurrency, plan.seconds, served.workdir
        )
        if repeated and unique:
            outcome.errors["prepared requests ran out (repeats sent)"] += repeated
    else:
        # The Python closed loop sends each request once; a baseline's pool goes round, bounded in count.
        feed = pool if unique else islice(cycle(pool), int(plan.seconds * 20_000))
        outcome = asyncio.run(closed_loop(servers.HOST, served.port, feed, plan.concurrency, plan.seconds))
        repeated = 0
        if outcome.elapsed < plan.seconds * 0.95:
            outcome.errors["prepared requests ran out before the time was up"] += 1
    cpu = servers.cpu_seconds(served.process) - cpu_before
    served.peaks.append(outcome)
    served.answered += outcome.ok - repeated  # a repeat is a de-duplicated no-op: it stores nothing
    return outcome, round(cpu / max(1, outcome.ok + outcome.error_count) * 1e6, 1)


def _round_order(index: int) -> tuple[Target, ...]:
    """RUN_ORDER rotated by `index`, so no target always runs first or last in its round; every other
    cycle of rotations backwards, so each target also follows each of the others as often."""
    shift = index % len(RUN_ORDER)
    order = RUN_ORDER[shift:] + RUN_ORDER[:shift]
    return order[::-1] if (index // len(RUN_ORDER)) % 2 else order


def _settle(seconds: float) -> None:
    """Before a measured run: let the last one's answers drain, then write out what it left dirty in the
    kernel's page cache (os.sync), so the flush of one target's writes does not land in the next run."""
    time.sleep(seconds)
    os.sync()


def _run_round(plan: Plan, index: int, served: dict[str, Served]) -> report.Round:
    """The peak of each target once, in this round's order; meanwhile the other two idle, at no cost."""
    order = _round_order(index)
    rates, cpu_us = {}, {}
    for position, target in enumerate(order):
        if position:
            _settle(DRAIN_SECONDS)
        s = served[target.name]
        outcome, cpu_us[target.name] = _peak(plan, s, s.pools[index])
        rates[target.name] = round(outcome.rate, 1)
    return report.Round([target.name for target in order], rates, cpu_us)


def _run_open_round(
    plan: Plan, index: int, served: dict[str, Served], fixed: dict[str, list[list[Prepared]]]
) -> report.OpenRound:
    """The open loop of each target once at the same fixed rate, in this round's order."""
    done = report.OpenRound([target.name for target in _round_order(index)])
    for name in done.order:
        s = served[name]
        _settle(PAUSE_SECONDS)
        outcome = asyncio.run(open_loop(servers.HOST, s.port, fixed[name][index], s.open_rate, plan.seconds))
        s.steady.append(outcome)
        s.answered += outcome.ok
        figures = report.Figures.of(outcome)
        done.p50_ms[name], done.p99_ms[name] = figures.p50_ms, figures.p99_ms
    return done


def _open_rounds(plan: Plan, served: dict[str, Served], rate: float) -> list[report.OpenRound]:
    """Open-loop rounds at `rate`; every round's requests prepared first, while all servers idle."""
    started = time.monotonic()
    calls = math.ceil(rate * plan.seconds / 3)
    fixed = {name: _pools(s, plan.open_rounds, calls, calls) for name, s in served.items()}
    _say_if_slow("open-loop", started)
    for s in served.values():
        s.open_rate = rate
    # The pools just made are tens of thousands of new objects: the garbage collector's next full pass
    # would walk them all in the middle of the first open loop, whose sender then falls behind its
    # schedule, and that counts as the target's latency. Collected now and set aside, they never are.
    gc.collect()
    gc.freeze()
    rounds = []
    try:
        for index in range(plan.open_rounds):
            started = time.monotonic()
            rounds.append(_run_open_round(plan, index, served, fixed))
            line = report.open_round_line(index, plan.open_rounds, rounds[-1], SHOW_ORDER)
            print(f"  {line} ({time.monotonic() - started:.0f}s)", flush=True)
    finally:
        gc.unfreeze()
    return rounds


def _result(served: Served) -> report.TargetResult:
    """A target's figures; for the app also what it stored, read once its server has stopped."""
    rounds = [report.Figures.of(outcome) for outcome in served.peaks]
    open_rounds = [report.Figures.of(outcome) for outcome in served.steady]
    result = report.TargetResult(
        served.name,
        report.Figures.median_of(rounds, report.slowest_first),
        report.Figures.median_of(open_rounds, report.highest_p99_first),
        round(served.open_rate, 1),
        rounds=rounds,
        open_rounds=open_rounds,
        warmup_errors=dict(served.warmup.errors),
        late_starts=sum(outcome.late_starts for outcome in served.steady),
    )
    if served.target is APP:
        result.notes += targets.app_findings(served.workdir, served.log, served.answered)
    return result


def measure(plan: Plan) -> tuple[dict[str, report.TargetResult], list[report.Round], list[report.OpenRound]]:
    """Serve all three targets at once, warm them up, run the peak rounds and then the open-loop rounds."""
    rounds: list[report.Round] = []
    with ExitStack() as workdirs:
        ports = _distinct_free_ports(len(RUN_ORDER))
        served = {t.name: _prepare(t, port, workdirs) for t, port in zip(RUN_ORDER, ports, strict=True)}
        started = time.monotonic()
        unique_calls = math.ceil(plan.seconds * APP_PEAK_CEILING / 3)
        for s in served.values():
            s.pools = _pools(s, plan.rounds, unique_calls, BASELINE_POOL_CALLS)
        _say_if_slow("peak rounds'", started)
        with ExitStack() as running:
            for s in served.values():
                s.process = running.enter_context(
                    servers.gunicorn(s.target.factory, s.port, plan.workers, s.env, targets.REPO, s.log)
                )
            for s in served.values():
                _warm_up(s)
            for index in range(plan.rounds):
                _settle(DRAIN_SECONDS)
                started = time.monotonic()
                rounds.append(_run_round(plan, index, served))
                line = report.round_line(index, plan.rounds, rounds[-1], SHOW_ORDER)
                print(f"  {line} ({time.monotonic() - started:.0f}s)", flush=True)
            for s in served.values():
                # The open loops run in this process: a full garbage collection walking the ~90,000
                # spent requests would stall their schedule for tens of milliseconds.
                s.pools.clear()
            rate = max(1.0, statistics.median(r.rates["app"] for r in rounds) / 2)
            print(f"  open loops at {rate:.1f} req/s (half the app's median peak)", flush=True)
            open_rounds = _open_rounds(plan, served, rate)
        # The servers have stopped (and written what they held): the app's files can now be checked.
        results = {name: _result(s) for name, s in served.items()}
    return results, rounds, open_rounds


def _arguments(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of closed-loop peaks, one per target")
    parser.add_argument("--open-rounds", type=int, default=3, help="rounds of open loops, one per target")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run")
    parser.add_argument("--concurrency", type=int, default=16, help="clients of the closed loop")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers of every target")
    parser.add_argument(
        "--generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="closed-loop load generator: wrk (installed if missing) or the Python one",
    )
    args = parser.parse_args(argv)
    if not (
        1 <= args.rounds <= 20
        and 1 <= args.open_rounds <= 20
        and 1 <= args.seconds <= 120
        and 1 <= args.concurrency <= 256
        and 1 <= args.workers <= 16
    ):
        parser.error(
            "keep --rounds and --open-rounds in 1..20, --seconds in 1..120, --concurrency in 1..256,"
            " --workers in 1..16"
        )
    notes: list[str] = []
    wrk = wrkload.ensure_wrk(notes) if args.generator != "python" else None
    for note in notes:
        print(note)
    if args.generator == "wrk" and wrk is None:
        parser.error("wrk asked for but not available")
    return Plan(args.rounds, args.open_rounds, args.seconds, args.concurrency, args.workers, wrk)


def _print_details(results: dict[str, report.TargetResult]) -> None:
    """Errors by run, the app's latency by webhook, late sends and the app's findings."""
    for name in SHOW_ORDER:
        r = results[name]
        runs = [("warm-up", r.warmup_errors)]
        runs += [(f"peak round {i + 1}", figures.error_kinds) for i, figures in enumerate(r.rounds)]
        runs += [(f"open-loop round {i + 1}", figures.error_kinds) for i, figures in enumerate(r.open_rounds)]
        for run, kinds in runs:
            if kinds:
                print(f"{name} {run} errors: {kinds}")
        if name == "app" and r.open_loop.by_webhook:
            print(f"app open loop p50/p99 by webhook (its median round): {report.by_webhook(r.open_loop)}")
        if r.late_starts:
            print(f"{name}: the generator started {r.late_starts} open-loop requests late (> 5 ms)")
        for note in r.notes:
            print(f"{name}: {note}")


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and the open loops, print the table and the ratios, write the JSON."""
    plan = _arguments(argv)
    generator = "wrk closed loop + Python asyncio open loop" if plan.wrk else "Python asyncio, both loops"
    print(
        f"{plan.rounds} rounds of {plan.seconds:g}s peaks, then {plan.open_rounds} rounds of"
        f" {plan.seconds:g}s open loops; {plan.concurrency} clients, {plan.workers} sync workers;"
        f" generator: {generator}",
        flush=True,
    )
    results, rounds, open_rounds = measure(plan)
    print()
    print(report.table(results, SHOW_ORDER))
    print(f"peak: median of {plan.rounds} rounds; its p50/p99 those of the target's median round")
    print(f"open: {plan.open_rounds} rounds; its p50/p99 those of the target's median round by p99")
    print()
    for line in report.summary(results, rounds):
        print(line)
    _print_details(results)
    settings = {
        "rounds": plan.rounds,
        "open_rounds": plan.open_rounds,
        "seconds": plan.seconds,
        "concurrency": plan.concurrency,
        "workers": plan.workers,
        "generator": generator,
        "worker_class": "sync",
        "host": servers.HOST,
    }
    report.write_json(RESULTS, settings, results, rounds, open_rounds)
    print(f"\nwritten {RESULTS.relative_to(targets.REPO)}")
    errors = sum(r.error_count for r in results.values())
    print(f"total errors (answers not 200 text/xml with the expected TwiML, or none): {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
