"""The pages for users: the admin's user administration, and setting a password through a one-time link.

The admin adds a user, changes a role, links an agent, deactivates, reactivates, and makes the one-time
password link; the page where a user sets their password through such a link needs no login.

Only admins change users (supervisors see the list): whoever can make users can make an admin.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr.db.models import Agent, ChangeLog, User
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.people.user_admin import (
    LINK_HOURS,
    add_user,
    deactivate_user,
    issue_password_link,
    link_agent,
    reactivate_user,
    set_password_by_link,
    set_role,
    token_issued,
    user_of_link,
)
from ivr.people.users import MIN_PASSWORD_LENGTH, ROLES, UserRefused, issue_api_token
from ivr.web.current_hotline import hotline

bp = Blueprint("user_admin", __name__, template_folder="templates")

USER_ADMINS = ("admin",)
HISTORY_SHOWN = 20

Page = str | tuple[str, int]


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(*USER_ADMINS)
def new() -> Page:
    """Add a user: username, role, and the agent an agent user works as; then their one-time link."""
    given = {"username": "", "role": "agent", "agent_id": ""}
    if request.method == "POST":
        given = {name: request.form.get(name, "").strip() for name in given}
        try:
            agent_id = _agent_id(given["agent_id"]) if given["role"] == "agent" else None
            with unit_of_work(hotline().sessions) as session:
                user, token = add_user(
                    session, username=given["username"], role=given["role"], agent_id=agent_id, by=_who()
                )
                shown = {"username": user.username, "id": user.id}
        except UserRefused as refused:
            return _new_page(given, str(refused)), 400
        return _link_page(shown, token, first=True)
    return _new_page(given, None)


@bp.get("/users/<int:user_id>")
@role_required(*USER_ADMINS)
def user(user_id: int) -> Page:
    """One user: role, agent, state, and the forms that change them."""
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/role")
@role_required(*USER_ADMINS)
def change_role(user_id: int) -> Response | Page:
    """Give the user another role (an agent user with the agent chosen)."""
    role = request.form.get("role", "").strip()
    agent_text = request.form.get("agent_id", "").strip()

    def change(session: Session, username: str) -> str:
        agent_id = _agent_id(agent_text) if role == "agent" and agent_text else None
        set_role(session, username=username, role=role, agent_id=agent_id, by=_who())
        return f"{username}: 角色已改为 / role changed to {role}"

    return _change(user_id, change)


@bp.post("/users/<int:user_id>/agent")
@role_required(*USER_ADMINS)
def change_agent(user_id: int) -> Response | Page:
    """Link the agent user to another agent (seat)."""
    agent_text = request.form.get("agent_id", "").strip()

    def change(session: Session, username: str) -> str:
        agent_id = _agent_id(agent_text) if agent_text else None
        link_agent(session, username=username, agent_id=agent_id, by=_who())
        return f"{username}: 坐席已更改 / agent changed"

    return _change(user_id, change)


@bp.post("/users/<int:user_id>/deactivate")
@role_required(*USER_ADMINS)
def deactivate(user_id: int) -> Response | Page:
    """The user can no longer log in; their open sessions end at once."""

    def change(session: Session, username: str) -> str:
        deactivate_user(session, username=username, by=_who())
        return f"{username}: 已停用，登录已全部结束 / deactivated; every session of theirs has ended"

    return _change(user_id, change)


@bp.post("/users/<int:user_id>/reactivate")
@role_required(*USER_ADMINS)
def reactivate(user_id: int) -> Response | Page:
    """The user may log in again."""

    def change(session: Session, username: str) -> str:
        reactivate_user(session, username=username, by=_who())
        return f"{username}: 已重新启用 / reactivated"

    return _change(user_id, change)


@bp.post("/users/<int:user_id>/password-link")
@role_required(*USER_ADMINS)
def password_link(user_id: int) -> Page:
    """A one-time link for the user to set a new password, shown once to the admin (older links stop)."""
    try:
        with unit_of_work(hotline().sessions) as session:
            username = _username(session, user_id)
            token = issue_password_link(session, username=username, by=_who())
    except UserRefused as refused:
        return _user_page(user_id, str(refused), 400)
    return _link_page({"username": username, "id": user_id}, token, first=False)


@bp.post("/users/<int:user_id>/api-token")
@role_required(*USER_ADMINS)
def api_token(user_id: int) -> Page:
    """A new API token for the user (their old one stops working), shown once to the admin."""
    days = hotline().settings.api_token_days
    try:
        with unit_of_work(hotline().sessions) as session:
            username = _username(session, user_id)
            token = issue_api_token(session, username=username, token_days=days)
            token_issued(session, username=username, by=_who())
    except UserRefused as refused:
        return _user_page(user_id, str(refused), 400)
    user = {"username": username, "id": user_id}
    return render_template("admin/user_token.html", user=user, token=token, days=days)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> Response | Page:
    """Set a password through a one-time link: no login, the link is the key (once, until it expires)."""
    with hotline().sessions() as session:
        try:
            username = user_of_link(session, token).username
        except UserRefused as refused:
            return render_template("admin/password_set.html", refused=str(refused), username=None), 410
    if request.method == "GET":
        return render_template("admin/password_set.html", username=username, minimum=MIN_PASSWORD_LENGTH)
    password = request.form.get("password", "")
    problem = None
    if password != request.form.get("again", ""):
        problem = "两次输入的密码不一致 / The two passwords differ"
    else:
        try:
            with unit_of_work(hotline().sessions) as session:
                set_password_by_link(session, token=token, password=password)
        except UserRefused as refused:
            problem = str(refused)
    if problem:
        page = render_template(
            "admin/password_set.html", username=username, minimum=MIN_PASSWORD_LENGTH, problem=problem
        )
        return page, 400
    flash("密码已设置，请登录 / Your password is set: log in with it", "ok")
    return redirect(url_for("admin.login"))


def _change(user_id: int, change: Callable[[Session, str], str]) -> Response | Page:
    """Run one change in a transaction: back to the user's page saying what changed, or why not (400)."""
    try:
        with unit_of_work(hotline().sessions) as session:
            done = change(session, _username(session, user_id))
    except UserRefused as refused:
        return _user_page(user_id, str(refused), 400)
    flash(done, "ok")
    return redirect(url_for("user_admin.user", user_id=user_id))


def _username(session: Session, user_id: int) -> str:
    found = session.get(User, user_id)
    if found is None:
        abort(404, description=f"there is no user {user_id}")
    return found.username


def _agent_id(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise UserRefused("choose the agent (seat) an agent user works as")
    return int(text)


def _who() -> str:
    return person().username


def _free_agents(session: Session, keep: int | None = None) -> list[Any]:
    """Agents no user works as yet (and `keep`, the user's own), for the agent choice."""
    taken = select(User.agent_id).where(User.agent_id.is_not(None))
    query = select(Agent.id, Agent.name).order_by(Agent.name)
    free = Agent.id.not_in(taken)
    return list(session.execute(query.where(free | (Agent.id == keep) if keep else free)).all())


def _new_page(given: dict[str, str], problem: str | None) -> str:
    with hotline().sessions() as session:
        agents = _free_agents(session)
    return render_template("admin/user_new.html", given=given, agents=agents, roles=ROLES, problem=problem)


def _user_page(user_id: int, problem: str | None = None, status: int = 200) -> Page:
    with hotline().sessions() as session:
        found = session.get(User, user_id)
        if found is None:
            abort(404, description=f"there is no user {user_id}")
        agent = session.get(Agent, found.agent_id) if found.agent_id else None
        history = session.scalars(
            select(ChangeLog)
            .where(ChangeLog.kind == "user", ChangeLog.subject == found.username)
            .order_by(ChangeLog.id.desc())
            .limit(HISTORY_SHOWN)
        ).all()
        page = render_template(
            "admin/user.html",
            user=found,
            agent=agent,
            agents=_free_agents(session, keep=found.agent_id),
            roles=ROLES,
            history=history,
            problem=problem,
            is_me=found.id == person().id,
        )
    return (page, status) if status != 200 else page


def _link_page(user: dict[str, Any], token: str, *, first: bool) -> str:
    url = url_for("user_admin.reset", token=token, _external=True)
    return render_template("admin/user_link.html", user=user, url=url, first=first, hours=LINK_HOURS)
