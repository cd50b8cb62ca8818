"""The supervisor console's floor pages, for shift leads, supervisors and admins only.

The live board (and its JSON), the shift lead's moves, the history by day or hour, the Erlang C staffing
calculator."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField

from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.people.forms import PostedForm
from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.queueing.agent_states import STATES, StateChangeRefused
from ivr.queueing.board import live_board
from ivr.queueing.floor_charts import history_charts, staffing_chart
from ivr.queueing.floor_figures import answering
from ivr.queueing.history import History, PeriodError, history, history_as_csv, parse_period
from ivr.queueing.local_days import local_now
from ivr.queueing.shift_moves import (
    SHIFT_LEAD_STATES,
    GroupChangeRefused,
    change_agent_groups,
    set_agent_state,
)
from ivr.queueing.staffing import (
    HALF_HOUR,
    agents_to_schedule,
    half_hour_labels,
    scheduled_agents,
    weekday_history,
)
from ivr.queueing.staffing_form import StaffingInput
from ivr.web.current_hotline import hotline
from ivr.web.downloads import csv_download
from ivr.web.figures import number, percent
from ivr.web.labels import STAGE_LABELS, STATE_LABELS, WORK_CLASS_LABELS, label
from routing import erlang

bp = Blueprint("floor", __name__, template_folder="templates")

FLOOR_ROLES = ("shift_lead", "supervisor", "admin")  # who watches the floor
MOVE_ROLES = ("shift_lead", "supervisor", "admin")  # who may change an agent's state or groups from it

QUEUE_LABELS = {
    "all": "全部 / All queues",
    "safety": "燃气安全 / Safety",
    "billing": "账单 / Billing",
    "repair": "报修 / Repair",
    "complaint": "投诉 / Complaints",
    "general": "综合 / General",
}


class AgentStateForm(PostedForm):
    """A shift lead's state change for an agent (CSRF-checked)."""

    agent_id = StringField()
    state = StringField()
    reason = StringField()


class AgentGroupsForm(PostedForm):
    """A shift lead's group change for an agent: a group to leave, a group to join, or both (a move)."""

    agent_id = StringField()
    remove = StringField()
    add = StringField()


# ---------------------------------------------------------------- live board


def _board() -> dict[str, Any]:
    h = hotline()
    with h.sessions() as session, session.begin():
        return live_board(session, rules=h.rules.live(), timezone=h.settings.local_timezone, now=utcnow())


@bp.get("/console/board")
@role_required(*FLOOR_ROLES)
def board() -> str:
    """The live board: queues, agents, today's answering, emergencies; refreshed by board.js every 3 s."""
    data = _board()
    return render_template(
        "console/board_page.html",
        data=data,
        labels=_board_labels(),
        agents=[(a["id"], a["name"]) for a in data["agents"]],
        groups=list(hotline().rules.live().calendars),
        shift_lead_states=SHIFT_LEAD_STATES,
        can_move=person().role in MOVE_ROLES,
        sl_target=SERVICE_LEVEL_TARGET,
    )


@bp.get("/console/board.json")
@role_required(*FLOOR_ROLES)
def board_json() -> Response:
    """The board's figures as JSON (what board.js polls)."""
    response = jsonify(_board())
    response.headers["Cache-Control"] = "no-store"
    return response


def _board_labels() -> dict[str, Any]:
    return {
        "states": {s: label(STATE_LABELS, s) for s in STATES},
        "queues": QUEUE_LABELS,
        "work_classes": WORK_CLASS_LABELS,
        "stages": STAGE_LABELS,
    }


@bp.post("/console/board/agent-state")
@role_required(*MOVE_ROLES)
def agent_state() -> BaseResponse:
    """Put an agent in available, break (with a reason) or offline; refused while they are on a call."""
    form = AgentStateForm()
    who = person().username
    try:
        agent_id = _agent_id(form.agent_id.data)
        with unit_of_work(hotline().sessions) as session:
            agent = set_agent_state(
                session,
                agent_id=agent_id,
                state=(form.state.data or "").strip(),
                reason=form.reason.data or "",
                by=who,
            )
            done = f"{agent.name}: {label(STATE_LABELS, agent.state)}"
    except StateChangeRefused as refused:
        flash(f"未能更改状态 / State not changed: {refused}", "error")
    else:
        flash(f"状态已更新 / State changed · {done}", "ok")
    return redirect(url_for("floor.board"))


@bp.post("/console/board/agent-groups")
@role_required(*MOVE_ROLES)
def agent_groups() -> BaseResponse:
    """Add an agent to a group of the live rules, take them out of one, or move them (both at once)."""
    form = AgentGroupsForm()
    h = hotline()
    try:
        agent_id = _agent_id(form.agent_id.data)
        with unit_of_work(h.sessions) as session:
            agent = change_agent_groups(
                session,
                rules=h.rules.live(),
                agent_id=agent_id,
                add=form.add.data or "",
                remove=form.remove.data or "",
                by=person().username,
            )
            done = f"{agent.name}: {', '.join(agent.groups or []) or '—'}"
    except (GroupChangeRefused, StateChangeRefused) as refused:
        flash(f"未能调整分组 / Groups not changed: {refused}", "error")
    else:
        flash(f"分组已更新 / Groups changed · {done}", "ok")
    return redirect(url_for("floor.board"))


def _agent_id(given: str | None) -> int:
    text = (given or "").strip()
    if not text.isdigit():
        raise StateChangeRefused("请选择坐席 / choose an agent")
    return int(text)


# ---------------------------------------------------------------- history


def _history() -> tuple[History | None, str]:
    h = hotline()
    timezone = h.settings.local_timezone
    now = utcnow()
    try:
        start, end, by = parse_period(
            request.args.get("start"),
            request.args.get("end"),
            request.args.get("by"),
            local_now(now, timezone).date(),
        )
    except PeriodError as error:
        return None, str(error)
    with h.sessions() as session, session.begin():
        return history(session, start=start, end=end, by=by, timezone=timezone, now=now), ""


@bp.get("/console/history")
@role_required(*FLOOR_ROLES)
def history_page() -> tuple[str, int] | str:
    """The same figures by day (or by hour of the day) for a period of at most 92 days, with charts."""
    report, error = _history()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    return render_template(
        "console/history_page.html",
        report=report,
        charts=history_charts(report),
        answering=answering,
        states=STATES,
        percent=percent,
        number=number,
        queue_label=lambda key: label(QUEUE_LABELS, key),
        sl_seconds=SERVICE_LEVEL_SECONDS,
        sl_target=SERVICE_LEVEL_TARGET,
    )


@bp.get("/console/history.csv")
@role_required(*FLOOR_ROLES)
def history_csv() -> Response | tuple[str, int]:
    """The history table as CSV (one line per day or hour, then the total)."""
    report, error = _history()
    if report is None:
        return render_template("admin/error.html", title="400", message=error, detail=""), 400
    name = f"floor-{report.start}-{report.end}-by-{report.by}.csv"
    return csv_download(history_as_csv(report), name)


@bp.get("/console/staffing")
@role_required(*FLOOR_ROLES)
def staffing() -> tuple[str, int] | str:
    """Erlang C: expected calls per half hour, handling time and a target give the agents needed per half
    hour, beside the agents whose groups are open then."""
    h = hotline()
    timezone = h.settings.local_timezone
    today = local_now(utcnow(), timezone).date()
    given = StaffingInput(request.args, today, h.settings.default_handle_seconds)
    history_days: list[date] = []
    history_handle: float | None = None
    with h.sessions() as session, session.begin():
        if not given.errors and (not given.given or "refill" in request.args):
            past = weekday_history(session, day=given.day, today=today, timezone=timezone)
            given.use_history(past.calls, past.handle_seconds)
            history_days, history_handle = past.days, past.handle_seconds
        if "apply" in request.args:
            given.apply_range()
        scheduled = scheduled_agents(session, rules=h.rules.live(), day=given.day, timezone=timezone)
    plan: list[erlang.Staffing] = []
    if not given.errors:
        try:
            plan = [
                erlang.agents_needed(
                    calls,
                    HALF_HOUR,
                    given.handle,
                    given.target / 100,
                    given.within,
                    None if given.max_occupancy is None else given.max_occupancy / 100,
                )
                for calls in given.calls
            ]
        except ValueError as error:
            given.errors.append(str(error))
            plan = []
    to_schedule = [agents_to_schedule(s.agents, given.shrinkage) for s in plan]
    page = render_template(
        "console/staffing_page.html",
        given=given,
        labels=half_hour_labels(),
        plan=plan,
        scheduled=scheduled,
        history_days=history_days,
        history_handle=history_handle,
        to_schedule=to_schedule,
        chart=staffing_chart(half_hour_labels(), plan, to_schedule, scheduled) if plan else None,
        percent=percent,
        number=number,
        short_slots=sum(wanted > n for wanted, n in zip(to_schedule, scheduled, strict=False)),
        previous_day=given.day - timedelta(days=1),
        next_day=given.day + timedelta(days=1),
    )
    return (page, 400) if given.errors else page
