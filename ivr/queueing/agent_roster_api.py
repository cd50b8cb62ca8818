"""The roster API (JSON, bearer tokens) for bulk work on the agents (docs/agents.md).

List, add, replace or change, take out of service and back, and import a CSV roster. Reading is for admin,
supervisor and shift_lead tokens; changing for admin and supervisor, as on the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.queueing.agent_csv import RosterFileRefused, import_roster
from ivr.queueing.agent_roster import (
    AgentNotFound,
    InvalidAgent,
    RosterRefused,
    add_agent,
    deactivate_agent,
    edit_agent,
    reactivate_agent,
    roster,
    snapshot,
)
from ivr.web.current_hotline import hotline

bp = Blueprint("agent_roster_api", __name__, url_prefix="/api/agents")

READ = ("admin", "supervisor", "shift_lead")
WRITE = ("admin", "supervisor")
READ_ONLY = ("id", "state", "state_reason")  # what GET gives besides the fields; sent back, they are ignored
CSV_TYPES = ("text/csv", "text/plain", "application/csv")

Answer = tuple[Response, int]


def register(app: Flask) -> None:
    """Add the API; it takes bearer tokens, so it is exempt from the pages' CSRF check."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.register_blueprint(bp)


def agent_json(agent: Agent) -> dict[str, Any]:
    """An agent as the API gives it: the roster fields, in service or not, and the state routing sees."""
    return {"id": agent.id, **snapshot(agent), "state": agent.state, "state_reason": agent.state_reason}


@bp.get("")
@role_required(*READ, token=True)
def list_agents() -> Answer:
    """Every agent, in service first."""
    with hotline().sessions() as session:
        return jsonify(agents=[agent_json(agent) for agent in roster(session)]), 200


@bp.get("/<int:agent_id>")
@role_required(*READ, token=True)
def read(agent_id: int) -> Answer:
    """One agent."""
    with hotline().sessions() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            return _error(404, f"there is no agent with id {agent_id}")
        return jsonify(agent_json(agent)), 200


@bp.post("")
@role_required(*WRITE, token=True)
def create() -> Answer:
    """Add an agent: 201 with it; 422 with every problem, each naming its field."""
    body = _fields(_body(), None)
    return _write(lambda session, rules, by: add_agent(session, values=body, rules=rules, by=by), 201)


@bp.put("/<int:agent_id>")
@role_required(*WRITE, token=True)
def replace(agent_id: int) -> Answer:
    """Replace every roster field (a field left out takes its default: no groups, no wrap-up override)."""
    return _edit(agent_id, partial=False)


@bp.patch("/<int:agent_id>")
@role_required(*WRITE, token=True)
def change(agent_id: int) -> Answer:
    """Change only the fields given."""
    return _edit(agent_id, partial=True)


@bp.post("/<int:agent_id>/deactivate")
@role_required(*WRITE, token=True)
def deactivate(agent_id: int) -> Answer:
    """Out of service: offline and never offered a call again; 409 if already."""
    return _write(lambda session, _rules, by: deactivate_agent(session, agent_id=agent_id, by=by), 200)


@bp.post("/<int:agent_id>/reactivate")
@role_required(*WRITE, token=True)
def reactivate(agent_id: int) -> Answer:
    """Back in service (offline until they go available); 409 if in service."""
    return _write(lambda session, _rules, by: reactivate_agent(session, agent_id=agent_id, by=by), 200)


@bp.post("/import")
@role_required(*WRITE, token=True)
def import_csv() -> Answer:
    """A CSV roster as the body (text/csv, UTF-8); ?dry_run=1 reports without saving. 200 with the
    per-row report (refused rows included: they wrote nothing); 400 if the file cannot be read at all."""
    if request.mimetype not in CSV_TYPES:
        sent = request.mimetype or "no content type"
        return _error(415, f"send the roster as text/csv (UTF-8), not {sent}")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _error(400, "the body is not UTF-8 text: save the CSV as UTF-8")
    dry_run = request.args.get("dry_run", "").lower() in ("1", "true", "yes")
    h = hotline()
    with h.sessions() as session:
        try:
            report = import_roster(
                session, text=text, rules=h.rules.live(), by=_by(), dry_run=dry_run
            )
        except RosterFileRefused as refused:
            return _error(400, str(refused))
        except RosterRefused as refused:  # a row raced another change: the whole import is rolled back
            return _error(409, str(refused))
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return jsonify(report.as_dict()), 200


def _edit(agent_id: int, *, partial: bool) -> Answer:
    with hotline().sessions() as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            return _error(404, f"there is no agent with id {agent_id}")
    body = _fields(_body(), agent)

    def edit(session: Session, rules: Any, by: str) -> Agent:
        return edit_agent(session, agent_id=agent_id, values=body, rules=rules, by=by, partial=partial)

    return _write(edit, 200)


def _write(change: Callable[[Session, Any, str], Agent], status: int) -> Answer:
    h = hotline()
    try:
        with unit_of_work(h.sessions) as session:
            agent = change(session, h.rules.live(), _by())
            answer = agent_json(agent)
    except InvalidAgent as invalid:
        problems = [{"field": problem.where, "message": problem.message} for problem in invalid.problems]
        return jsonify(error="the agent was not saved: " + str(invalid), problems=problems), 422
    except RosterRefused as refused:
        return _error(404 if isinstance(refused, AgentNotFound) else 409, str(refused))
    return jsonify(answer), status


def _fields(body: dict[str, Any], agent: Agent | None) -> dict[str, Any]:
    """The body without the read-only keys a client may send back from GET; `active` only as it is."""
    if "active" in body and (agent is None or body["active"] != agent.active):
        raise InvalidBody(
            "active: use POST /api/agents/<id>/deactivate or /reactivate "
            "to take an agent out of service or back"
        )
    return {key: value for key, value in body.items() if key not in (*READ_ONLY, "active")}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidBody('send a JSON object, e.g. {"name": "李华", "phone": "+8613700000011", ...}')
    return body


def _by() -> str:
    return f"api:{person().username}"


class InvalidBody(ValueError):
    """A request body that is not what the endpoint takes; says what to send."""


@bp.errorhandler(InvalidBody)
def _invalid_body(error: InvalidBody) -> Answer:
    return _error(400, str(error))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Answer:
    return _error(error.code or 500, str(error.description))


def _error(code: int, message: str) -> Answer:
    return jsonify(error=message), code
