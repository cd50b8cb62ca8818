"""The agent's page: their state, the buttons to change it, and the caller they are connected to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.db.models import Agent, utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import Person, person, role_required
from ivr.people.forms import StateForm
from ivr.queueing.agent_panel import agent_status, connected_caller
from ivr.queueing.agent_states import StateChangeRefused
from ivr.queueing.dispositions import OUTCOMES, DispositionRefused, record_disposition
from ivr.queueing.owned_orders import late_orders_of_agent
from ivr.queueing.state_change import change_state
from ivr.web.current_hotline import hotline
from ivr.web.labels import STATE_LABELS, label
from ivr.work_orders.cases import Actor
from ivr.work_orders.lifecycle import WORK_CLASSES

bp = Blueprint("agent_page", __name__, template_folder="templates")

VIEWERS = ("shift_lead", "supervisor", "admin")  # may look at an agent's page, never press its buttons


@bp.get("/agent")
@role_required("agent", *VIEWERS)
def agent() -> str:
    """The page itself; a viewer without ?agent_id= gets the list of agents to choose from."""
    agent_id = _agent_id(person())
    if agent_id is None:
        with hotline().sessions() as session:
            agents = session.scalars(select(Agent).order_by(Agent.name)).all()
        return render_template("admin/agents.html", agents=agents)
    return _page(agent_id)


@bp.get("/agent/panel")
@role_required("agent", *VIEWERS)
def panel() -> Response:
    """The state and caller part of the page alone: the page's script fetches it every few seconds."""
    agent_id = _agent_id(person())
    if agent_id is None:
        _refuse(400, "请指定坐席 / Which agent? Add ?agent_id=N")
    response = make_response(render_template("admin/_agent_panel.html", **_panel(agent_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/agent/state")
@role_required("agent")
def state() -> Response:
    """A button on the page: available, break (with a reason), offline, or end wrap-up early."""
    who = person()
    form = StateForm()
    try:
        status = change_state(
            hotline().sessions,
            agent_id=_own_agent_id(who),
            state=(form.state.data or "").strip(),
            reason=form.reason.data or "",
            by=who.username,
            needs_disposition=hotline().settings.wrap_up_needs_disposition,
        )
    except StateChangeRefused as refused:
        flash(f"未能更改状态 / State not changed: {refused}", "error")
    else:
        flash(f"状态已更新 / State now: {label(STATE_LABELS, status['state'])}", "ok")
    return redirect(url_for("agent_page.agent"))


@bp.post("/agent/disposition")
@role_required("agent")
def disposition() -> Response | tuple[str, int]:
    """The disposition form: the class of request, the outcome and notes of the current or last call."""
    who = person()
    form = request.form
    try:
        with unit_of_work(hotline().sessions) as session:
            recorded = record_disposition(
                session,
                agent_id=_own_agent_id(who),
                actor=Actor(who.username, who.id),
                work_class=form.get("work_class", "").strip(),
                outcome=form.get("outcome", "").strip(),
                notes=form.get("notes", ""),
                work_order_number=form.get("work_order_number", ""),
            )
            number = recorded.work_order_number
    except DispositionRefused as refused:
        # The page again with what was typed, so the notes are not lost.
        flash(f"未能记录处理结果 / Disposition not recorded: {refused}", "error")
        return _page(_own_agent_id(who), given=form), 400
    else:
        order = f" · 工单 / work order {number}" if number else ""
        flash(f"处理结果已记录 / Disposition recorded{order}", "ok")
    return redirect(url_for("agent_page.agent"))


def _page(agent_id: int, given: Mapping[str, str] | None = None) -> str:
    return render_template(
        "admin/agent.html",
        read_only=person().role != "agent",
        work_classes=WORK_CLASSES,
        outcomes=OUTCOMES,
        given=given or {},
        **_panel(agent_id),
    )


def _agent_id(who: Person) -> int | None:
    """Whose page: an agent's own; for a viewer, the ?agent_id= asked for (None: not chosen yet)."""
    asked = request.args.get("agent_id", "").strip()
    if who.role == "agent":
        own = _own_agent_id(who)
        if asked and asked != str(own):
            _refuse(403, "坐席只能查看自己的页面 / Agents see only their own page")
        return own
    if not asked:
        return None
    if not asked.isdigit():
        _refuse(400, f"agent_id 应为数字 / agent_id must be a number, not {asked!r}")
    return int(asked)


def _own_agent_id(who: Person) -> int:
    if who.agent_id is None:
        _refuse(403, "您的账号未关联坐席 / Your user is not linked to an agent; ask an admin")
    return who.agent_id


def _panel(agent_id: int) -> dict[str, Any]:
    with hotline().sessions() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            _refuse(404, f"没有此坐席 / There is no agent with id {agent_id}")
        late = late_orders_of_agent(session, agent_id, utcnow(), hotline().settings.local_timezone)
        return {"agent": agent_status(agent), "caller": connected_caller(session, agent), "late_orders": late}


def _refuse(code: int, message: str) -> NoReturn:
    # A rendered page rather than the app's plain-text error: people read this one.
    abort(make_response(render_template("admin/error.html", title=str(code), message=message), code))
