"""The users API (JSON, an admin's bearer token) for keeping users in step with the utility's staff system.

List, add (answering the one-time link to set a password), change role, agent or active, a new link. The same
use cases and refusals as the users' pages; every change in the change log (docs/users.md).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import User
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.people.user_admin import (
    LINK_HOURS,
    add_user,
    deactivate_user,
    issue_password_link,
    link_agent,
    reactivate_user,
    set_role,
    snapshot,
)
from ivr.people.users import UserRefused, user_named
from ivr.web.current_hotline import hotline

bp = Blueprint("users_api", __name__, url_prefix="/api/users")

ADMINS = ("admin",)
Answer = tuple[Response, int]


class BadBody(ValueError):
    """A request body that is not what the API takes; the message names the field."""


def register(app: Flask) -> None:
    """Add the API; it takes bearer tokens, so it is exempt from the pages' CSRF check."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.get("")
@role_required(*ADMINS, token=True)
def users() -> Answer:
    """Every user: username, role, agent id, active."""
    with hotline().sessions() as session:
        rows = session.scalars(select(User).order_by(User.username)).all()
        return jsonify(users=[_view(user) for user in rows]), 200


@bp.post("")
@role_required(*ADMINS, token=True)
def create() -> Answer:
    """Add a user; the answer holds the one-time link with which they set their password (given once)."""
    try:
        body = _body()
        username = _field(body, "username", str)
        role = _field(body, "role", str)
        agent_id = _field(body, "agent_id", int, required=False)
        with unit_of_work(hotline().sessions) as session:
            user, token = add_user(session, username=username, role=role, agent_id=agent_id, by=_who())
            made = _view(user)
    except (BadBody, UserRefused) as refused:
        return jsonify(error=str(refused)), 400
    return jsonify(user=made, password_link=_link(token), link_hours=LINK_HOURS), 201


@bp.patch("/<username>")
@role_required(*ADMINS, token=True)
def change(username: str) -> Answer:
    """Change `role` (with `agent_id` for an agent), `agent_id` alone, or `active`; all or nothing."""
    try:
        body = _body()
        unknown = sorted(set(body) - {"role", "agent_id", "active"})
        if unknown or not body:
            raise BadBody(f"give role, agent_id or active; not {', '.join(unknown) or 'nothing'}")
        role = _field(body, "role", str, required=False)
        agent_id = _field(body, "agent_id", int, required=False)
        active = _field(body, "active", bool, required=False)
        with unit_of_work(hotline().sessions) as session:
            _apply(session, username, role, agent_id, "agent_id" in body, active)
            changed = _view(user_named(session, username))
    except BadBody as refused:
        return jsonify(error=str(refused)), 400
    except UserRefused as refused:
        return jsonify(error=str(refused)), 404 if str(refused).startswith("there is no user") else 400
    return jsonify(user=changed), 200


@bp.post("/<username>/password-link")
@role_required(*ADMINS, token=True)
def password_link(username: str) -> Answer:
    """A new one-time link for the user to set a password (earlier links stop working)."""
    try:
        with unit_of_work(hotline().sessions) as session:
            token = issue_password_link(session, username=username, by=_who())
    except UserRefused as refused:
        return jsonify(error=str(refused)), 404 if str(refused).startswith("there is no user") else 400
    return jsonify(password_link=_link(token), link_hours=LINK_HOURS), 200


def _apply(
    session: Session,
    username: str,
    role: str | None,
    agent_id: int | None,
    agent_given: bool,
    active: bool | None,
) -> None:
    user = user_named(session, username)
    if active is False and user.active:  # a resent deactivation is no change
        deactivate_user(session, username=username, by=_who())
    if active is True and not user.active:
        reactivate_user(session, username=username, by=_who())
    if role is not None and (role != user.role or (agent_given and agent_id != user.agent_id)):
        set_role(session, username=username, role=role, agent_id=agent_id, by=_who())
    elif role is None and agent_given:
        link_agent(session, username=username, agent_id=agent_id, by=_who())


def _view(user: User) -> dict[str, Any]:
    return {"username": user.username, **snapshot(user)}


def _link(token: str) -> str:
    return f"{hotline().settings.public_base_url.rstrip('/')}/reset/{token}"


def _who() -> str:
    return person().username


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadBody("send a JSON object (Content-Type: application/json)")
    return body


def _field(body: dict[str, Any], name: str, kind: type, *, required: bool = True) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise BadBody(f"{name} is required")
        return None
    # bool is an int in Python: an agent id of true is refused, as is an "active" of 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadBody(f"{name} must be {'a whole number' if kind is int else kind.__name__}, not {value!r}")
    return value
