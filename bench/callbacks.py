"""Satisfaction call-backs: scheduling a month's completions, and how well placement keeps to the cps limit.

    .venv/bin/python bench/callbacks.py [--completions 100000] [--runs 3] [--due 1000] [--cps 50]

1. Scheduling: N completions in one month on a fresh SQLite database; timed: the monthly selection plus
   making the jobs (median of --runs), with a baseline in the same run: inserting N rows plainly.
2. Pacing: --due due call-backs placed through a fake instant Telephony at --cps, then 20 at 1 cps:
   the most placements in any 1-second window, and the mean rate.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, insert, update  # noqa: E402

from ivr.config import Settings  # noqa: E402
from ivr.db import migrate  # noqa: E402
from ivr.db.models import CallbackAttempt, CallbackCandidate, CallbackJob, ServiceCompletion  # noqa: E402
from ivr.db.session import unit_of_work  # noqa: E402
from ivr.hotline import Hotline  # noqa: E402
from ivr.jobs.tasks import place_due_callbacks  # noqa: E402
from ivr.surveys.draws import select_callbacks  # noqa: E402
from ivr.surveys.jobs import Pacer, calling_rules, create_jobs  # noqa: E402

TYPES = ["paid_repair", "leak_repair", "small_installation", "ignition", "free_repair", "safety_inspection"]
MONTH_START = datetime(2026, 3, 1, 0, 0)  # UTC; the local (Shanghai) month 2026-03
NOW = datetime(2026, 3, 31, 0, 0)  # "now" for making jobs: the late-month ones are still callable


def _hotline(directory: Path, name: str) -> Hotline:
    settings = Settings(database_url=f"sqlite:///{directory / name}", scheduler_in_process=False)
    hotline = Hotline.build(settings)
    migrate.upgrade(hotline.engine)
    return hotline


def _rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "source": "field",
            "external_id": f"WO-{n}",
            "service_type": TYPES[n % len(TYPES)],
            "completed_at": MONTH_START + timedelta(seconds=(n * 26 * 86400) // count + 3600),
            "customer_phone": f"+86138{n:08d}",
            "customer_language": "zh-CN",
            "employee": f"staff-{n % 200}",
            "amount_charged": 0,
            "created_at": NOW,
        }
        for n in range(count)
    ]


def bench_scheduling(count: int, runs: int) -> None:
    plain, scheduling = [], []
    selected = jobs = 0
    for run in range(runs):
        with tempfile.TemporaryDirectory() as directory:
            rows = _rows(count)
            baseline = _hotline(Path(directory), "baseline.db")
            started = time.perf_counter()
            with unit_of_work(baseline.sessions) as session:
                session.execute(insert(ServiceCompletion), rows)
            plain.append(time.perf_counter() - started)
            baseline.engine.dispose()

            hotline = _hotline(Path(directory), "hotline.db")
            with unit_of_work(hotline.sessions) as session:
                session.execute(insert(ServiceCompletion), rows)
            started = time.perf_counter()
            with unit_of_work(hotline.sessions) as session:
                report = select_callbacks(session, "2026-03", seed=run)
                made = create_jobs(session, calling_rules(hotline.settings), NOW)
            scheduling.append(time.perf_counter() - started)
            selected, jobs = sum(report.selected.values()), made.created
            hotline.engine.dispose()
    print(f"scheduling {count:,} completions (SQLite, median of {runs}):")
    print(f"  baseline: plain insert of {count:,} rows     {statistics.median(plain):7.2f} s")
    print(
        f"  selection + job creation                {statistics.median(scheduling):7.2f} s"
        f"  ({selected:,} selected, {jobs:,} jobs; runs: {', '.join(f'{t:.2f}' for t in scheduling)})"
    )


class InstantTelephony:
    """Places nothing; records the moment of each create_call."""

    def __init__(self) -> None:
        self.moments: list[float] = []

    def redirect_call(self, call_sid: str, url: str) -> None:  # pragma: no cover - unused
        pass

    def create_call(self, *, to, from_, url, status_callback=None, machine_detection=False):  # type: ignore[no-untyped-def]
        self.moments.append(time.monotonic())
        return f"CA{len(self.moments):032d}"

    def fetch_recording(self, recording_sid: str) -> bytes:  # pragma: no cover - unused
        return b""


def _max_in_one_second(moments: list[float]) -> int:
    return max(bisect.bisect_left(moments, start + 1.0) - i for i, start in enumerate(moments))


def bench_pacing(due: int, cps: float) -> None:
    with tempfile.TemporaryDirectory() as directory:
        hotline = _hotline(Path(directory), "pacing.db")
        with unit_of_work(hotline.sessions) as session:
            session.execute(insert(ServiceCompletion), _rows(due))
            select_callbacks(session, "2026-03", seed=1)
        # Every call-back due at once, in a window that is open now.
        with unit_of_work(hotline.sessions) as session:
            session.execute(update(CallbackCandidate).values(selected=True, exclusion_reason=None))
            create_jobs(session, calling_rules(hotline.settings), NOW)
            session.execute(
                update(CallbackJob).values(status="queued", due_at=NOW, latest_at=NOW + timedelta(days=9))
            )
        settings = hotline.settings.with_overrides(callback_window="00:00-23:59:59")
        for limit, rate in ((due, cps), (20, 1.0)):
            with unit_of_work(hotline.sessions) as session:
                session.execute(delete(CallbackAttempt))
                session.execute(update(CallbackJob).values(status="queued", attempts=0, claimed_at=None))
            phone = InstantTelephony()
            target = dataclasses.replace(hotline, telephony=phone, settings=settings)
            pacer = Pacer(rate)
            started = time.monotonic()
            placed = 0
            while placed < limit:  # consecutive job runs, as the scheduler makes them, sharing the pacer
                run = place_due_callbacks(target, pacer, now=lambda: NOW, limit=min(100, limit - placed))
                if not run.placed:
                    break
                placed += len(run.placed)
            elapsed = time.monotonic() - started
            span = phone.moments[-1] - phone.moments[0]
            gaps = [b - a for a, b in zip(phone.moments, phone.moments[1:], strict=False)]
            print(
                f"pacing at {rate:g} cps, {placed} call-backs in {elapsed:.1f} s: max in any 1 s window "
                f"{_max_in_one_second(phone.moments)}, mean rate {(placed - 1) / span:.3f}/s, "
                f"smallest gap {min(gaps) * 1000:.1f} ms (target {1000 / rate:.1f})"
            )
        hotline.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--completions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--cps", type=float, default=50.0)
    args = parser.parse_args()
    bench_scheduling(args.completions, args.runs)
    bench_pacing(args.due, args.cps)


if __name__ == "__main__":
    main()
