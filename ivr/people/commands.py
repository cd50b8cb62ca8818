"""Commands about users: create one, deactivate one, give or revoke an API token."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.cli.context import command_hotline
from ivr.db.models import Agent, User
from ivr.db.session import unit_of_work
from ivr.people.user_admin import (
    LINK_HOURS,
    check_new_user,
    create_user,
    deactivate_user,
    issue_password_link,
    link_agent,
    reactivate_user,
    set_role,
)
from ivr.people.users import UserRefused, issue_api_token, revoke_api_token


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--role", required=True, help="admin, supervisor, shift_lead, quality or agent.")
@click.option("--agent-id", type=int, default=None, help="The agent (seat) an agent user works as.")
@click.option(
    "--password", default=None, help="Asked for (twice, hidden) when not given; avoid shell history."
)
def create_user_command(username: str, role: str, agent_id: int | None, password: str | None) -> None:
    """Add a user who can log in; prints their API token once."""
    hotline = command_hotline()
    days = hotline.settings.api_token_days
    try:
        with unit_of_work(hotline.sessions) as session:
            # Checked before asking for a password nobody will use.
            check_new_user(session, username=username, role=role, agent_id=agent_id)
            if password is None:
                password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            user, token = create_user(
                session, username=username, role=role, password=password, agent_id=agent_id, token_days=days
            )
    except UserRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)
    seat = f", agent {user.agent_id}" if user.agent_id else ""
    click.echo(f"user {user.username} created (role {user.role}{seat})")
    click.echo(f"API token (shown only now; keep it safe): {token}")
    click.echo(f"it expires in {days} days (IVR_API_TOKEN_DAYS); `run.py api-token new` gives another")


def _change_user(change: Callable[[Session], Any]) -> Any:
    """Run one change to users in a transaction; exit 1 with the reason when it is refused."""
    try:
        with unit_of_work(command_hotline().sessions) as session:
            return change(session)
    except UserRefused as refused:
        click.echo(f"refused: {refused}", err=True)
        sys.exit(1)


@click.command("deactivate-user")
@click.argument("username")
def deactivate_user_command(username: str) -> None:
    """The user can no longer log in: every session of theirs ends and their API token is revoked."""
    _change_user(lambda session: deactivate_user(session, username=username))
    click.echo(f"user {username} deactivated; their sessions and API token no longer work")


@click.group("api-token")
def api_token() -> None:
    """API tokens (docs/agent-api.md): a new one for a user, or revoke theirs."""


@api_token.command("new")
@click.argument("username")
def api_token_new(username: str) -> None:
    """Give the user a new API token (their old one stops working); printed once."""
    days = command_hotline().settings.api_token_days
    token = _change_user(lambda session: issue_api_token(session, username=username, token_days=days))
    click.echo(f"API token of {username} (shown only now; keep it safe): {token}")
    click.echo(f"it expires in {days} days; the user's previous token no longer works")


@api_token.command("revoke")
@click.argument("username")
def api_token_revoke(username: str) -> None:
    """The user's API token stops working now."""
    _change_user(lambda session: revoke_api_token(session, username=username))
    click.echo(f"API token of {username} revoked")


# ---------------------------------------------------------------- users (the changes the users' pages make)

_BY = click.option("--by", "author", default="cli", show_default=True, help="Who changes it (change log).")


@click.group("users")
def users() -> None:
    """Users (docs/users.md): list, change role or agent, deactivate, reactivate, one-time password link."""


@users.command("list")
def users_list() -> None:
    """Every user: username, role, agent, active or not."""
    with command_hotline().sessions() as session:
        rows = session.execute(
            select(User, Agent.name).outerjoin(Agent, Agent.id == User.agent_id).order_by(User.username)
        ).all()
    for user, agent_name in rows:
        seat = f"agent {user.agent_id} ({agent_name})" if user.agent_id else "-"
        click.echo(f"{user.username}\t{user.role}\t{seat}\t{'active' if user.active else 'deactivated'}")


@users.command("set-role")
@click.argument("username")
@click.argument("role")
@click.option("--agent-id", type=int, default=None, help="The agent an agent user works as.")
@_BY
def users_set_role(username: str, role: str, agent_id: int | None, author: str) -> None:
    """Give the user another role (the last active admin keeps theirs)."""
    _change_user(
        lambda session: set_role(session, username=username, role=role, agent_id=agent_id, by=author)
    )
    click.echo(f"user {username} is now {role}")


@users.command("link-agent")
@click.argument("username")
@click.argument("agent_id", type=int)
@_BY
def users_link_agent(username: str, agent_id: int, author: str) -> None:
    """Link an agent user to another agent (seat)."""
    _change_user(lambda session: link_agent(session, username=username, agent_id=agent_id, by=author))
    click.echo(f"user {username} works as agent {agent_id}")


@users.command("deactivate")
@click.argument("username")
@_BY
def users_deactivate(username: str, author: str) -> None:
    """The user can no longer log in; their sessions end and their API token is revoked."""
    _change_user(lambda session: deactivate_user(session, username=username, by=author))
    click.echo(f"user {username} deactivated; their sessions and API token no longer work")


@users.command("reactivate")
@click.argument("username")
@_BY
def users_reactivate(username: str, author: str) -> None:
    """The user may log in again (give them a new API token if they use the API)."""
    _change_user(lambda session: reactivate_user(session, username=username, by=author))
    click.echo(f"user {username} reactivated")


@users.command("reset-link")
@click.argument("username")
@_BY
def users_reset_link(username: str, author: str) -> None:
    """A one-time link with which the user sets a new password (printed once; older links stop working)."""
    base = command_hotline().settings.public_base_url.rstrip("/")
    token = _change_user(lambda session: issue_password_link(session, username=username, by=author))
    click.echo(f"one-time link for {username} (works once, for {LINK_HOURS} hours): {base}/reset/{token}")
