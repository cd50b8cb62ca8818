"""Work orders at scale: the due-timer sweep and a desk's queue page over 1,000,000 work orders.

    nice -n 5 .venv/bin/python bench/work_orders.py                 # both databases, 1,000,000 orders
    nice -n 5 .venv/bin/python bench/work_orders.py --rows 20000    # quick
    .venv/bin/python bench/work_orders.py --databases sqlite --rows 20000 --repeat 50

Fills a database with --rows work orders (a year of them: most closed, some thousands open, each class at
its desk, due times spread around "now") and their deadline timers, then times, on SQLite and PostgreSQL:

  sweep claim   the claim of ivr/work_orders/escalation.py's sweep_batch: timers due by now, joined to their
                order, oldest first, LIMIT 200, FOR UPDATE SKIP LOCKED on PostgreSQL (built here the same way)
  sweep batch   sweep_batch() itself: claim and fire the due steps, rolled back after each run
  desk queue    desk_queue(session, desk, limit=50) of ivr/work_orders/desk_queue.py: the first page, and
                a page deep in the queue (after= the cursor of the row 1,000 places in)

each beside a plain indexed query of the same rows, measured in the same run, interleaved with it (the
query, then its baseline, then the query ...) so that the machine's noise falls on both: the timers'
ids by next_fire_at alone, and the (desk, due_at) index read alone. Prints median and p99 of each and
the ratio of the medians; writes bench/results/work_orders.json.

The filled databases are kept (bench/results/work_orders.db; PostgreSQL: --postgres-url, by default the
database hotline_bench_wo) and reused while they hold --rows orders of this script's fill.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, create_engine, func, select, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from ivr.db import migrate  # noqa: E402
from ivr.db.models import WorkOrder, WorkOrderTimer  # noqa: E402
from ivr.db.session import make_engine, make_session_factory  # noqa: E402
from ivr.work_orders.desk_queue import After, desk_queue  # noqa: E402
from ivr.work_orders.escalation import BATCH_SIZE, sweep_batch  # noqa: E402
from ivr.work_orders.export import WORK_ORDER_HEADER, csv_text, day_range, work_order_rows  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SQLITE_PATH = RESULTS / "work_orders.db"
POSTGRES_URL = "postgresql+psycopg://hotline:hotline@127.0.0.1:5432/hotline_bench_wo"
NOW = datetime(2026, 12, 1, 2, 0)  # naive UTC, 10:00 in Shanghai: "now" for the fill and every query
# Every filled order's number starts with it: the fill is this script's, this version of it (bump it when
# make_rows changes, so that a database filled the old way is filled again).
MARK = "BENCH3-"
PAGE = 50  # a desk queue page
DEEP = 1000  # the deep page starts after this many rows of the queue
SWEEP_EVERY = timedelta(seconds=30)  # the scheduler's sweep interval (ivr/jobs/scheduler.py)

# (class, share of all orders, its desk): enquiries and account business the most, safety the least.
CLASSES = [
    ("enquiry", 0.28, "business"),
    ("account_business", 0.16, "business"),
    ("fault_repair", 0.20, "field_crew"),
    ("meter_fault", 0.08, "field_crew"),
    ("installation", 0.06, "field_crew"),
    ("quality_complaint", 0.06, "field_crew"),
    ("service_complaint", 0.10, "complaints"),
    ("gas_leak", 0.04, "safety"),
    ("safety_complaint", 0.02, "safety"),
]
KIND_OF_CLASS = {"fault_repair": "fault", "meter_fault": "meter_fault", "installation": "installation"}
OPEN_STAGES = [
    ("opened", 0.10),
    ("handed_over", 0.25),
    ("accepted", 0.25),
    ("in_progress", 0.25),
    ("handled", 0.10),
    ("answered", 0.05),
]
TIMER_KINDS = ["handover", "on_site", "result", "answer", "follow_up"]
OPEN_SHARE = 0.02  # 20,000 of 1,000,000 open: a few weeks' work
USERS = 300
CUSTOMERS = 20_000
ORDER_COLUMNS = [
    "id",
    "number",
    "kind",
    "status",
    "work_class",
    "stage",
    "owner_user_id",
    "desk",
    "updated_at",
    "emergency",
    "customer_id",
    "caller_number",
    "address",
    "description",
    "call_sid",
    "source_key",
    "created_at",
    "promised_by",
    "completed_at",
    "due_at",
    "warn_at",
    "escalation",
]
TIMER_COLUMNS = [
    "id",
    "work_order_id",
    "kind",
    "started_at",
    "warn_at",
    "due_at",
    "supervisor_at",
    "state",
    "step",
    "next_fire_at",
    "warned_at",
    "escalated_at",
    "supervisor_told_at",
    "duty_call_owed",
    "duty_call_sid",
    "duty_call_attempts",
    "done_at",
]
CHUNK = 50_000


# ---------------------------------------------------------------- the fill


def make_rows(rows: int, seed: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (work-order rows, timer rows), in ORDER_COLUMNS and TIMER_COLUMNS order."""
    rng = random.Random(seed)
    classes = [name for name, _, _ in CLASSES]
    class_weights = [share for _, share, _ in CLASSES]
    desk_of = {name: desk for name, _, desk in CLASSES}
    stages = [stage for stage, _ in OPEN_STAGES]
    stage_weights = [share for _, share in OPEN_STAGES]
    open_rows = max(1, int(rows * OPEN_SHARE))
    due_now = max(5, open_rows // 1000)  # timers whose step fell due since the last sweep
    due_every = max(1, open_rows // (due_now * 2))
    # Orders come evenly over the year, oldest first; the open ones are spread evenly over the newest four
    # weeks' orders (about a quarter of those), the rest of which are closed like everything older.
    recent = max(open_rows, rows * 28 // 365)
    recent_from = rows - recent
    open_index = 0
    timer_id = 0
    orders: list[tuple[Any, ...]] = []
    timers: list[tuple[Any, ...]] = []
    for n in range(rows):
        order_id = n + 1
        work_class = rng.choices(classes, class_weights)[0]
        k = n - recent_from
        is_open = k >= 0 and (k + 1) * open_rows // recent > k * open_rows // recent
        created = (NOW - timedelta(seconds=(rows - n) * 365 * 86400 / rows)).replace(microsecond=0)
        span = timedelta(hours=rng.choice((1, 4, 24, 24, 48)))
        desk = desk_of[work_class]
        customer = rng.randint(1, CUSTOMERS) if rng.random() < 0.8 else None
        owner = rng.randint(1, USERS)
        safety = work_class in ("gas_leak", "safety_complaint")
        due = warn = completed = None
        escalation = ""
        if is_open:
            open_index += 1
            stage = rng.choices(stages, stage_weights)[0]
            status = (
                "dispatched"
                if stage == "in_progress"
                else "completed"
                if stage in ("handled", "answered")
                else "open"
            )
            if stage in ("handled", "answered"):
                completed = created + span / 2
            # A running deadline for most; due times spread from two days late to five days ahead.
            if rng.random() < 0.9:
                due = (NOW + timedelta(minutes=rng.uniform(-2 * 1440, 5 * 1440))).replace(microsecond=0)
                fires_now = due_now > 0 and open_index % due_every == 0
                if fires_now:  # its warning fell due since the last sweep: this sweep's work
                    due = NOW - timedelta(seconds=rng.uniform(0, SWEEP_EVERY.total_seconds())) + span / 4
                    due_now -= 1
                warn = due - span / 4
                supervisor = due + span
                if fires_now:
                    step, next_fire = "", warn
                elif supervisor <= NOW:
                    escalation, step, next_fire = "supervisor", "supervisor", None
                elif due <= NOW:
                    escalation, step, next_fire = "escalated", "escalated", supervisor
                elif warn <= NOW:
                    escalation, step, next_fire = "warned", "warned", due
                else:
                    step, next_fire = "", warn
                timer_id += 1
                timers.append(
                    (
                        timer_id,
                        order_id,
                        rng.choice(TIMER_KINDS),
                        created,
                        warn,
                        due,
                        supervisor,
                        "running",
                        step,
                        next_fire,
                        warn if step else None,
                        due if step in ("escalated", "supervisor") else None,
                        supervisor if step == "supervisor" else None,
                        False,
                        None,
                        0,
                        None,
                    )
                )
        else:
            stage, status = "closed", "completed"
            completed = created + span / 2
            if rng.random() < 0.05:
                escalation = "escalated"  # a past escalation stays on the order
            # The finished timer of a closed order: met, nothing left to fire.
            timer_id += 1
            timers.append(
                (
                    timer_id,
                    order_id,
                    rng.choice(TIMER_KINDS),
                    created,
                    created + span * 3 / 4,
                    created + span,
                    created + span * 2,
                    "met",
                    "",
                    None,
                    None,
                    None,
                    None,
                    False,
                    None,
                    0,
                    completed,
                )
            )
        updated = completed + timedelta(hours=2) if stage == "closed" and completed else created
        orders.append(
            (
                order_id,
                f"{MARK}{order_id:08d}",
                KIND_OF_CLASS.get(work_class, work_class),
                status,
                work_class,
                stage,
                owner,
                desk,
                updated,
                safety and rng.random() < 0.5,
                customer,
                f"+86138{n % 10**8:08d}",
                f"某区某路{n % 997}号",
                "bench order",
                None,
                None,
                created,
                created + span,
                completed,
                due,
                warn,
                escalation,
            )
        )
        if len(orders) == CHUNK:
            yield orders, timers
            orders, timers = [], []
    yield orders, timers


def filled(engine: Engine, rows: int) -> bool:
    """Whether the database holds this script's fill of `rows` orders."""
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(WorkOrder))
        marked = connection.scalar(select(func.count()).where(WorkOrder.number.like(f"{MARK}%")))
        timers = connection.scalar(select(func.count()).select_from(WorkOrderTimer))
    return count == rows and marked == rows and bool(timers)


def fill_sqlite(path: Path, rows: int, seed: int) -> None:
    """A fresh SQLite file, migrated, then filled through sqlite3's executemany in large transactions."""
    for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        companion.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")  # the fill only: a crash means filling again

    def stored(value: Any) -> Any:  # SQLAlchemy's storage format for DateTime on SQLite
        return value.isoformat(" ", "microseconds") if isinstance(value, datetime) else value

    with connection:
        connection.executemany(
            "INSERT INTO users (id, username, password_hash, role, active, created_at, session_version) "
            "VALUES (?, ?, 'x', 'agent', 1, ?, 0)",
            [(n, f"bench-{n}", stored(NOW)) for n in range(1, USERS + 1)],
        )
        connection.executemany(
            "INSERT INTO customers (id, account_number, name, phone, address, district, customer_class,"
            " balance, language) VALUES (?, ?, ?, ?, '', '', 'residential', 0, 'zh-CN')",
            [(n, f"B{n:08d}", f"客户{n}", f"+86139{n:08d}") for n in range(1, CUSTOMERS + 1)],
        )
        connection.executemany(  # each customer's number, as the IVR and the search find them
            "INSERT INTO customer_numbers (customer_id, phone, position) VALUES (?, ?, 0)",
            [(n, f"+86139{n:08d}") for n in range(1, CUSTOMERS + 1)],
        )
    orders_sql, timers_sql = (
        _insert("work_orders", ORDER_COLUMNS),
        _insert("work_order_timers", TIMER_COLUMNS),
    )
    for orders, timers in make_rows(rows, seed):
        with connection:
            connection.executemany(orders_sql, ([stored(v) for v in row] for row in orders))
            connection.executemany(timers_sql, ([stored(v) for v in row] for row in timers))
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def _insert(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def fill_postgres(url: str, rows: int, seed: int) -> None:
    """The schema emptied and migrated, then filled with COPY (the fill's statements have no time limit)."""
    engine = create_engine(url)  # not make_engine: its 3 s statement limit is for webhooks
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(
            "COPY users (id, username, password_hash, role, active, created_at, session_version) FROM STDIN"
        ) as copy:
            for n in range(1, USERS + 1):
                copy.write_row((n, f"bench-{n}", "x", "agent", True, NOW, 0))
        with cursor.copy(
            "COPY customers (id, account_number, name, phone, address, district, customer_class, balance,"
            " language) FROM STDIN"
        ) as copy:
            for n in range(1, CUSTOMERS + 1):
                copy.write_row(
                    (n, f"B{n:08d}", f"客户{n}", f"+86139{n:08d}", "", "", "residential", 0, "zh-CN")
                )
        with cursor.copy("COPY customer_numbers (customer_id, phone, position) FROM STDIN") as copy:
            for n in range(1, CUSTOMERS + 1):
                copy.write_row((n, f"+86139{n:08d}", 0))
        for orders, timers in make_rows(rows, seed):
            with cursor.copy(f"COPY work_orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
                for row in orders:
                    copy.write_row(row)
            with cursor.copy(f"COPY work_order_timers ({', '.join(TIMER_COLUMNS)}) FROM STDIN") as copy:
                for row in timers:
                    copy.write_row(row)
        for table in ("users", "customers", "work_orders", "work_order_timers"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # the planner's statistics, and the visibility map
    engine.dispose()


# ---------------------------------------------------------------- the queries


def sweep_claim(session: Session) -> int:
    """The sweep's claim (escalation.sweep_batch): due timers with their orders, oldest first."""
    query = (
        select(WorkOrderTimer, WorkOrder)
        .join(WorkOrder, WorkOrder.id == WorkOrderTimer.work_order_id)
        .where(WorkOrderTimer.next_fire_at <= NOW)
        .order_by(WorkOrderTimer.next_fire_at, WorkOrderTimer.id)
        .limit(BATCH_SIZE)
        .with_for_update(skip_locked=True)
    )
    return len(session.execute(query).all())


def sweep_claim_baseline(session: Session) -> int:
    """The same timers' ids by the next_fire_at index alone."""
    query = (
        select(WorkOrderTimer.id)
        .where(WorkOrderTimer.next_fire_at <= NOW)
        .order_by(WorkOrderTimer.next_fire_at)
        .limit(BATCH_SIZE)
    )
    return len(session.execute(query).all())


def sweep_whole_batch(session: Session) -> int:
    """sweep_batch() itself (claim, fire, summarise); the caller rolls it back."""
    return sweep_batch(session, now=NOW, duty=None).timers


def queue_page(desk: str, after: After | None) -> Callable[[Session], int]:
    def run(session: Session) -> int:
        return len(desk_queue(session, desk, limit=PAGE, after=after).rows)

    return run


def queue_baseline(desk: str, after: After | None) -> Callable[[Session], int]:
    """The (desk, due_at) index read alone: the page's rows' ids in due order (the page's rows all have a
    due time; closed orders have none)."""

    def run(session: Session) -> int:
        query = select(WorkOrder.id).where(WorkOrder.desk == desk, WorkOrder.due_at.is_not(None))
        if after is not None and after.due_at is not None:
            query = query.where(WorkOrder.due_at >= after.due_at)
        return len(session.execute(query.order_by(WorkOrder.due_at).limit(PAGE + 1)).all())

    return run


def no_deadline_baseline(desk: str) -> Callable[[Session], int]:
    """The desk's open orders without a due time, by id: their ids alone (the open orders' partial index)."""

    def run(session: Session) -> int:
        query = select(WorkOrder.id).where(
            WorkOrder.desk == desk, WorkOrder.due_at.is_(None), text("stage != 'closed'")
        )
        # In the index's own order (desk and due_at are fixed): by id alone, PostgreSQL chose the primary key
        # and walked the closed orders (350 ms).
        by_index = (WorkOrder.desk, WorkOrder.due_at, WorkOrder.id)
        return len(session.execute(query.order_by(*by_index).limit(PAGE + 1)).all())

    return run


def deep_cursor(sessions: sessionmaker[Session], desk: str, rows: int) -> After:
    """The cursor `rows` rows into the desk's queue, walked page by page as a user would."""
    after = None
    with sessions() as session:
        for _ in range(rows // PAGE):
            page = desk_queue(session, desk, limit=PAGE, after=after)
            assert page.next_after is not None, f"the {desk} queue is shorter than {rows}"
            after = page.next_after
    assert after is not None
    return after


def timed_pair(
    sessions: sessionmaker[Session],
    query: Callable[[Session], int],
    baseline: Callable[[Session], int],
    repeat: int,
) -> tuple[list[float], list[float], int, int]:
    """Milliseconds per run of each, interleaved, each in its own transaction (rolled back), after a
    warm-up; and the rows each returned."""
    times: tuple[list[float], list[float]] = ([], [])
    counts = [0, 0]
    for round_ in range(repeat + 1):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)  # neither always runs first
        for which in order:
            function = (query, baseline)[which]
            with sessions() as session:
                session.connection()  # the pool's checkout, its ping and BEGIN: not the query's time
                start = time.perf_counter()
                counts[which] = function(session)
                elapsed = (time.perf_counter() - start) * 1000
                session.rollback()
            if round_:
                times[which].append(elapsed)
    return times[0], times[1], counts[0], counts[1]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def figures(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(times), 3), "p99_ms": round(p99(times), 3)}


def row(label: str, times: list[float], rows: int) -> str:
    median = statistics.median(times)
    return f"    {label:<46} median {median:9.3f} ms   p99 {p99(times):9.3f} ms   {rows:>4} rows"


def measure(name: str, engine: Engine, repeat: int) -> dict[str, Any]:
    """Every query beside its baseline on one database; prints the lines, returns the figures."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        plan_desk = session.execute(
            select(WorkOrder.desk, func.count())
            .where(WorkOrder.stage != "closed")
            .group_by(WorkOrder.desk)
            .order_by(func.count().desc())
        ).first()
    assert plan_desk is not None
    desk = str(plan_desk[0])
    # DEEP rows in, or halfway down a short queue (a small --rows); none when it is shorter than two pages
    deep_rows = min(DEEP, plan_desk[1] // 2 // PAGE * PAGE)
    pairs: list[tuple[str, str, Callable[[Session], int], Callable[[Session], int]]] = [
        ("sweep claim", "baseline: timers' ids by next_fire_at", sweep_claim, sweep_claim_baseline),
        (
            "sweep batch (claim and fire, rolled back)",
            "baseline: timers' ids by next_fire_at",
            sweep_whole_batch,
            sweep_claim_baseline,
        ),
        (
            f"desk queue, first page ({desk})",
            "baseline: (desk, due_at) index alone",
            queue_page(desk, None),
            queue_baseline(desk, None),
        ),
    ]
    if deep_rows:
        deep = deep_cursor(sessions, desk, deep_rows)
        pairs.append(
            (
                f"desk queue, page after row {deep_rows}",
                "baseline: (desk, due_at) index alone",
                queue_page(desk, deep),
                queue_baseline(desk, deep),
            )
        )
    # The queue's tail: its first page of orders without a deadline (after every one with a due time),
    # among the desk's closed orders, which have none either.
    pairs.append(
        (
            "desk queue, first page without a deadline",
            "baseline: those orders' ids alone",
            queue_page(desk, After(None, 0)),
            no_deadline_baseline(desk),
        )
    )
    result: dict[str, Any] = {}
    print(f"  {name} ({engine.dialect.name}), desk {desk!r} with {plan_desk[1]} open orders")
    for label, base_label, query, baseline in pairs:
        query_times, base_times, query_rows, base_rows = timed_pair(sessions, query, baseline, repeat)
        ratio = statistics.median(query_times) / statistics.median(base_times)
        print(row(label, query_times, query_rows))
        print(row(base_label, base_times, base_rows))
        print(f"    {'ratio of the medians':<46} {ratio:9.1f}x")
        result[label] = {
            "query": {**figures(query_times), "rows": query_rows},
            "baseline": {**figures(base_times), "rows": base_rows, "what": base_label},
            "ratio": round(ratio, 2),
        }
    return result


def export_run(sessions: sessionmaker[Session], days: int) -> dict[str, Any]:
    """One export of the work orders opened in the last `days` local days (ivr/work_orders/export.py), read
    to the end as the page sends it; beside it, the same rows' ids through the same range and cursor."""
    last = (NOW + timedelta(hours=8)).date()  # the local day of NOW in Shanghai
    span = day_range(str(last - timedelta(days=days - 1)), str(last), timezone="Asia/Shanghai")
    start = time.perf_counter()
    with sessions() as session, session.begin():
        pieces = csv_text(WORK_ORDER_HEADER, work_order_rows(session, span))
        first = next(pieces)
        first_ms = (time.perf_counter() - start) * 1000
        lines, size = first.count("\r\n"), len(first.encode())
        for piece in pieces:
            lines, size = lines + piece.count("\r\n"), size + len(piece.encode())
    seconds = time.perf_counter() - start
    begin, end = span.bounds()
    start = time.perf_counter()
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL statement_timeout = '120s'"))
        query = select(WorkOrder.id).where(WorkOrder.created_at >= begin, WorkOrder.created_at < end)
        ids = sum(
            1 for _ in session.execute(query.order_by(WorkOrder.created_at).execution_options(yield_per=1000))
        )
    base_seconds = time.perf_counter() - start
    return {
        "rows": lines - 1,
        "megabytes": round(size / 1e6, 1),
        "first_piece_ms": round(first_ms, 1),
        "seconds": round(seconds, 2),
        "baseline_rows": ids,
        "baseline_seconds": round(base_seconds, 2),
        "ratio": round(seconds / base_seconds, 1),
    }


def measure_exports(name: str, engine: Engine) -> dict[str, Any]:
    """The export of a month and of the year, once each (they are long), beside the ids alone."""
    sessions = make_session_factory(engine)
    result = {}
    for label, days in (("a month", 30), ("a year", 366)):
        figures = export_run(sessions, days)
        result[f"export, {label}"] = figures
        print(
            f"    export, {label:<8} {figures['rows']:>9,} rows, {figures['megabytes']:6.1f} MB: first piece"
            f" {figures['first_piece_ms']:8.1f} ms, all {figures['seconds']:6.2f} s;"
            f" baseline (the ids) {figures['baseline_seconds']:5.2f} s; {figures['ratio']:.1f}x"
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="work orders in the database [1,000,000]")
    parser.add_argument("--databases", default="sqlite,postgresql", help="which, comma-separated [both]")
    parser.add_argument("--repeat", type=int, default=200, help="timed runs of each query [200]")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--sqlite-path", type=Path, default=SQLITE_PATH)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_WORK_ORDERS_POSTGRES_URL", POSTGRES_URL)
    )
    parser.add_argument("--fill-only", action="store_true", help="fill (if needed) and stop")
    parser.add_argument("--no-export", action="store_true", help="leave out the export runs")
    parser.add_argument("--refill", action="store_true", help="fill again even if the database is filled")
    parser.add_argument("--json", type=Path, default=RESULTS / "work_orders.json")
    args = parser.parse_args()
    if args.rows < 1000:
        parser.error("--rows: at least 1,000 (the deep page starts 1,000 rows into a queue)")
    wanted = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(wanted) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"--databases: sqlite and/or postgresql, not {', '.join(sorted(unknown))}")
    args.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"work-order benchmark: {args.rows:,} work orders, {args.repeat} runs of each query after a warm-up"
    )
    # The machine is shared: a busy one stretches every figure, so the ratios are the figures to compare.
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    results: dict[str, Any] = {
        "rows": args.rows,
        "repeat": args.repeat,
        "now": NOW.isoformat(),
        "databases": {},
    }
    for name in wanted:
        url = f"sqlite:///{args.sqlite_path}" if name == "sqlite" else args.postgres_url
        engine = make_engine(url)
        reuse = not args.refill and _reusable(url, args.rows)
        if reuse:
            print(f"  {name}: the database holds this fill already, kept")
        else:
            engine.dispose()
            start = time.perf_counter()
            if name == "sqlite":
                fill_sqlite(args.sqlite_path, args.rows, args.seed)
            else:
                fill_postgres(url, args.rows, args.seed)
            print(f"  {name}: filled in {time.perf_counter() - start:.1f} s")
            engine = make_engine(url)
        with engine.connect() as connection:
            open_orders = connection.scalar(select(func.count()).where(WorkOrder.stage != "closed"))
            timers = connection.scalar(select(func.count()).select_from(WorkOrderTimer))
            due = connection.scalar(select(func.count()).where(WorkOrderTimer.next_fire_at <= NOW))
        print(
            f"  {name}: {open_orders:,} open orders, {timers:,} timers, {due} due at {NOW:%Y-%m-%d %H:%M} UTC"
        )
        if args.fill_only:
            engine.dispose()
            continue
        results["databases"][name] = measure(name, engine, args.repeat)
        if not args.no_export:
            results["databases"][name] |= measure_exports(name, engine)
        engine.dispose()
    if args.fill_only:
        return
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"  figures in {args.json}")


def _reusable(url: str, rows: int) -> bool:
    """Whether the database holds this fill; brought to the newest schema first (a newer migration's index
    is built on the rows already there, without the webhooks' 3 s statement limit)."""
    engine = create_engine(url)
    try:
        if not filled(engine, rows):
            return False
        migrate.upgrade(engine)
        return filled(engine, rows)
    except Exception as error:  # no schema yet, or one that no migration path leads from: fill it anew
        print(f"  not reused ({type(error).__name__}): filled anew")
        return False
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
