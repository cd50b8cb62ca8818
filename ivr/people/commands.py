"""Commands about users: create one, deactivate one, give or revoke an API token."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.orm import Session

from ivr.cli.context import command_hotline
from ivr.db.session import unit_of_work
from ivr.people.users import (
    UserRefused,
    check_new_user,
    create_user,
    deactivate_user,
    issue_api_token,
    revoke_api_token,
)


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
