"""The export page: work orders and call records of any range of local days, as CSV downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from sqlalchemy.orm import Session

from ivr.db.models import utcnow
from ivr.people.auth import role_required
from ivr.web.current_hotline import hotline
from ivr.web.downloads import csv_stream_download
from ivr.work_orders.export import (
    CALL_HEADER,
    WORK_ORDER_HEADER,
    DayRange,
    ExportRangeError,
    call_rows,
    csv_text,
    day_range,
    work_order_rows,
)

bp = Blueprint("exports", __name__, template_folder="templates")

EXPORT_ROLES = ("supervisor", "shift_lead", "quality", "admin")

Rows = Callable[[Session, DayRange], Iterator[list[str]]]


@bp.get("/exports")
@role_required(*EXPORT_ROLES)
def page() -> str:
    """The form: from and to (local days), and the two downloads; by default this month so far."""
    h = hotline()
    today = _local_today(h.settings.local_timezone)
    first = request.args.get("from") or today.replace(day=1).isoformat()
    last = request.args.get("to") or today.isoformat()
    return render_template(
        "work_orders/export.html", first=first, last=last, timezone=h.settings.local_timezone
    )


@bp.get("/exports/work-orders.csv")
@role_required(*EXPORT_ROLES)
def work_orders_csv() -> Response | tuple[str, int]:
    """The work orders created from `from` to `to` (local days, both included), streamed."""
    return _download("work-orders", WORK_ORDER_HEADER, work_order_rows)


@bp.get("/exports/calls.csv")
@role_required(*EXPORT_ROLES)
def calls_csv() -> Response | tuple[str, int]:
    """The call records of calls started from `from` to `to` (local days, both included), streamed."""
    return _download("calls", CALL_HEADER, call_rows)


def _download(what: str, header: Sequence[str], rows: Rows) -> Response | tuple[str, int]:
    h = hotline()
    try:
        days = day_range(request.args.get("from"), request.args.get("to"), timezone=h.settings.local_timezone)
    except ExportRangeError as error:
        message = f"导出日期有误 / Wrong export dates: {error}"
        return render_template("admin/error.html", title="400", message=message, detail=""), 400

    def pieces() -> Iterator[str]:
        # One read transaction for the whole file: on PostgreSQL a consistent snapshot of the range.
        with h.sessions() as session, session.begin():
            yield from csv_text(header, rows(session, days))

    return csv_stream_download(pieces(), days.file_name(what))


def _local_today(timezone: str) -> date:
    return utcnow().replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()
