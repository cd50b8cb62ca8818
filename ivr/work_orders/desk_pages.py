"""The desks' pages: every desk with its open work orders (/desks), and one desk's queue (/desks/<desk>).

A desk's queue is by due time, coloured by how close each deadline is, a page at a time. See
docs/work-orders.md, "The desks' pages".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NoReturn

from flask import Blueprint, abort, make_response, render_template, request
from sqlalchemy import exists, select

from ivr.db.models import WorkOrder
from ivr.people.auth import role_required
from ivr.web.current_hotline import hotline
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.desk_queue import NO_DESK, After, desk_counts, desk_queue
from ivr.work_orders.page_labels import PAGE_LABELS

bp = Blueprint("desks", __name__, template_folder="templates")
bp.context_processor(lambda: PAGE_LABELS)

READERS = ("agent", "shift_lead", "supervisor", "admin", "quality")  # quality reads, to check the work
ACTORS = ("agent", "shift_lead", "supervisor", "admin")  # accept, hand over, record, answer, close
PAGE_SIZE = 50


def now() -> datetime:
    """The hotline's clock as naive UTC (the tests move it)."""
    return datetime.fromtimestamp(hotline().clock(), UTC).replace(tzinfo=None)


@bp.get("/desks")
@role_required(*READERS)
def index() -> str:
    """Every desk of the deadline rules, with its open, overdue and warned work orders."""
    with hotline().sessions() as session:
        desks = list(live_deadlines(session).desks)
        counts = desk_counts(session, desks, now=now())
    return render_template("work_orders/desks.html", counts=counts, no_desk=NO_DESK)


@bp.get("/desks/<desk>")
@role_required(*READERS)
def queue(desk: str) -> str:
    """One desk's open work orders by due time (no deadline last); ?after=<cursor> is the next page."""
    cursor = request.args.get("after", "")
    try:
        after = After.parse(cursor) if cursor else None
    except ValueError:
        refuse(400, f"不是有效的翻页位置 / {cursor!r} is not a page of this queue: start again")
    with hotline().sessions() as session:
        known = desk == NO_DESK or desk in live_deadlines(session).desks
        if not known and not session.scalar(select(exists().where(WorkOrder.desk == desk))):
            refuse(404, f"没有这个工作组 / There is no desk {desk!r}")
        page = desk_queue(session, desk, limit=PAGE_SIZE, after=after)
    return render_template(
        "work_orders/desk.html",
        desk=desk,
        no_desk=NO_DESK,
        page=page,
        now=now(),
        first_page=after is None,
    )


def refuse(code: int, message: str, detail: str = "") -> NoReturn:
    """End the request with the error page saying what was wrong."""
    abort(
        make_response(
            render_template("admin/error.html", title=str(code), message=message, detail=detail), code
        )
    )
