"""The quality pages: the audit sample, reviewing a sampled call, the scorecard, an agent's reviewed calls.

The daily audit sample, a sampled call with its recording and the scorecard form, the scorecard and its
versions (supervisors publish), and an agent's own reviewed calls."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.configuration.menus.validation import Problem
from ivr.db.models import Agent, ScorecardVersion
from ivr.db.session import unit_of_work
from ivr.events.store import call_inputs
from ivr.people.auth import person, role_required
from ivr.quality import reviews, scorecard_versions, scorecards
from ivr.quality.scorecard_versions import ScorecardConflict
from ivr.quality.scorecards import NA, InvalidScorecard
from ivr.web.current_hotline import hotline

bp = Blueprint("quality", __name__, template_folder="templates", url_prefix="/quality")

REVIEWERS = ("quality", "supervisor", "admin")  # open the sample, listen, score
EDITORS = ("supervisor", "admin")  # publish scorecard versions

ITEM_STATUSES = {"pending": "待审 / Pending", "done": "已审 / Reviewed"}
ANSWER_LABELS = {100: "通过 / Pass", 50: "部分 / Partial", 0: "未通过 / Fail", NA: "不适用 / N/A"}
OUTCOMES = {
    "answered": "已接听 / Answered",
    "abandoned": "放弃 / Abandoned",
    "queued": "排队中 / Queued",
    "callback-owed": "待回电 / Call-back owed",
    "ended-in-menu": "菜单内挂机 / Ended in the menu",
    "rescued": "故障兜底 / Rescued",
    "duty-engineer-answered": "值班工程师接听 / Duty engineer answered",
}
_INTENT = re.compile(r"^[a-z_]{1,20}$")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "ITEM_STATUSES": ITEM_STATUSES,
        "OUTCOMES": OUTCOMES,
        "answer_label": answer_label,
        "duration": duration,
        "EDITORS": EDITORS,
    }


def answer_label(answer: Any) -> str:
    """How an answer is shown: pass, partial, fail, N/A, or a percentage given some other way."""
    return ANSWER_LABELS.get(answer, f"{answer}%")


def duration(seconds: int | None) -> str:
    """Seconds as m:ss (or h:mm:ss), a dash when unknown."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------- the sample


@bp.get("")
@role_required(*REVIEWERS)
def sample() -> str:
    """One day's audit sample, filtered by agent, intent and status (the newest day unless ?date=)."""
    day_text = request.args.get("date", "").strip()
    agent_text = request.args.get("agent", "").strip()
    intent = request.args.get("intent", "").strip() or None
    status = request.args.get("status", "").strip() or None
    problems = []
    day = None
    if day_text:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            problems.append(f"date 应为 YYYY-MM-DD / date must be YYYY-MM-DD, not {day_text!r}")
    if agent_text and not agent_text.isdigit():
        problems.append(f"agent 应为坐席编号 / agent must be an agent id, not {agent_text!r}")
    if intent and not _INTENT.match(intent):
        problems.append(f"intent 无效 / intent {intent!r} is not an intent")
    if status and status not in reviews.STATUSES:
        problems.append(f"status 应为 pending 或 done / status must be pending or done, not {status!r}")
    if problems:
        _refuse(400, "筛选条件有误 / The filter is wrong", "; ".join(problems))
    agent_id = int(agent_text) if agent_text else None
    with hotline().sessions() as session:
        days = reviews.sample_days(session)
        day = day or (days[0] if days else None)
        drawn = reviews.sample_of_day(session, day) if day else None
        calls = (
            reviews.sampled_calls(
                session, sample_id=drawn.id, agent_id=agent_id, intent=intent, status=status
            )
            if drawn
            else []
        )
        agents = session.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all()
    chosen = {"date": day.isoformat() if day else "", "agent": agent_id, "intent": intent, "status": status}
    return render_template(
        "quality/sample.html", sample=drawn, calls=calls, days=days, agents=agents, chosen=chosen
    )


@bp.get("/calls/<call_sid>")
@role_required(*REVIEWERS)
def call(call_sid: str) -> Response:
    """A call by its CallSid: to its place in the audit sample."""
    with hotline().sessions() as session:
        item_id = reviews.item_of_call(session, call_sid)
    if item_id is None:
        _refuse(404, f"通话 {call_sid} 不在质检抽样中 / Call {call_sid} is not in the audit sample")
    return redirect(url_for("quality.item", item_id=item_id))


@bp.get("/items/<int:item_id>")
@role_required(*REVIEWERS)
def item(item_id: int) -> str:
    """A sampled call: its details, its recording, and the scorecard to fill in (or its review)."""
    return _item_page(item_id)


@bp.post("/items/<int:item_id>/review")
@role_required(*REVIEWERS)
def review(item_id: int) -> Response | tuple[str, int]:
    """Submit the scorecard for a sampled call: stored whole, once; a refusal names every problem."""
    form = request.form
    answers = {key.removeprefix("answer-"): value for key, value in form.items() if key.startswith("answer-")}
    version_text = form.get("scorecard_version", "").strip()
    try:
        with unit_of_work(hotline().sessions) as session:
            stored = reviews.submit_review(
                session,
                item_id=item_id,
                reviewer_id=person().id,
                scorecard_version=int(version_text) if version_text.isdigit() else None,
                answers=answers,
                findings=form.get("findings", ""),
                correction=form.get("correction", ""),
            )
            score, auto_failed = stored.score, stored.auto_failed
    except reviews.ReviewRefused as refused:
        if refused.status == 404:
            _refuse(404, f"未找到 / Not found: {refused.message}")
        title = "评分未保存 / Review not saved" if refused.status == 400 else "已审核 / Already reviewed"
        return _item_page(
            item_id,
            error=(title, refused.message, refused.problems),
            entered={"answers": answers, "version": version_text, **form},
        ), refused.status
    verdict = "（一票否决 / automatic fail）" if auto_failed else ""
    flash(f"评分已提交：{score:g} 分{verdict} / Review saved: score {score:g}", "ok")
    return redirect(url_for("quality.item", item_id=item_id))


def _item_page(
    item_id: int,
    *,
    error: tuple[str, str, list[Problem]] | None = None,
    entered: dict[str, Any] | None = None,
) -> str:
    scorecard_versions.ensure_scorecard(hotline().sessions)
    with hotline().sessions() as session:
        found = reviews.sampled_call(session, item_id)
        if found is None:
            _refuse(404, f"质检抽样中没有此通话 / There is no sampled call {item_id}")
        done = reviews.review_view(session, found.review_id) if found.review_id else None
        version = _form_version(session, entered)
        inputs = call_inputs(session, found.call_sid)
    return render_template(
        "quality/item.html",
        call=found,
        inputs=inputs,
        done=done,
        version=version,
        card=scorecard_versions.scorecard_of(version),
        error=error,
        entered=entered or {},
    )


def _form_version(session: Any, entered: dict[str, Any] | None) -> ScorecardVersion:
    """The scorecard the form shows: the one it was filled in on (after a refusal), else the latest."""
    asked = str((entered or {}).get("version", ""))
    row = session.get(ScorecardVersion, int(asked)) if asked.isdigit() else None
    latest = row or scorecard_versions.latest_version(session)
    assert latest is not None  # ensure_scorecard stored one
    return latest


# ---------------------------------------------------------------- the scorecard


@bp.get("/scorecard")
@role_required(*REVIEWERS)
def scorecard() -> str:
    """The latest scorecard, its versions, and (for supervisors and admins) the editor."""
    return _scorecard_page(None)


@bp.get("/scorecard/<int:version>")
@role_required(*REVIEWERS)
def scorecard_version(version: int) -> str:
    """One published version of the scorecard, as reviews that used it were scored."""
    return _scorecard_page(version)


@bp.post("/scorecard")
@role_required(*EDITORS)
def publish() -> Response | tuple[str, int]:
    """Validate the edited document (TOML or JSON) and publish it as the next version."""
    text = request.form.get("document", "")
    based_text = request.form.get("based_on", "").strip()
    try:
        document = scorecards.read_document(text)
        with unit_of_work(hotline().sessions) as session:
            row = scorecard_versions.publish_scorecard(
                session,
                document,
                created_by=person().username,
                based_on=int(based_text) if based_text.isdigit() else None,
            )
            number = row.version
    except InvalidScorecard as invalid:
        message = "评分表有误，未发布 / The scorecard was not published; correct these:"
        return _scorecard_page(None, text=text, error=(message, invalid.problems)), 400
    except ScorecardConflict as conflict:
        return _scorecard_page(None, text=text, error=(f"未发布 / Not published: {conflict}", [])), 409
    flash(f"已发布第 {number} 版 / Published version {number}", "ok")
    return redirect(url_for("quality.scorecard"))


def _scorecard_page(
    version: int | None, *, text: str | None = None, error: tuple[str, list[Problem]] | None = None
) -> str:
    scorecard_versions.ensure_scorecard(hotline().sessions)
    with hotline().sessions() as session:
        latest = scorecard_versions.latest_version(session)
        assert latest is not None
        shown = latest if version is None else session.get(ScorecardVersion, version)
        if shown is None:
            _refuse(404, f"没有第 {version} 版评分表 / There is no scorecard version {version}")
        versions = session.scalars(select(ScorecardVersion).order_by(ScorecardVersion.version.desc())).all()
    editing = text if text is not None else json.dumps(latest.document, ensure_ascii=False, indent=2)
    return render_template(
        "quality/scorecard.html",
        shown=shown,
        card=scorecard_versions.scorecard_of(shown),
        latest=latest,
        versions=versions,
        can_edit=person().role in EDITORS,
        text=editing,
        error=error,
    )


# ---------------------------------------------------------------- an agent's own reviews


@bp.get("/mine")
@role_required("agent")
def mine() -> str:
    """The signed-in agent's reviewed calls: score, and a link to the findings."""
    agent_id = _own_agent_id()
    with hotline().sessions() as session:
        calls = reviews.reviewed_calls_of_agent(session, agent_id)
    return render_template("quality/mine.html", calls=calls)


@bp.get("/reviews/<int:review_id>")
@role_required("agent", *REVIEWERS)
def review_page(review_id: int) -> str:
    """A submitted review: for its agent, and for quality staff, supervisors and admins."""
    with hotline().sessions() as session:
        view = reviews.review_view(session, review_id)
    if view is None:
        _refuse(404, f"没有此质检结果 / There is no review {review_id}")
    if person().role == "agent" and view.call.agent_id != _own_agent_id():
        _refuse(403, "坐席只能查看自己的质检结果 / Agents see only their own reviews")
    return render_template("quality/review.html", done=view, call=view.call)


def _own_agent_id() -> int:
    who = person()
    if who.agent_id is None:
        _refuse(403, "您的账号未关联坐席 / Your user is not linked to an agent; ask an admin")
    return who.agent_id


def _refuse(code: int, message: str, detail: str = "") -> NoReturn:
    abort(
        make_response(
            render_template("admin/error.html", title=str(code), message=message, detail=detail), code
        )
    )


@bp.get("/recordings")
@role_required(*REVIEWERS)
def recordings() -> str:
    """Every recording of one local day, failed and absent ones included: nothing missing goes unseen."""
    from ivr.db.models import Recording, utcnow
    from ivr.quality.audit_sampling import local_day_bounds, previous_local_day

    settings = hotline().settings
    day_text = request.args.get("date", "").strip()
    try:
        day = (
            date.fromisoformat(day_text)
            if day_text
            else previous_local_day(utcnow(), settings.local_timezone)
        )
    except ValueError:
        _refuse(400, "日期有误 / The date is wrong", f"date must be YYYY-MM-DD, not {day_text!r}")
    start, end = local_day_bounds(day, settings.local_timezone)
    with hotline().sessions() as session:
        rows = session.execute(
            select(Recording, Agent.name)
            .outerjoin(Agent, Agent.id == Recording.agent_id)
            .where(Recording.started_at >= start, Recording.started_at < end)
            .order_by(Recording.started_at)
        ).all()
    counts = {
        status: sum(1 for r, _ in rows if r.status == status) for status in ("completed", "failed", "absent")
    }
    return render_template("quality/recordings.html", rows=rows, day=day, counts=counts)
