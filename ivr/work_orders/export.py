"""Work orders and call records of a range of local days as CSV lines, streamed from the database.

A year can hold millions of rows: the rows come through a server-side cursor in batches (`yield_per`) and
leave as CSV text batch by batch, so neither the page nor the command line ever holds the whole export.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from ivr.db.models import Call, Customer, User, WorkOrder
from ivr.work_orders.lifecycle import CLOSED

BATCH = 1000  # rows fetched, and written out as one piece of text, at a time
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A cell starting with one of these is read as a formula by spreadsheet programs (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")  # "+8613800000000" computes nothing: left as it is


class ExportRangeError(ValueError):
    """Dates that are not a range of days (the message says what was wrong)."""


@dataclass(frozen=True)
class DayRange:
    """Local days `first` to `last`, both included, in `timezone`."""

    first: date
    last: date
    timezone: str

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) as naive UTC, what the DateTime columns hold: local midnight to midnight."""
        zone = ZoneInfo(self.timezone)

        def utc(day: date) -> datetime:
            return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

        return utc(self.first), utc(self.last + timedelta(days=1))

    def file_name(self, what: str) -> str:
        return f"{what}-{self.first}-{self.last}.csv"


def day_range(first: str | None, last: str | None, *, timezone: str) -> DayRange:
    """From and to as YYYY-MM-DD (local days, both included); ExportRangeError says what is wrong."""
    days = [_day(name, value) for name, value in (("from", first), ("to", last))]
    if days[0] > days[1]:
        raise ExportRangeError(f"'from' ({days[0]}) is after 'to' ({days[1]})")
    return DayRange(days[0], days[1], timezone)


def _day(name: str, value: str | None) -> date:
    value = (value or "").strip()
    if not value:
        raise ExportRangeError(f"'{name}' is missing: give a date as YYYY-MM-DD")
    wrong = ExportRangeError(f"'{name}' must be a date as YYYY-MM-DD, e.g. 2026-03-01 (got {value!r})")
    if not _DAY.match(value):
        raise wrong
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise wrong from None
    if day.year < 1900:
        raise ExportRangeError(f"'{name}' must be a date after 1900 (got {value!r})")
    return day


# ---------------------------------------------------------------- the two exports

WORK_ORDER_HEADER = (
    "number",
    "class",
    "stage",
    "desk",
    "owner",
    "customer_account",
    "caller_number",
    "address",
    "created",
    "promised_by",
    "due_at",
    "warn_at",
    "escalation",
    "handled",
    "closed",
    "description",
)

CALL_HEADER = (
    "call_sid",
    "from_number",
    "to_number",
    "started",
    "ended",
    "language",
    "menu_version",
    "customer_account",
    "intent",
    "queue",
    "priority",
    "emergency",
    "complaint_class",
    "reply_due_at",
    "outcome",
    "status",
    "duration_seconds",
    "queue_seconds",
)


def _work_orders_query(start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    return (
        select(
            WorkOrder.number,
            WorkOrder.work_class,
            WorkOrder.stage,
            WorkOrder.desk,
            User.username,
            Customer.account_number,
            WorkOrder.caller_number,
            WorkOrder.address,
            WorkOrder.created_at,
            WorkOrder.promised_by,
            WorkOrder.due_at,
            WorkOrder.warn_at,
            WorkOrder.escalation,
            WorkOrder.completed_at,
            WorkOrder.updated_at,
            WorkOrder.description,
        )
        .outerjoin(User, User.id == WorkOrder.owner_user_id)
        .outerjoin(Customer, Customer.id == WorkOrder.customer_id)
        .where(WorkOrder.created_at >= start, WorkOrder.created_at < end)
        .order_by(WorkOrder.created_at, WorkOrder.id)
    )


def work_order_rows(session: Session, days: DayRange) -> Iterator[list[str]]:
    """The work orders created in `days`, oldest first, as CSV cells (times in local wall time)."""
    zone = ZoneInfo(days.timezone)
    for order in _streamed(session, _work_orders_query(*days.bounds())):
        yield [
            order.number,
            order.work_class,
            order.stage,
            order.desk or "",
            order.username or "",
            order.account_number or "",
            order.caller_number,
            order.address,
            _local(order.created_at, zone),
            _local(order.promised_by, zone),
            _local(order.due_at, zone),
            _local(order.warn_at, zone),
            order.escalation or "",
            _local(order.completed_at, zone),
            # A closed order takes no more changes (only reopening), so its last change is its closing.
            _local(order.updated_at, zone) if order.stage == CLOSED else "",
            order.description,
        ]


def call_rows(session: Session, days: DayRange) -> Iterator[list[str]]:
    """The calls started in `days`, oldest first, as CSV cells (times in local wall time)."""
    zone = ZoneInfo(days.timezone)
    start, end = days.bounds()
    query = (
        select(
            Call.call_sid,
            Call.from_number,
            Call.to_number,
            Call.started_at,
            Call.ended_at,
            Call.language,
            Call.menu_version,
            Customer.account_number,
            Call.intent,
            Call.queue,
            Call.priority,
            Call.emergency,
            Call.complaint_class,
            Call.reply_due_at,
            Call.outcome,
            Call.status,
            Call.duration_seconds,
            Call.queue_seconds,
        )
        .outerjoin(Customer, Customer.id == Call.customer_id)
        .where(Call.started_at >= start, Call.started_at < end)
        .order_by(Call.started_at, Call.id)
    )
    for call in _streamed(session, query):
        yield [
            call.call_sid,
            call.from_number,
            call.to_number,
            _local(call.started_at, zone),
            _local(call.ended_at, zone),
            call.language,
            _text(call.menu_version),
            call.account_number or "",
            call.intent or "",
            call.queue or "",
            _text(call.priority),
            "yes" if call.emergency else "no",
            call.complaint_class or "",
            _local(call.reply_due_at, zone),
            call.outcome or "",
            call.status or "",
            _text(call.duration_seconds),
            _text(call.queue_seconds),
        ]


def _streamed(session: Session, query: Select[*tuple[Any, ...]]) -> Iterator[Any]:
    if session.get_bind().dialect.name == "postgresql":
        # Each fetch of a batch is one statement; a long range sorted on the server may take more than
        # the 3 s a webhook's statement may (ivr/db/session.py).
        session.execute(sql_text("SET LOCAL statement_timeout = '120s'"))
    # yield_per: a server-side cursor on PostgreSQL, rows fetched BATCH at a time, none kept by the session.
    result = session.execute(query.execution_options(yield_per=BATCH))
    try:
        yield from result
    finally:
        result.close()  # a download stopped halfway closes its server-side cursor too


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    if moment is None:
        return ""
    # isoformat is twice as fast as strftime here, and this runs six times a row; [:19] drops the offset.
    return moment.replace(tzinfo=UTC).astimezone(zone).isoformat(" ", "seconds")[:19]


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------- CSV text


def safe_cell(value: str) -> str:
    """A cell a spreadsheet program shows as text: one that would start a formula gets a leading '."""
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]], *, batch: int = BATCH) -> Iterator[str]:
    """The CSV as pieces of text of `batch` lines: a byte-order mark and the header first (like the
    reports' CSVs, so spreadsheet programs read the Chinese right), then the rows, formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(header)
    lines = 0
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        lines += 1
        if lines == batch:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            lines = 0
    yield out.getvalue()
