"""The agent API (JSON, bearer tokens): read your state and caller, change state, record a disposition."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.queueing.agent_panel import agent_status, connected_caller, disposition_view
from ivr.queueing.agent_states import REQUESTABLE, StateChangeRefused
from ivr.queueing.dispositions import DispositionRefused, record_disposition
from ivr.queueing.state_change import change_state
from ivr.web.current_hotline import hotline
from ivr.work_orders.cases import Actor

bp = Blueprint("agent_api", __name__, url_prefix="/api")

Answer = tuple[Response, int]


@bp.get("/agent/me")
@role_required("agent", token=True)
def me() -> Answer:
    """The token's agent: state, and the caller they are connected to (null when none)."""
    who = person()
    if who.agent_id is None:
        return _error(403, f"user {who.username!r} is not linked to an agent; ask an admin")
    with hotline().sessions() as session:
        agent = session.get(Agent, who.agent_id)
        if agent is None:
            return _error(403, f"the agent of user {who.username!r} no longer exists; ask an admin")
        body = {
            "user": who.username,
            "agent": agent_status(agent),
            "caller": connected_caller(session, agent),
        }
    return jsonify(body), 200


@bp.post("/agent/state")
@role_required("agent", token=True)
def set_state() -> Answer:
    """Ask for available, break (with a reason) or offline; 200 with the new state, 400 saying why not."""
    who = person()
    if who.agent_id is None:
        return _error(403, f"user {who.username!r} is not linked to an agent; ask an admin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(
            400, 'send a JSON object, e.g. {"state": "break", "reason": "lunch"}, as application/json'
        )
    try:
        state, reason = _wanted(body)
    except ValueError as bad:
        return _error(400, str(bad))
    try:
        status = change_state(
            hotline().sessions,
            agent_id=who.agent_id,
            state=state,
            reason=reason,
            by=who.username,
            needs_disposition=hotline().settings.wrap_up_needs_disposition,
        )
    except StateChangeRefused as refused:
        return _error(400, str(refused))
    return jsonify(agent=status), 200


@bp.post("/agent/disposition")
@role_required("agent", token=True)
def disposition() -> Answer:
    """Record the current or last call's disposition: 201 with it, 400 saying what is missing or refused."""
    who = person()
    if who.agent_id is None:
        return _error(403, f"user {who.username!r} is not linked to an agent; ask an admin")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(
            400,
            'send a JSON object, e.g. {"work_class": "enquiry", "outcome": "answered", "notes": "..."}, '
            "as application/json",
        )
    fields = {name: body.get(name) or "" for name in ("work_class", "outcome", "notes", "work_order_number")}
    wrong = [name for name, value in fields.items() if not isinstance(value, str)]
    if wrong:
        return _error(400, f'"{wrong[0]}" must be a string')
    try:
        with unit_of_work(hotline().sessions) as session:
            recorded = record_disposition(
                session,
                agent_id=who.agent_id,
                actor=Actor(who.username, who.id),
                work_class=fields["work_class"].strip(),
                outcome=fields["outcome"].strip(),
                notes=fields["notes"],
                work_order_number=fields["work_order_number"],
            )
            view = disposition_view(recorded)
    except DispositionRefused as refused:
        return _error(400, str(refused))
    return jsonify(disposition=view), 201


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Answer:
    # API clients get JSON for every error raised inside these views (a body too large, ...).
    return _error(error.code or 500, str(error.description))


def _wanted(body: dict[str, Any]) -> tuple[str, str]:
    """The state and reason asked for; ValueError saying what is wrong with them."""
    state, reason = body.get("state"), body.get("reason")
    choices = ", ".join(REQUESTABLE)
    if state is None or state == "":
        raise ValueError(f'"state" is missing; ask for one of {choices}')
    if not isinstance(state, str) or state not in REQUESTABLE:
        raise ValueError(f'"state" {state!r} cannot be asked for; ask for one of {choices}')
    if reason is not None and not isinstance(reason, str):
        raise ValueError('"reason" must be a string')
    return state, reason or ""


def _error(code: int, message: str) -> Answer:
    return jsonify(error=message), code
