"""The satisfaction report (page with charts, CSV, self-contained file), the customers' comment recordings,
and the follow-up cases supervisors close."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, NoReturn

import pygal
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
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from ivr.db.session import unit_of_work
from ivr.hotline import Hotline, hotline
from ivr.people.auth import person, role_required
from ivr.quality.recordings import RecordingUnavailable, local_audio
from ivr.quality.report_pages import (  # the quality report's look and its month and CSV handling
    CHART_STYLE,
    bar_chart,
    chart_height,
    chart_svg,
    csv_download,
    make_chart,
    requested_month,
)
from ivr.surveys.draws import live_policy
from ivr.surveys.report import (
    NOTE_MAX,
    SCORES,
    TARGET_PERCENT,
    TOP_BOX,
    FollowUpRefused,
    SatisfactionReport,
    build_satisfaction_report,
    close_follow_up,
    comment_recording_sid,
    follow_ups,
    mean_text,
    rate_text,
    report_csv,
    satisfaction_text,
)
from ivr.web.layout import STATIC_DIR

log = logging.getLogger(__name__)

bp = Blueprint("satisfaction", __name__, template_folder="templates")

REPORT_ROLES = ("supervisor", "quality", "admin")  # the report and the comments
CASE_ROLES = ("supervisor", "admin")  # follow-up cases

_STATIC_CSS = STATIC_DIR / "admin.css"
# The target as a red dashed guide across the per-employee chart (pygal draws "major" guides with it).
_TARGET_STYLE = copy.deepcopy(CHART_STYLE)
_TARGET_STYLE.major_guide_stroke_color = "#c62828"
_TARGET_STYLE.major_guide_stroke_dasharray = "8,4"
_MET, _NOT_MET = "#1a7f37", "#c62828"


# ---------------------------------------------------------------- the report


@bp.get("/reports/satisfaction")
@role_required(*REPORT_ROLES)
def report() -> tuple[str, int] | str:
    """The month's satisfaction report with its charts (?month=YYYY-MM, default: the last complete month)."""
    built, error = _report()
    if built is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return render_template("satisfaction/report.html", **page_context(built))


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
    month, error = requested_month(timezone)
    if month is None:
        return None, error
    with h.sessions() as session, session.begin():
        return build_satisfaction_report(session=session, month=month, timezone=timezone), ""


def page_context(built: SatisfactionReport, *, standalone: bool = False) -> dict[str, Any]:
    """What the page and the standalone file need."""
    labels = built.service_type_labels
    return {
        "report": built,
        "charts": report_charts(built),
        "standalone": standalone,
        "type_label": lambda key: labels.get(key, key),
        "TARGET": TARGET_PERCENT,
        "TOP_BOX": TOP_BOX,
        "mean": mean_text,
        "rate": rate_text,
        "satisfaction": satisfaction_text,
    }


def standalone_html(built: SatisfactionReport) -> str:
    """The report as one HTML file: styles and charts inline (call inside the app's context)."""
    css = _STATIC_CSS.read_text(encoding="utf-8")
    return render_template(
        "satisfaction/report_file.html", inline_css=Markup(css), **page_context(built, standalone=True)
    )


def report_charts(built: SatisfactionReport) -> dict[str, Markup]:
    """The distributions of the scores and satisfaction per employee against the target, as inline SVG."""
    labels = [str(score) for score in SCORES]
    charts = {
        "attitude": bar_chart(
            make_chart(pygal.Bar, "服务态度评分分布 / Attitude scores", print_values=True),
            labels,
            built.total.attitude_counts,
        ),
        "ability": bar_chart(
            make_chart(pygal.Bar, "专业能力评分分布 / Ability scores", print_values=True),
            labels,
            built.total.ability_counts,
        ),
    }
    scored = [row for row in reversed(built.by_employee) if row.satisfaction_percent is not None]
    chart = make_chart(
        pygal.HorizontalBar,
        f"满意度 / Satisfaction per employee · target {TARGET_PERCENT} %",
        style=_TARGET_STYLE,
        print_values=True,
        range=(0, 100),
        height=chart_height(len(scored)),
    )
    chart.x_labels = [row.employee for row in scored]
    if scored:  # (pygal fails on labels for an empty chart)
        chart.y_labels = [0, 20, 40, 60, 80, TARGET_PERCENT]
        chart.y_labels_major = [TARGET_PERCENT]
        chart.add(
            "",
            [
                {
                    "value": float(satisfaction_text(row.satisfaction_percent)),
                    "color": _MET if row.target_met else _NOT_MET,
                }
                for row in scored
            ],
        )
    charts["employees"] = chart_svg(chart)
    return charts


def write_report_files(
    hotline: Hotline, built: SatisfactionReport, *, csv_path: Path | None, html_path: Path | None
) -> list[Path]:
    """Write the CSV and/or the self-contained HTML file of a report; the paths written."""
    from ivr.app import create_app

    written = []
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        with csv_path.open("w", encoding="utf-8", newline="") as file:  # the CSV brings its own \r\n
            file.write(report_csv(built))
        written.append(csv_path)
    if html_path is not None:
        with create_app(hotline=hotline).app_context():
            html = standalone_html(built)
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(html, encoding="utf-8")
        written.append(html_path)
    return written


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
        path = local_audio(h, sid)
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
        when = closing.closed_at.strftime("%Y-%m-%d %H:%M") + " UTC" if closing.closed_at else "?"
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
