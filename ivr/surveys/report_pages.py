"""The satisfaction report's pages: the report, the customers' comment recordings and the follow-up cases.

The report has its charts and CSV; supervisors close the follow-up cases."""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.quality.recordings import RecordingUnavailable, local_audio
from ivr.quality.report_month import Month, month_asked
from ivr.surveys.follow_ups import NOTE_MAX, FollowUpRefused, close_follow_up, follow_ups
from ivr.surveys.policy_store import live_policy
from ivr.surveys.report import SatisfactionReport, build_satisfaction_report, comment_recording_sid
from ivr.surveys.report_context import page_context
from ivr.surveys.report_csv import report_csv
from ivr.web.current_hotline import hotline
from ivr.web.downloads import csv_download
from ivr.web.labels import local_time

log = logging.getLogger(__name__)

bp = Blueprint("satisfaction", __name__, template_folder="templates")

REPORT_ROLES = ("supervisor", "quality", "admin")  # the report and the comments
CASE_ROLES = ("supervisor", "admin")  # follow-up cases


# ---------------------------------------------------------------- the report


@bp.get("/reports/satisfaction")
@role_required(*REPORT_ROLES)
def report() -> tuple[str, int] | str:
    """The month's satisfaction report with its charts (?month=YYYY-MM, default: this month to date)."""
    built, error = _report()
    if built is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    to_date = built.month == Month.current(utcnow(), hotline().settings.local_timezone)
    return render_template("satisfaction/report.html", **page_context(built), to_date=to_date)


@bp.get("/reports/satisfaction.csv")
@role_required(*REPORT_ROLES)
def report_csv_file() -> Response | tuple[str, int]:
    """The month's rows as CSV: one line per employee × service type, subtotal and the month."""
    built, error = _report()
    if built is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return csv_download(report_csv(built), f"satisfaction-{built.month}.csv")


def _report() -> tuple[SatisfactionReport | None, str]:
    h = hotline()
    timezone = h.settings.local_timezone
    month, error = month_asked(request.args.get("month"), now=utcnow(), timezone=timezone)
    if month is None:
        return None, error
    with h.sessions() as session, session.begin():
        return build_satisfaction_report(session=session, month=month, timezone=timezone), ""


# ---------------------------------------------------------------- the comments


@bp.get("/satisfaction/comments/<int:response_id>/audio")
@role_required(*REPORT_ROLES)
def comment_audio(response_id: int) -> BaseResponse:
    """A customer's recorded comment through the app: the local copy, or fetched and kept."""
    h = hotline()
    with h.sessions() as session:
        sid = comment_recording_sid(session, response_id)
    if not sid:
        _refuse(404, f"此回访没有留言录音 / Call-back answer {response_id} has no recorded comment")
    try:
        path = local_audio(sid, settings=h.settings, telephony=h.telephony)
    except RecordingUnavailable as error:
        _refuse(503, f"录音暂时无法获取 / The recording cannot be fetched now: {error}")
    # playback_log rows name a call recording (recordings.id), which a comment is not: the log file says it.
    log.info("comment of survey response %s played by user %s", response_id, person().id)
    response = send_file(path, mimetype="audio/wav", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"  # a customer's voice stays out of shared caches
    return response


# ---------------------------------------------------------------- follow-up cases


@bp.get("/satisfaction/follow-ups")
@role_required(*CASE_ROLES)
def cases() -> str:
    """Open follow-up cases first, with scores, the customer's number and comment; then closed ones."""
    return _cases_page()


@bp.post("/satisfaction/follow-ups/<int:case_id>/close")
@role_required(*CASE_ROLES)
def close(case_id: int) -> BaseResponse | tuple[str, int]:
    """Close a case with a note (required); a case already closed is reported, not closed again."""
    note = request.form.get("note", "")
    try:
        with unit_of_work(hotline().sessions) as session:
            closing = close_follow_up(session, case_id=case_id, note=note, who=person().username)
    except FollowUpRefused as refused:
        if refused.status == 404:
            _refuse(404, refused.message)
        return _cases_page(error=(case_id, refused.message), entered=note), refused.status
    if closing.closed_now:
        flash(f"跟进单 {case_id} 已关闭 / Follow-up case {case_id} closed", "ok")
    else:
        when = local_time(closing.closed_at, hotline().settings.local_timezone, seconds=False)
        flash(
            f"跟进单 {case_id} 此前已由 {closing.closed_by} 关闭，未作更改 / Case {case_id} was already "
            f"closed by {closing.closed_by} ({when}); nothing was changed",
            "info",
        )
    return redirect(url_for("satisfaction.cases"), code=303)


def _cases_page(*, error: tuple[int, str] | None = None, entered: str = "") -> str:
    h = hotline()
    with h.sessions() as session:
        found = follow_ups(session)
        labels = live_policy(session).labels
    return render_template(
        "satisfaction/cases.html",
        cases=found,
        open_count=sum(case.status == "open" for case in found),
        error=error,
        entered=entered,
        NOTE_MAX=NOTE_MAX,
        type_label=lambda key: labels.get(key, key),
    )


def _refuse(code: int, message: str) -> NoReturn:
    abort(make_response(render_template("admin/error.html", title=str(code), message=message), code))
