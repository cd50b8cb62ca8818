"""Pairings per second on PostgreSQL with concurrent dispatchers (claims only, no telephony).

    .venv/bin/python bench/pairings.py [--agents 2000] [--callers 2000] [--workers 1 2 4]

Starts the machine's PostgreSQL if needed (.ci/postgres.sh), uses a database of its own
(hotline_bench), and prints pairings/s per worker count with the single worker as the baseline.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import subprocess
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import make_url, text, update

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    base = subprocess.run(["bash", str(ROOT / ".ci/postgres.sh")], capture_output=True, text=True, check=True)
    url = make_url(base.stdout.strip())
    admin = url.set(database="postgres")
    from sqlalchemy import create_engine

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS hotline_bench"))
        connection.execute(text("CREATE DATABASE hotline_bench"))
    engine.dispose()
    return url.set(database="hotline_bench").render_as_string(hide_password=False)


def _hotline(url: str):  # type: ignore[no-untyped-def]
    from ivr.config import Settings
    from ivr.hotline import Hotline

    return Hotline.build(Settings(database_url=url))


def _prepare(url: str, agents: int, callers: int) -> None:
    from ivr.configuration.rules.store import publish_rules
    from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file
    from ivr.db import migrate
    from ivr.db.models import Agent, QueueEntry, utcnow

    hotline = _hotline(url)
    migrate.upgrade(hotline.engine)
    document = load_rules_file(DEFAULT_RULES_FILE)
    for group in document["groups"].values():  # open all day: the benchmark must not depend on the hour
        group["always_open"] = True
        group.pop("hours", None)
        group.pop("holidays", None)
    now = utcnow()
    with hotline.sessions() as session, session.begin():
        publish_rules(session, document, note="benchmark")
        session.add_all(
            Agent(
                name=f"agent {i}",
                client_identity=f"bench-{i}",
                skills={"general": 1 + i % 5},
                languages=["zh-CN"],
                groups=["general"],
                state="available",
                idle_since=now - timedelta(seconds=i),
            )
            for i in range(agents)
        )
        session.add_all(
            QueueEntry(
                call_sid=f"CA{i:032d}",
                queue="general",
                intent="agent",
                language="zh-CN",
                waiting_since=now - timedelta(seconds=10_000 - i),
            )
            for i in range(callers)
        )
    hotline.engine.dispose()


def _reset(url: str) -> None:
    from ivr.db.models import Agent, QueueEntry, RoutingDecision

    hotline = _hotline(url)
    with hotline.sessions() as session, session.begin():
        session.execute(update(Agent).values(state="available", call_sid=None))
        session.execute(update(QueueEntry).values(status="waiting", agent_id=None, claimed_at=None))
        session.execute(RoutingDecision.__table__.delete())
    hotline.engine.dispose()


def _worker(url: str, batch: int, start: float, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from ivr.db.models import utcnow
    from ivr.jobs.tasks import claim_pairings

    hotline = _hotline(url)
    hotline.rules.live()
    while time.time() < start:
        time.sleep(0.001)
    claimed, timings, idle = 0, [], 0
    for _ in range(10_000):  # bounded; stops after a few passes that find nothing left to claim
        began = time.perf_counter()
        offers = claim_pairings(hotline, utcnow() + timedelta(seconds=200), limit=batch)
        timings.append(time.perf_counter() - began)
        claimed += len(offers)
        idle = 0 if offers else idle + 1
        if idle >= 3:
            break
    hotline.engine.dispose()
    results.put((claimed, timings))


def run(url: str, workers: int, batch: int) -> tuple[float, int, list[float]]:
    """Wall-clock pairings per second for `workers` processes claiming until nothing is left."""
    _reset(url)
    results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    start = time.time() + 1.0
    processes = [
        multiprocessing.Process(target=_worker, args=(url, batch, start, results)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    elapsed = time.time() - start
    claimed = sum(o[0] for o in outcomes)
    timings = [t for o in outcomes for t in o[1]]
    return claimed / elapsed, claimed, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=None, help="pairings claimed per transaction at most")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    url = _database_url()
    _prepare(url, args.agents, args.callers)
    per_tx = args.batch or "all"
    print(
        f"PostgreSQL, {args.agents} agents, {args.callers} callers waiting, claims per transaction: {per_tx}"
    )
    header = ("workers", "pairings/s", "claimed", "tx p50 ms", "tx p99 ms", "vs 1 worker")
    print("{:>8} {:>12} {:>8} {:>10} {:>10} {:>12}".format(*header))
    baseline = None
    for workers in args.workers:
        rate, claimed, timings = run(url, workers, args.batch)
        timings.sort()
        p50 = statistics.median(timings) * 1000
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000
        baseline = baseline or rate
        print(f"{workers:>8} {rate:>12.0f} {claimed:>8} {p50:>10.1f} {p99:>10.1f} {rate / baseline:>11.2f}x")
        assert claimed == min(args.agents, args.callers), "every agent paired exactly once"


if __name__ == "__main__":
    main()
