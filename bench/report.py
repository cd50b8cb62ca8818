"""The figures of a benchmark run: as a table on the terminal and as JSON for later comparison."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from loadgen import Outcome

# Targets from the issue, for the summary lines.
APP_RATIO_TARGET = 0.4
APP_P99_TARGET_MS = 50.0
ROW_RATIO_EXPECTED = 0.5


@dataclass
class Figures:
    """One measured run, reduced to what the report shows."""

    rate: float
    p50_ms: float | None  # None when nothing was answered
    p99_ms: float | None
    answered: int
    errors: int
    error_kinds: dict[str, int]
    seconds: float
    by_webhook: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, outcome: Outcome) -> Figures:
        return cls(
            rate=round(outcome.rate, 1),
            p50_ms=_ms(outcome.percentile_ms(50)),
            p99_ms=_ms(outcome.percentile_ms(99)),
            answered=outcome.ok,
            errors=outcome.error_count,
            error_kinds=dict(outcome.errors),
            seconds=round(outcome.elapsed, 2),
            by_webhook={
                kind: {
                    "answered": len(latencies),
                    "p50_ms": _ms(outcome.percentile_ms(50, kind)),
                    "p99_ms": _ms(outcome.percentile_ms(99, kind)),
                }
                for kind, latencies in outcome.by_kind.items()
            },
        )

    @classmethod
    def median_of(cls, rounds: list[Figures], worst_first: Callable[[Figures], float]) -> Figures:
        """All rounds in one: median rate, p50/p99 of the median round by `worst_first`, counts summed."""
        # wrk gives percentiles, not latencies, so they cannot be pooled: they come from the median round
        # (the worse of the two middle ones for an even count of rounds).
        middle = sorted(rounds, key=worst_first)[(len(rounds) - 1) // 2]
        kinds: Counter[str] = Counter()
        for figures in rounds:
            kinds.update(figures.error_kinds)
        return cls(
            rate=round(statistics.median(figures.rate for figures in rounds), 1),
            p50_ms=middle.p50_ms,
            p99_ms=middle.p99_ms,
            answered=sum(figures.answered for figures in rounds),
            errors=sum(figures.errors for figures in rounds),
            error_kinds=dict(kinds),
            seconds=round(sum(figures.seconds for figures in rounds), 2),
            by_webhook=middle.by_webhook,
        )


def slowest_first(figures: Figures) -> float:
    """Orders peaks by rate, the lowest first."""
    return figures.rate


def highest_p99_first(figures: Figures) -> float:
    """Orders open loops by p99, the highest first (a run that answered nothing before any)."""
    return -_p99(figures)


def _p99(figures: Figures) -> float:
    return math.inf if figures.p99_ms is None else figures.p99_ms


def _ms(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def _cell(value: float | None) -> str:
    return f"{value:>8.2f}" if value is not None else f"{'-':>8}"


def _pair(p50: float | None, p99: float | None) -> str:
    return f"{_cell(p50).strip()}/{_cell(p99).strip()}"


@dataclass
class Round:
    """One round of closed-loop peaks: the order the targets ran in and the rate of each."""

    order: list[str]
    rates: dict[str, float]
    cpu_us: dict[str, float] = field(default_factory=dict)  # each server's CPU per answer (all processes)

    @property
    def ratios(self) -> dict[str, float]:
        """Throughput of the app and of the row-writing baseline relative to bare in this round."""
        bare = self.rates["bare"]
        return {
            "app/bare": _ratio(self.rates["app"], bare),
            "sign+row/bare": _ratio(self.rates["sign+row"], bare),
        }

    @property
    def cpu_ratios(self) -> dict[str, float]:
        """The same ratios from the CPU each server spent per answer: what they would be if every target
        got the same CPU, which a noisy neighbour's bursts skew far less than the rates."""
        bare = self.cpu_us.get("bare", 0.0)
        return {
            "app/bare": _ratio(bare, self.cpu_us.get("app", 0.0)),
            "sign+row/bare": _ratio(bare, self.cpu_us.get("sign+row", 0.0)),
        }


@dataclass
class OpenRound:
    """One round of open loops at the fixed rate: the order the targets ran in, each one's p50 and p99."""

    order: list[str]
    p50_ms: dict[str, float | None] = field(default_factory=dict)
    p99_ms: dict[str, float | None] = field(default_factory=dict)


@dataclass
class TargetResult:
    """Peak (closed loop) and fixed-rate (open loop) figures of one target, and anything odd seen."""

    name: str
    peak: Figures  # all rounds in one (Figures.median_of)
    open_loop: Figures  # all open-loop rounds in one (Figures.median_of, by p99)
    open_rate: float
    rounds: list[Figures] = field(default_factory=list)  # the peak of each round, in round order
    open_rounds: list[Figures] = field(default_factory=list)  # the open loop of each round, in round order
    warmup_errors: dict[str, int] = field(default_factory=dict)
    late_starts: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(self.warmup_errors.values()) + self.peak.errors + self.open_loop.errors


def _ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else 0.0  # a bare run that answered nothing: its errors tell why


def ratio_spread(rounds: list[Round], by_cpu: bool = False) -> dict[str, dict[str, float]]:
    """Median, min and max of each ratio over the rounds; the median is the headline figure. By CPU: the
    ratios of CPU spent per answer instead of the rates."""
    spread = {}
    for name in ("app/bare", "sign+row/bare"):
        values = [(r.cpu_ratios if by_cpu else r.ratios)[name] for r in rounds]
        spread[name] = {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values)}
    return spread


def cpu_medians(rounds: list[Round]) -> dict[str, float]:
    """Each target's median CPU microseconds per answer over the rounds."""
    names = rounds[0].cpu_us if rounds else {}
    return {name: round(statistics.median(r.cpu_us[name] for r in rounds), 1) for name in names}


def round_line(index: int, count: int, done: Round, order: list[str]) -> str:
    """One round on one line: each target's peak rate (in `order`), the two ratios, the order run."""
    rates = "  ".join(f"{name} {done.rates[name]:7.1f}" for name in order)
    ratios = "  ".join(f"{name} {value:.3f}" for name, value in done.ratios.items())
    cpu = f"  cpu app/bare {done.cpu_ratios['app/bare']:.3f}" if done.cpu_us else ""
    return f"round {index + 1}/{count}: {rates} req/s  {ratios}{cpu}  (ran {', '.join(done.order)})"


def open_round_line(index: int, count: int, done: OpenRound, order: list[str]) -> str:
    """One open-loop round on one line: each target's p50/p99 (in `order`), the order run."""
    latencies = "  ".join(f"{name} {_pair(done.p50_ms[name], done.p99_ms[name])}" for name in order)
    return f"open round {index + 1}/{count}: {latencies} ms p50/p99  (ran {', '.join(done.order)})"


def p99_spread(rounds: list[Figures]) -> dict[str, float]:
    """Median, min and max of the open-loop p99 over the rounds (ms); the median is the median round's."""
    values = sorted((_p99(figures) for figures in rounds), reverse=True)  # as highest_p99_first
    return {"median": values[(len(values) - 1) // 2], "min": values[-1], "max": values[0]}


def table(results: dict[str, TargetResult], order: list[str]) -> str:
    """The printed table: one row per target, peak figures then the open-loop ones."""
    head = (
        f"{'target':<10} {'peak req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  |"
        f" {'open req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    lines = [head, "-" * len(head)]
    for name in order:
        r = results[name]
        p, o = r.peak, r.open_loop
        lines.append(
            f"{name:<10} {p.rate:>10.1f} {_cell(p.p50_ms)} {_cell(p.p99_ms)} {p.errors:>7}  |"
            f" {r.open_rate:>10.1f} {_cell(o.p50_ms)} {_cell(o.p99_ms)} {o.errors:>7}"
        )
    return "\n".join(lines)


def _spread_text(spread: dict[str, float], rounds: int) -> str:
    low, high = spread["min"], spread["max"]
    return f"{spread['median']:.3f}  (median of {rounds} rounds, min {low:.3f}, max {high:.3f})"


def summary(results: dict[str, TargetResult], rounds: list[Round]) -> list[str]:
    """Ratios (median of the rounds) and the issue's targets, each with whether it was met."""
    spread, by_cpu = ratio_spread(rounds), ratio_spread(rounds, by_cpu=True)
    app, row = spread["app/bare"], spread["sign+row/bare"]
    opened = results["app"].open_rounds
    p99 = p99_spread(opened)
    cpu = "  ".join(f"{name} {us:.0f}" for name, us in cpu_medians(rounds).items())
    return [
        f"app/bare throughput      {_spread_text(app, len(rounds))}  (target >= {APP_RATIO_TARGET}:"
        f" {'met' if app['median'] >= APP_RATIO_TARGET else 'NOT met'})",
        f"sign+row/bare throughput {_spread_text(row, len(rounds))}  (expected about {ROW_RATIO_EXPECTED})",
        f"app/bare by CPU          {_spread_text(by_cpu['app/bare'], len(rounds))}  (bare's CPU per answer"
        " over the app's)",
        f"sign+row/bare by CPU     {_spread_text(by_cpu['sign+row/bare'], len(rounds))}",
        f"CPU per answer (us, median of the rounds, the server's processes): {cpu}",
        f"app p99 at half its peak {p99['median']:.2f} ms  (median of {len(opened)} open-loop rounds,"
        f" min {p99['min']:.2f}, max {p99['max']:.2f})  (target < {APP_P99_TARGET_MS:g} ms:"
        f" {'met' if p99['median'] < APP_P99_TARGET_MS else 'NOT met'})",
    ]


def by_webhook(figures: Figures) -> str:
    """p50/p99 of each kind of webhook in one run, on one line."""
    return ", ".join(f"{kind} {_pair(f['p50_ms'], f['p99_ms'])} ms" for kind, f in figures.by_webhook.items())


def write_json(
    path: Path,
    settings: dict[str, object],
    results: dict[str, TargetResult],
    rounds: list[Round],
    open_rounds: list[OpenRound],
) -> None:
    """Everything measured, with the settings that produced it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spread = ratio_spread(rounds)
    document = {
        "settings": settings,
        "targets": {name: asdict(result) for name, result in results.items()},
        "ratios": {name: values["median"] for name, values in spread.items()},  # medians of the rounds'
        "ratio_spread": spread,
        "cpu_ratio_spread": ratio_spread(rounds, by_cpu=True),  # bare's CPU per answer over each target's
        "cpu_us_per_answer": cpu_medians(rounds),
        "median_peak_rates": {name: result.peak.rate for name, result in results.items()},
        "rounds": [{**asdict(r), "ratios": r.ratios} for r in rounds],
        "open_rounds": [asdict(r) for r in open_rounds],
        "app_open_p99_spread_ms": p99_spread(results["app"].open_rounds),  # its median is the one judged
        "goals": {
            "app/bare >=": APP_RATIO_TARGET,
            "app open-loop p99 ms <": APP_P99_TARGET_MS,
            "sign+row/bare about": ROW_RATIO_EXPECTED,
        },
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
