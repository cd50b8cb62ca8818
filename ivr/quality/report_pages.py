"""The monthly quality report's pages: the report with its charts, and its figures as a CSV download."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from ivr.db.models import utcnow
from ivr.people.auth import role_required
from ivr.quality.report import QualityReport, build_quality_report
from ivr.quality.report_context import page_context
from ivr.quality.report_csv import report_csv
from ivr.quality.report_month import Month, month_asked
from ivr.web.current_hotline import hotline
from ivr.web.downloads import csv_download

bp = Blueprint("reports", __name__, template_folder="templates")

REPORT_ROLES = ("supervisor", "quality", "admin")


@bp.get("/reports/quality")
@role_required(*REPORT_ROLES)
def quality() -> tuple[str, int] | str:
    """The month's quality report with its charts (?month=YYYY-MM, default: this month to date)."""
    report, error = _report()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    this_month = Month.current(utcnow(), hotline().settings.local_timezone)
    return render_template("reports/quality.html", **page_context(report), to_date=report.month == this_month)


@bp.get("/reports/quality.csv")
@role_required(*REPORT_ROLES)
def quality_csv() -> Response | tuple[str, int]:
    """The month's figures as CSV: section, key, metric, value."""
    report, error = _report()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return csv_download(report_csv(report), f"quality-{report.month}.csv")


def _report() -> tuple[QualityReport | None, str]:
    h = hotline()
    timezone = h.settings.local_timezone
    month, error = month_asked(request.args.get("month"), now=utcnow(), timezone=timezone)
    if month is None:
        return None, error
    with h.sessions() as session, session.begin():
        return build_quality_report(session=session, month=month, timezone=timezone), ""
