"""Storm benchmark: N callers entering over T seconds, played as Twilio would, against a real server."""

# .venv/bin/python bench/storm.py [--server run|serve-pg|gunicorn-pg] [--callers 10000] [--seconds 60]
#                                 [--leak-share 0.02] [--agents 20] [--handle 60:180] [--patience 30:120]
#                                 [--shape steady|surge] [--after-rate 0] [--after-seconds 120]
# --shape surge: 20,000 callers in 60 s (past capacity), then the offered rate falls to a trickle the server
# can carry (--after-rate callers a second for --after-seconds); it prints every second after the fall and
# when the server had recovered (bench/storm_recovery.py).
# First a baseline in the same run: the load generator's own ceiling against a bare Flask app (fixed TwiML,
# gunicorn -w 2). Then the server under test, on a fresh database, with Twilio's REST API served by a
# stand-in in this process, and the callers. Prints a line every 10 s, then the figures; writes
# bench/results/storm-<server>.json. See bench/README.md ("Storm").

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import servers
import storm_server
import targets
from aiohttp import web
from calls import expecting, prepare_calls
from loadgen import closed_loop, percentile_ms
from storm_recovery import kinds_sent, recovery, windows_after
from storm_twilio import PERSON_WITHIN, Caller, Storm, rest_app

RESULTS = targets.REPO / "bench" / "results"
PG_URL = "postgresql+psycopg://hotline:hotline@127.0.0.1:5432/hotline_bench"
TIMELINE_SECONDS = 10.0
GRACE_SECONDS = 30.0  # after the last caller's patience: then only callers talking to a person remain
KINDS = [
    "greeting",
    "menu",
    "wait",
    "queue-exit",
    "queue-exit-notify",
    "connect",
    "agent-leg",
    "agent-result",
    "dial-result",
    "rescue",
    "fallback",
    "status",
]


@dataclass(frozen=True)
class Plan:
    server: str
    callers: int
    seconds: float
    leak_share: float
    agents: int
    handle: tuple[float, float]
    patience: tuple[float, float]
    baseline_seconds: float
    database_url: str
    seed: int
    after_rate: float = 0.0  # callers a second after the fall (at `seconds`); 0: no fall, the steady storm
    after_seconds: float = 0.0
    window: float = 1.0  # seconds per window after the fall
    bound_ms: float = 500.0  # recovered: p99 under this, no new call shed, nothing failed...
    hold: int = 5  # ... for this many windows in a row

    @property
    def after_callers(self) -> int:
        return round(self.after_rate * self.after_seconds)

    @property
    def arrivals_end(self) -> float:
        return self.seconds + (self.after_seconds if self.after_callers else 0.0)


def main() -> None:
    plan = _parse(sys.argv[1:])
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # thousands of callers hold a socket each
    with tempfile.TemporaryDirectory(prefix="storm-") as scratch:
        workdir = Path(scratch)
        baseline = _baseline(plan, workdir) if plan.baseline_seconds > 0 else None
        result = asyncio.run(_storm(plan, workdir))
    result["baseline"] = baseline
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"storm-{plan.server}.json").write_text(json.dumps(result, indent=1, default=str))
    print(f"\nwritten: {RESULTS / f'storm-{plan.server}.json'}")


def _parse(argv: list[str]) -> Plan:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=["run", "serve-pg", "gunicorn-pg"], default="run")
    parser.add_argument("--callers", type=int, default=None, help="[10000; surge: 20000]")
    parser.add_argument("--seconds", type=float, default=60.0, help="callers enter over this many seconds")
    parser.add_argument("--leak-share", type=float, default=0.02, help="share of callers pressing 2")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--handle", default="60:180", help="an agent's handling time, MIN:MAX seconds")
    parser.add_argument("--patience", default="30:120", help="a general caller hangs up after MIN:MAX s")
    parser.add_argument("--baseline-seconds", type=float, default=5.0, help="0: no baseline")
    parser.add_argument("--database-url", default=None, help=f"the -pg servers' database [default: {PG_URL}]")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--shape",
        choices=["steady", "surge"],
        default="steady",
        help="surge: --callers 20000 --after-rate 20 unless given (past capacity, then a fall)",
    )
    parser.add_argument("--after-rate", type=float, default=None, help="callers/s after the fall [surge: 20]")
    parser.add_argument("--after-seconds", type=float, default=120.0, help="how long the trickle lasts")
    parser.add_argument("--window", type=float, default=1.0, help="seconds per window after the fall")
    parser.add_argument("--bound-ms", type=float, default=500.0, help="recovered: p99 under this")
    parser.add_argument("--hold", type=int, default=5, help="recovered: for this many windows in a row")
    args = parser.parse_args(argv)
    surge = args.shape == "surge"
    if args.callers is None:
        args.callers = 20_000 if surge else 10_000
    if args.after_rate is None:
        args.after_rate = 20.0 if surge else 0.0
    if args.callers < 1 or args.seconds <= 0 or not 0 <= args.leak_share <= 1 or args.agents < 1:
        parser.error("--callers and --agents must be at least 1, --seconds over 0, --leak-share 0 to 1")
    if args.after_rate < 0 or args.after_seconds < 0 or args.window <= 0 or args.hold < 1:
        parser.error("--after-rate and --after-seconds at least 0, --window over 0, --hold at least 1")
    return Plan(
        args.server,
        args.callers,
        args.seconds,
        args.leak_share,
        args.agents,
        _span(args.handle),
        _span(args.patience),
        args.baseline_seconds,
        args.database_url or PG_URL,
        args.seed,
        args.after_rate,
        args.after_seconds if args.after_rate > 0 else 0.0,
        args.window,
        args.bound_ms,
        args.hold,
    )


def _span(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    return float(low), float(high or low)


# ---------------------------------------------------------------- the baseline


def _baseline(plan: Plan, workdir: Path) -> dict[str, float]:
    """This load generator's ceiling on this machine: a bare Flask app, fixed TwiML, gunicorn -w 2."""
    port = servers.free_port()
    base_url = f"http://{servers.HOST}:{port}"
    env = targets.environment(targets.BARE, base_url, workdir)
    requests = expecting(
        prepare_calls(base_url, f"{servers.HOST}:{port}", targets.TOKEN, 4000), targets.BARE_MARKER
    )
    with servers.gunicorn(targets.BARE.factory, port, 2, env, targets.REPO, workdir / "bare.log"):
        asyncio.run(closed_loop(servers.HOST, port, requests[:300], 4, 2.0))  # warm-up
        outcome = asyncio.run(closed_loop(servers.HOST, port, requests, 16, plan.baseline_seconds))
    figures = {
        "rate": outcome.rate,
        "p50_ms": outcome.percentile_ms(50),
        "p99_ms": outcome.percentile_ms(99),
        "errors": outcome.error_count,
    }
    print(
        f"baseline: bare Flask (fixed TwiML, gunicorn -w 2), this generator's closed loop, 16 clients, "
        f"{plan.baseline_seconds:.0f} s: {outcome.rate:,.0f} req/s, p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, {outcome.error_count} errors"
    )
    return figures


# ---------------------------------------------------------------- the storm


async def _storm(plan: Plan, workdir: Path) -> dict[str, object]:
    port = servers.free_port()
    database_url = f"sqlite:///{workdir / 'hotline.db'}" if plan.server == "run" else plan.database_url
    storm = Storm(
        base_url=f"http://{servers.HOST}:{port}",
        token=storm_server.TOKEN,
        account_sid=storm_server.ACCOUNT_SID,
        duty_number=storm_server.DUTY_NUMBER,
        leak_share=plan.leak_share,
        handle_seconds=plan.handle,
        patience_seconds=plan.patience,
    )
    runner = web.AppRunner(rest_app(storm), access_log=None)
    await runner.setup()
    rest_port = servers.free_port()
    await web.TCPSite(runner, servers.HOST, rest_port).start()
    env = storm_server.environment(database_url, workdir, port, f"http://{servers.HOST}:{rest_port}")
    try:
        await asyncio.to_thread(storm_server.prepare, env, workdir, plan.agents)
        served = await asyncio.to_thread(storm_server.start, plan.server, env, workdir, port)
        try:
            with storm_server.Watch([p.pid for p in served.processes]) as memory:
                started, cpu = time.monotonic(), time.process_time()
                cut, fall = await _callers(plan, storm)
                elapsed = time.monotonic() - started
                storm.generator_cpu = time.process_time() - cpu
        finally:
            await asyncio.to_thread(storm_server.stop, served)
    finally:
        await runner.cleanup()
    dispatcher = storm_server.dispatcher_figures(database_url)
    notes = storm_server.log_findings(served.logs)
    RESULTS.mkdir(exist_ok=True)
    for log in served.logs:  # kept: the scratch directory goes
        shutil.copyfile(log, RESULTS / f"storm-{plan.server}-{log.name}")
    out = _report(plan, storm, memory, dispatcher, notes, elapsed, cut)
    if plan.after_callers:
        out["recovery"] = _recovery_report(plan, storm, fall)
    return out


def arrival_offsets(plan: Plan) -> list[float]:
    """Each caller's entry, seconds from the start: `callers` evenly over `seconds`, then the trickle."""
    offsets = [index * plan.seconds / plan.callers for index in range(plan.callers)]
    if plan.after_callers:
        gap = 1.0 / plan.after_rate
        offsets += [plan.seconds + index * gap for index in range(plan.after_callers)]
    return offsets


async def _callers(plan: Plan, storm: Storm) -> tuple[int, float]:
    """Callers enter as the plan says; returns how many were still talking when it ended, and the moment
    (monotonic) the offered rate fell: the end of the plan's `seconds`."""
    rng = random.Random(plan.seed)
    offsets = arrival_offsets(plan)
    leaks = set(rng.sample(range(len(offsets)), round(len(offsets) * plan.leak_share)))
    tasks: list[asyncio.Task[None]] = []
    start = time.monotonic()
    ticker = asyncio.create_task(_timeline(storm, start))
    for index, offset in enumerate(offsets):
        delay = start + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        storm.arrival_lag = max(storm.arrival_lag, -delay)
        caller = Caller(storm, index, index in leaks, random.Random(rng.random()))
        tasks.append(asyncio.create_task(caller.run()))
    # The callers wait out their patience; then only calls with a person (agent or duty engineer) remain.
    until = start + plan.arrivals_end + plan.patience[1] + GRACE_SECONDS
    while any(not task.done() for task in tasks):
        talking_only = all(caller.talking for caller in storm.callers.values())
        if time.monotonic() > until and talking_only:
            break
        await asyncio.sleep(1.0)
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    ticker.cancel()
    return len(pending), start + plan.seconds


async def _timeline(storm: Storm, start: float) -> None:
    """A line every TIMELINE_SECONDS: what was offered and answered, and how fast, in that stretch."""
    print(
        f"{'t (s)':>6} {'sent/s':>7} {'good/s':>7} {'failed':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'on line':>8} {'queued':>7} {'shed':>6}"
    )
    sent_seen = answered_seen = shed_seen = 0
    while True:
        await asyncio.sleep(TIMELINE_SECONDS)
        sent = len(storm.sent) - sent_seen
        window = storm.answered[answered_seen:]
        sent_seen, answered_seen = len(storm.sent), len(storm.answered)
        shed, shed_seen = sum(storm.shed.values()) - shed_seen, sum(storm.shed.values())
        good = [latency for _, latency, ok in window if ok]
        queued = sum(len(line) for line in storm.queues.values())
        print(
            f"{time.monotonic() - start:6.0f} {sent / TIMELINE_SECONDS:7.0f} "
            f"{len(good) / TIMELINE_SECONDS:7.0f} {len(window) - len(good):7d} "
            f"{percentile_ms(good, 50):8.0f} {percentile_ms(good, 99):8.0f} {len(storm.callers):8d} "
            f"{queued:7d} {shed:6d}",
            flush=True,
        )


# ---------------------------------------------------------------- the figures


def _report(
    plan: Plan,
    storm: Storm,
    memory: storm_server.Memory,
    dispatcher: storm_server.Dispatcher,
    notes: list[str],
    elapsed: float,
    cut: int,
) -> dict[str, object]:
    out: dict[str, object] = {"plan": plan.__dict__}
    good = sum(len(v) for v in storm.latencies.values())
    failed = sum(storm.failures.values())
    load_end = plan.arrivals_end + plan.patience[1]  # callers come and wait; then calls wind down
    trickle = (
        f", then {plan.after_callers:,} more at {plan.after_rate:g}/s over {plan.after_seconds:.0f} s"
        if plan.after_callers
        else ""
    )
    print(
        f"\nstorm against --server {plan.server}: {plan.callers:,} callers over {plan.seconds:.0f} s"
        f"{trickle} "
        f"({plan.leak_share:.0%} gas leak), {plan.agents} agents, handling {plan.handle[0]:.0f}-"
        f"{plan.handle[1]:.0f} s, patience {plan.patience[0]:.0f}-{plan.patience[1]:.0f} s; "
        f"ran {elapsed:.0f} s"
    )
    print(
        f"requests: {len(storm.sent):,} sent, {good:,} good, {failed:,} failed, "
        f"{storm.invalid_twiml} invalid TwiML; offered {len(storm.sent) / elapsed:.0f} req/s and served "
        f"{good / elapsed:.0f} req/s over the whole run; busiest 10 s: {_peak(storm.sent)} sent/s, "
        f"{_peak([done for done, _, ok in storm.answered if ok])} good/s (the load lasts ~{load_end:.0f} s)"
    )
    print(f"\n{'webhook':<18} {'good':>7} {'failed':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    per_kind = {}
    seen = set(storm.latencies) | {failure.split(":", 1)[0] for failure in storm.failures}
    for kind in [k for k in KINDS if k in seen] + sorted(seen - set(KINDS)):
        latencies = storm.latencies.get(kind, [])
        kind_failed = sum(n for f, n in storm.failures.items() if f.startswith(kind + ":"))
        row = {
            "good": len(latencies),
            "failed": kind_failed,
            "p50_ms": percentile_ms(latencies, 50),
            "p99_ms": percentile_ms(latencies, 99),
            "max_ms": percentile_ms(latencies, 100),
        }
        per_kind[kind] = row
        print(
            f"{kind:<18} {row['good']:>7,} {kind_failed:>7,} {row['p50_ms']:>8.0f} {row['p99_ms']:>8.0f} "
            f"{row['max_ms']:>8.0f}"
        )
    out["requests"] = {
        "sent": len(storm.sent),
        "good": good,
        "failed": failed,
        "invalid_twiml": storm.invalid_twiml,
        "elapsed": elapsed,
        "per_kind": per_kind,
        "failures": dict(storm.failures),
        "shed": dict(storm.shed),
        "hosted_fallbacks": storm.hosted_fallbacks,
    }
    if storm.failures:
        print("failures: " + "; ".join(f"{k} {n:,}" for k, n in storm.failures.most_common()))
    print(
        "answered with the overload (shed) document, counted good above: "
        + ("; ".join(f"{k} {n:,}" for k, n in storm.shed.most_common()) or "none")
    )
    print(f"failures answered by a fallback Twilio hosts (no request to the app): {storm.hosted_fallbacks}")

    print("\ncallers: " + "; ".join(f"{n:,} {k}" for k, n in storm.outcomes.most_common()))
    out["callers"] = dict(storm.outcomes)
    out["leak"] = _leak_report(storm)
    print(
        "queues (peak callers waiting / MaxSize set through the REST API): "
        + ", ".join(
            f"{name} {peak:,}/{storm.queue_sizes.get(name, 'default')}"
            for name, peak in storm.queue_peaks.items()
        )
    )
    print(
        "REST API calls from the app: "
        + (", ".join(f"{k} {n}" for k, n in storm.rest_calls.items()) or "none")
    )
    if storm.unexpected:
        print(
            "TwiML verbs this player does not model: "
            + ", ".join(f"{k} {n}" for k, n in storm.unexpected.items())
        )

    idle = dispatcher.idle_to_claim
    print(
        f"\ndispatcher: {dispatcher.claims} callers claimed for agents ({dispatcher.lost_races} lost races)"
        f" in {dispatcher.claim_cycles} passes; between passes that claimed (times with no agent free "
        f"too): median {dispatcher.cycle_gap_p50:.1f} s, "
        f"max {dispatcher.cycle_gap_max:.1f} s; an agent free again to its next caller: "
        + (
            f"median {statistics.median(idle):.1f} s, max {max(idle):.1f} s ({len(idle)} times)"
            if idle
            else "never"
        )
        + " (a pass's own duration is not logged; the scheduler's warnings below say when it overran)"
    )
    print("queue entries at the end: " + ", ".join(f"{k} {n:,}" for k, n in dispatcher.entries.most_common()))
    out["dispatcher"] = dispatcher.__dict__ | {"entries": dict(dispatcher.entries)}

    biggest = max(memory.hwm_kib.items(), key=lambda item: item[1], default=(0, 0))
    print(
        f"\nserver: {len(memory.hwm_kib)} processes; peak RSS summed over them "
        f"{memory.total_rss_peak_kib / 1024:.0f} MiB (sampled every 0.5 s); largest single VmHWM "
        f"{biggest[1] / 1024:.0f} MiB "
        f"({memory.names.get(biggest[0], '?')}); peak threads {memory.threads_peak}; CPU "
        f"{storm_server.cpu_seconds(memory):.0f} s"
    )
    for pid, hwm in sorted(memory.hwm_kib.items()):
        cpu = memory.cpu_ticks.get(pid, 0) / storm_server.CLOCK_TICKS
        print(f"    {pid:>7} VmHWM {hwm / 1024:6.0f} MiB  CPU {cpu:5.0f} s  {memory.names.get(pid, '?')}")
    print(
        f"load generator and REST stand-in (this process): CPU {storm.generator_cpu:.0f} s over "
        f"{elapsed:.0f} s; callers entered up to {storm.arrival_lag * 1000:.0f} ms after their slot"
    )
    out["server"] = {
        "total_rss_peak_mib": memory.total_rss_peak_kib / 1024,
        "threads_peak": memory.threads_peak,
        "vmhwm_mib": {memory.names.get(p, str(p)) + f" ({p})": h / 1024 for p, h in memory.hwm_kib.items()},
        "cpu_seconds": storm_server.cpu_seconds(memory),
    }
    for note in notes:
        print(f"log: {note}")
    out["log"] = notes
    return out


def _recovery_report(plan: Plan, storm: Storm, fall: float) -> dict[str, object]:
    """Every window after the fall (requests sent in it), and when the server had recovered."""
    until = max((sent for sent, *_ in storm.records), default=fall)
    windows = windows_after(storm.records, fall, plan.window, until)
    found = recovery(windows, plan.bound_ms, plan.hold)
    print(
        f"\nafter the fall (t = {plan.seconds:.0f} s: offered arrivals fell from "
        f"{plan.callers / plan.seconds:.0f}/s to {plan.after_rate:g}/s), per {plan.window:g} s of "
        "requests sent:"
    )
    print(
        f"{'t+ (s)':>7} {'sent':>6} {'good':>6} {'failed':>6} {'shed new':>8} {'shed wait':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7}"
    )
    shown = [w for w in windows if w.start < plan.after_seconds + plan.patience[1]]
    for window in shown:
        print(
            f"{window.start:7.0f} {window.sent:6d} {window.good:6d} {window.failed:6d} "
            f"{window.shed_new_calls:8d} {window.shed_waits:9d} {window.p50_ms:7.0f} {window.p99_ms:7.0f}"
        )
    verdict = (
        f"recovered after {found.recovered_after:.0f} s"
        if found.recovered_after is not None
        else "never recovered within the run"
    )
    print(
        f"{verdict} (the first of {plan.hold} windows of {plan.window:g} s in a row with no new call shed, "
        f"no failed request and p99 under {plan.bound_ms:.0f} ms); unhealthy windows after it: "
        f"{found.relapses}, healthy to the end from {_seconds(found.steady_after)}; nothing shed at all "
        f"(waits included) from {_seconds(found.all_quiet_after)} after the fall on"
    )
    span = 60.0
    sent = kinds_sent(storm.records, fall, fall + span)
    again = sum(1 for moment in storm.greetings_again if fall <= moment < fall + span)
    print(
        f"sent in the first {span:.0f} s after the fall: "
        + ", ".join(f"{kind} {count:,}" for kind, count in sent.most_common())
        + f" (of the greetings, {again:,} were calls sent back to the greeting by a busy answer)"
    )
    return {
        "sent_after_fall": dict(sent),
        "greetings_again_after_fall": again,
        "fall_at": plan.seconds,
        "bound_ms": plan.bound_ms,
        "hold": plan.hold,
        "window": plan.window,
        "recovered_after": found.recovered_after,
        "relapses": found.relapses,
        "steady_after": found.steady_after,
        "all_quiet_after": found.all_quiet_after,
        "windows": [w.__dict__ for w in windows],
    }


def _seconds(moment: float | None) -> str:
    return f"{moment:.0f} s" if moment is not None else "never within the run"


def _peak(moments: list[float]) -> int:
    """The most events in one TIMELINE_SECONDS window (aligned to the first), per second."""
    if not moments:
        return 0
    first = min(moments)
    windows = Counter(int((moment - first) // TIMELINE_SECONDS) for moment in moments)
    return round(max(windows.values()) / TIMELINE_SECONDS)


def _leak_report(storm: Storm) -> dict[str, object]:
    callers = storm.leak_callers
    agent = sorted(c.reached[1] for c in callers if c.reached and c.reached[0] == "agent")
    duty = sorted(c.reached[1] for c in callers if c.reached and c.reached[0] == "duty")
    unpressed = [c for c in callers if c.pressed_2 is None]  # the greeting failed or was never played
    early = sum(1 for c in unpressed if c.reached_unpressed)
    nobody = [c for c in callers if c.reached is None and c.reached_unpressed is None]
    reached = sorted(agent + duty)
    late = sum(1 for s in reached if s > PERSON_WITHIN)

    def spread(values: list[float]) -> str:
        return f"p50 {statistics.median(values):.1f} s, max {max(values):.1f} s" if values else "-"

    print(
        f"gas-leak callers: {len(callers)}; reached an agent {len(agent)} ({spread(agent)} after pressing 2),"
        " "
        f"the duty engineer {len(duty)} ({spread(duty)}); over {PERSON_WITHIN:.0f} s: {late}; "
        f"reached nobody: {len(nobody)}; never got to press 2: {len(unpressed)} (of whom {early} were "
        "dialled to a person by a fallback)"
    )
    for caller in callers:
        if caller.reached and caller.reached[1] > PERSON_WITHIN:
            _late_caller(caller)
    return {
        "callers": len(callers),
        "agent": agent,
        "duty": duty,
        "nobody": len(nobody),
        "late": late,
        "never_pressed": len(unpressed),
        "fallback_person": early,
        "p50": statistics.median(reached) if reached else math.nan,
        "max": max(reached, default=math.nan),
    }


def _late_caller(caller: Caller) -> None:
    """What a gas-leak caller reached late went through: each request from pressing 2, and its latency."""
    pressed = caller.pressed_2 or 0.0
    wall = time.time() - time.monotonic()  # POSIX seconds on the monotonic clock's origin
    deadline = f"{caller.duty_deadline - wall - pressed:+.1f} s" if caller.duty_deadline else "none"
    dialled = f"{caller.dialled_at - pressed:+.1f} s" if caller.dialled_at else "-"
    whom, after = caller.reached or ("-", 0.0)
    print(
        f"  late: {caller.number} pressed 2 in the {caller.pressed_at} document, reached the {whom} "
        f"after {after:.1f} s;"
        f" the wait URL's duty deadline {deadline}, the <Dial> began {dialled} (times from pressing 2)"
    )
    steps = [
        f"{kind} {sent - pressed:+.1f} s took {latency * 1000:.0f} ms ({how})"
        for sent, latency, kind, how in caller.trace
        if sent >= pressed - 30
    ]
    for start in range(0, len(steps), 3):
        print("    " + "; ".join(steps[start : start + 3]))


if __name__ == "__main__":
    main()
