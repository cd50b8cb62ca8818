"""The call-back jobs pages: the list, a job's own page, and retry / cancel with a reason.

The list filters by status, due date and service type, is paged, and shows each job's tries. Supervisors and
admins act; quality staff, who read the satisfaction results, may look. The rules are in
ivr/surveys/job_actions.py (docs/callbacks.md)."""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.surveys.job_actions import (
    STATUSES,
    JobFilter,
    JobRefused,
    cancel_job,
    job_changes,
    job_row,
    list_jobs,
    retry_job,
    service_types,
)
from ivr.surveys.jobs import calling_rules
from ivr.web.current_hotline import hotline
from ivr.web.labels import DayError, local_time, parse_day

bp = Blueprint("callback_jobs", __name__, template_folder="templates", url_prefix="/console/callback-jobs")
EDITORS = ("supervisor", "admin")
VIEWERS = (*EDITORS, "quality")

STATUS_LABELS = {
    "queued": "待拨 / Queued",
    "dialling": "拨打中 / Dialling",
    "completed": "已完成 / Completed",
    "partial": "部分完成 / Partial",
    "refused": "客户拒绝 / Declined",
    "unreachable": "未接通 / Unreachable",
    "expired": "已过期 / Expired",
    "cancelled": "已取消 / Cancelled",
}


@bp.get("")
@role_required(*VIEWERS)
def page() -> tuple[str, int]:
    """The jobs matching the filters, a page at a time."""
    args = request.args
    problems: list[str] = []
    status = args.get("status", "").strip() or None
    if status is not None and status not in STATUSES:
        problems.append(f"状态无效 / status must be one of {', '.join(STATUSES)} (not {status!r})")
        status = None
    due_from, due_to = _day("from", "从 / from", problems), _day("to", "到 / to", problems)
    if due_from and due_to and due_from > due_to:
        problems.append("开始日期晚于结束日期 / the from date is after the to date")
    page_text = args.get("page", "1").strip()
    if not page_text.isdigit() or not 0 < int(page_text) < 1_000_000:
        problems.append(f"页码应为正整数 / page must be a whole number from 1 (not {page_text!r})")
        page_text = "1"
    wanted = JobFilter(
        status=status,
        due_from=due_from,
        due_to=due_to,
        service_type=args.get("service_type", "").strip()[:50] or None,
        page=int(page_text),
    )
    timezone = hotline().settings.local_timezone
    with hotline().sessions() as session:
        found = list_jobs(session, wanted, timezone=timezone) if not problems else None
        types = service_types(session)
    shown = {key: value for key, value in args.items() if key != "page" and value}
    html = render_template(
        "callbacks/jobs.html",
        found=found,
        problems=problems,
        args=args,
        shown=shown,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        types=types,
        can_act=person().role in EDITORS,
    )
    return html, 400 if problems else 200


@bp.get("/<int:job_id>")
@role_required(*VIEWERS)
def job(job_id: int) -> tuple[str, int]:
    """One job: its completion, tries, what people did to it, and the retry / cancel forms."""
    return _job_page(job_id)


@bp.post("/<int:job_id>/retry")
@role_required(*EDITORS)
def retry(job_id: int) -> Response | tuple[str, int]:
    """Queue a given-up job again now; refused (nothing written) when its state does not allow it."""
    settings = hotline().settings
    try:
        with unit_of_work(hotline().sessions) as session:
            retried = retry_job(
                session,
                job_id,
                who=person().username,
                rules=calling_rules(settings),
                now=utcnow(),
                note=request.form.get("note", ""),
            )
            due = retried.due_at
    except JobRefused as refused:
        return _job_page(job_id, refused=refused.message, status=refused.status)
    flash(f"任务 {job_id} 已重新排队 / Job {job_id} is queued again (due {_local(due)})", "ok")
    return redirect(url_for("callback_jobs.job", job_id=job_id))


@bp.post("/<int:job_id>/cancel")
@role_required(*EDITORS)
def cancel(job_id: int) -> Response | tuple[str, int]:
    """Cancel a queued job with the reason; refused (nothing written) once a call is under way or over."""
    reason = request.form.get("reason", "")
    try:
        with unit_of_work(hotline().sessions) as session:
            cancel_job(session, job_id, who=person().username, reason=reason, now=utcnow())
    except JobRefused as refused:
        return _job_page(job_id, refused=refused.message, status=refused.status, reason=reason)
    flash(f"任务 {job_id} 已取消 / Job {job_id} is cancelled", "ok")
    return redirect(url_for("callback_jobs.job", job_id=job_id))


def _day(name: str, what: str, problems: list[str]) -> date | None:
    """A date filter (YYYY-MM-DD) or None; a malformed one is added to `problems`."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_day(text, what)
    except DayError as error:
        problems.append(str(error))
        return None


def _local(moment: datetime) -> str:
    return local_time(moment, hotline().settings.local_timezone, seconds=False)


def _job_page(
    job_id: int, *, refused: str | None = None, status: int = 200, reason: str = ""
) -> tuple[str, int]:
    with hotline().sessions() as session:
        row = job_row(session, job_id)
        entries = job_changes(session, job_id) if row else []
    if row is None:
        message = f"没有回访任务 {job_id} / there is no call-back job {job_id}"
        return render_template("admin/error.html", title="404", message=message), 404
    html = render_template(
        "callbacks/job.html",
        job=row,
        entries=entries,
        refused=refused,
        reason=reason,
        status_labels=STATUS_LABELS,
        can_act=person().role in EDITORS,
    )
    return html, status
