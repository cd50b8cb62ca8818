"""The supervisor console's floor pages: the live board (and its JSON), the shift lead's moves, the history
by day or hour, the Erlang C staffing calculator. Shift leads, supervisors and admins only."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pygal
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as BaseResponse
from wtforms import StringField

from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.hotline import hotline
from ivr.people.auth import person, role_required
from ivr.people.forms import PostedForm
from ivr.quality.report import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.quality.report_pages import (  # the report's chart look
    chart_svg,
    count_axis,
    csv_download,
    make_chart,
    number,
    percent,
)
from ivr.queueing.agent_states import STATES, StateChangeRefused
from ivr.queueing.floor import (
    HALF_HOUR,
    HALF_HOURS,
    SHIFT_LEAD_STATES,
    GroupChangeRefused,
    History,
    PeriodError,
    answering,
    change_agent_groups,
    expected_calls,
    half_hour_labels,
    history,
    history_rows,
    live_board,
    local_now,
    parse_period,
    scheduled_agents,
    set_agent_state,
)
from ivr.web.labels import STATE_LABELS, label
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
    return {"states": {s: label(STATE_LABELS, s) for s in STATES}, "queues": QUEUE_LABELS}


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
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read it as UTF-8
    csv.writer(out, lineterminator="\r\n").writerows(history_rows(report))
    name = f"floor-{report.start}-{report.end}-by-{report.by}.csv"
    return csv_download(out.getvalue(), name)


def history_charts(report: History) -> dict[str, Markup]:
    """The history's charts as inline SVG."""
    labels = [row.key[5:] if report.by == "day" else row.key for row in report.rows]
    rows = [answering(row.figures) for row in report.rows]
    every = max(1, len(labels) // 15)
    major = labels[::every]
    charts: dict[str, Markup] = {}

    volume = make_chart(
        pygal.Bar,
        "进入队列的来电 / Calls offered to a queue",
        show_legend=True,
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=700,
    )
    volume.x_labels = labels
    if any(r["offered"] for r in rows):
        volume.add("接听 / Answered", [r["answered"] for r in rows])
        volume.add("放弃 / Abandoned", [r["abandoned"] for r in rows])
        volume.add("其他 / Call-back, duty, other", [r["callback"] + r["duty"] + r["other"] for r in rows])
        count_axis(volume, [r["offered"] for r in rows])
    charts["volume"] = chart_svg(volume)

    level = make_chart(
        pygal.Line,
        f"服务水平 / Service level ({SERVICE_LEVEL_SECONDS} s), %",
        show_legend=True,
        range=(0, 100),
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=700,
    )
    level.x_labels = labels
    if any(r["service_level"] is not None for r in rows):
        level.y_labels = list(range(0, 101, 20))
        level.add("服务水平 / Service level", [_pct(r["service_level"]) for r in rows])
        level.add("放弃率 / Abandonment", [_pct(r["abandonment"]) for r in rows])
        level.add(
            "目标 / Target",
            [SERVICE_LEVEL_TARGET * 100] * len(rows),
            show_dots=False,
            stroke_style={"dasharray": "4,4"},
        )
    charts["level"] = chart_svg(level)

    asa = make_chart(
        pygal.Bar,
        "平均应答时间（秒）/ Average time to answer (s)",
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=700,
    )
    asa.x_labels = labels
    waits = [r["average_answer_seconds"] for r in rows]
    asa.add("", [None if w is None else round(w, 1) for w in waits])
    charts["asa"] = chart_svg(asa)

    staffed = make_chart(
        pygal.StackedBar,
        "坐席平均人数（不含离线）/ Mean agents by state (offline left out)",
        show_legend=True,
        x_labels_major=major,
        show_minor_x_labels=every == 1,
        width=700,
    )
    staffed.x_labels = labels
    means = [row.agents for row in report.rows]
    if any((m.get(s) or 0) > 0 for m in means for s in STATES if s != "offline"):
        for state in STATES:
            if state != "offline":
                staffed.add(label(STATE_LABELS, state), [round(m[state] or 0, 2) for m in means])
    charts["agents"] = chart_svg(staffed)
    return charts


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


# ---------------------------------------------------------------- staffing


class StaffingInput:
    """The staffing form as given (strings kept for redisplay) and as numbers, with every problem found."""

    def __init__(self, args: MultiDict[str, str], today: date, default_handle: int):
        self.args = args
        self.errors: list[str] = []
        self.day = self._day(args.get("day"), today)
        self.handle = self._number(
            "handle", args.get("handle"), default_handle, 1, 36_000, "处理时长 / handling time"
        )
        self.target = self._number(
            "target", args.get("target"), SERVICE_LEVEL_TARGET * 100, 1, 99.9, "目标 / target level"
        )
        self.within = self._number(
            "within", args.get("within"), SERVICE_LEVEL_SECONDS, 0, 3600, "应答秒数 / answer within"
        )
        occupancy = (args.get("max_occupancy") or "").strip()
        self.max_occupancy = (
            self._number("max_occupancy", occupancy, 0, 1, 100, "最高占用率 / maximum occupancy")
            if occupancy
            else None
        )
        self.given = any(f"c{n}" in args for n in range(HALF_HOURS))
        self.calls = [
            self._number(f"c{n}", args.get(f"c{n}"), 0, 0, 100_000, f"{label_} 来电 / calls")
            for n, label_ in enumerate(half_hour_labels())
        ]

    def _day(self, text: str | None, today: date) -> date:
        if not (text or "").strip():
            return today
        try:
            return date.fromisoformat((text or "").strip())
        except ValueError:
            self.errors.append(f"日期格式应为 YYYY-MM-DD / the day must be YYYY-MM-DD, not {text!r}")
            return today

    def _number(
        self, name: str, text: str | None, default: float, low: float, high: float, what: str
    ) -> float:
        if text is None or not text.strip():
            return default
        try:
            value = float(text.strip())
        except ValueError:
            self.errors.append(f"{what}：应为数字 / must be a number, not {text!r}")
            return default
        if not low <= value <= high or value != value:
            self.errors.append(
                f"{what}：应在 {low:g} 到 {high:g} 之间 / must be from {low:g} to {high:g}, not {value:g}"
            )
            return default
        return value

    def apply_range(self) -> None:
        """The "one figure for a range" part of the form: set the half hours from..to (inclusive) to it."""
        labels = half_hour_labels()
        first, last = self.args.get("fill_from", ""), self.args.get("fill_to", "")
        if first not in labels or last not in labels:
            self.errors.append("请选择时段的起止 / choose the first and last half hour of the range")
            return
        if labels.index(first) > labels.index(last):
            self.errors.append(f"时段起点晚于终点 / the range starts ({first}) after it ends ({last})")
            return
        figure = self._number(
            "fill_calls", self.args.get("fill_calls"), -1, 0, 100_000, "时段来电 / calls for the range"
        )
        if figure < 0:
            if not self.errors:
                self.errors.append(
                    "请填写该时段每半小时的来电数 / give the calls per half hour for the range"
                )
            return
        for slot in range(labels.index(first), labels.index(last) + 1):
            self.calls[slot] = figure


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
    with h.sessions() as session, session.begin():
        if not given.errors and (not given.given or "refill" in request.args):
            given.calls, history_days = expected_calls(session, day=given.day, today=today, timezone=timezone)
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
    page = render_template(
        "console/staffing_page.html",
        given=given,
        labels=half_hour_labels(),
        plan=plan,
        scheduled=scheduled,
        history_days=history_days,
        chart=staffing_chart(half_hour_labels(), plan, scheduled) if plan else None,
        percent=percent,
        number=number,
        short_slots=sum(s.agents > n for s, n in zip(plan, scheduled, strict=False)),
        previous_day=given.day - timedelta(days=1),
        next_day=given.day + timedelta(days=1),
    )
    return (page, 400) if given.errors else page


def staffing_chart(
    labels: Sequence[str], plan: Sequence[erlang.Staffing], scheduled: Sequence[int]
) -> Markup:
    """Agents needed beside agents scheduled, per half hour."""
    chart = make_chart(
        pygal.Line,
        "所需坐席与排班坐席 / Agents needed and agents scheduled",
        show_legend=True,
        x_labels_major=[label_ for label_ in labels if label_.endswith(":00") and int(label_[:2]) % 3 == 0],
        show_minor_x_labels=False,
        width=900,
    )
    chart.x_labels = list(labels)
    chart.add("所需 / Needed", [s.agents for s in plan])
    chart.add("排班 / Scheduled", list(scheduled))
    count_axis(chart, [*(s.agents for s in plan), *scheduled])
    return chart_svg(chart)
