"""Users who log in: roles, hashed passwords, API tokens (only their sha256 is kept)."""

from __future__ import annotations

import hashlib
import re
import secrets
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.db.models import Agent, User

ROLES = ("admin", "supervisor", "shift_lead", "quality", "agent")
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^\S{2,100}$")


class UserRefused(ValueError):
    """A user that cannot be created as asked; the message says why, in words."""


def hash_token(token: str) -> str:
    """The sha256 (hex) under which an API token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_user(session: Session, *, username: str, role: str, agent_id: int | None = None) -> None:
    """Raise UserRefused if a user with these details cannot be created (asked before any password)."""
    if role not in ROLES:
        raise UserRefused(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not _USERNAME.match(username):
        raise UserRefused("a username is 2 to 100 characters without spaces")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserRefused(f"username {username!r} is taken")
    if role == "agent" and agent_id is None:
        raise UserRefused("an agent user needs --agent-id: the agent (seat) they work as")
    if role != "agent" and agent_id is not None:
        raise UserRefused(f"only agent users are linked to an agent; role {role} takes no agent id")
    if agent_id is not None:
        if session.get(Agent, agent_id) is None:
            raise UserRefused(f"there is no agent with id {agent_id}")
        holder = session.scalar(select(User.username).where(User.agent_id == agent_id))
        if holder is not None:
            raise UserRefused(f"agent {agent_id} already belongs to user {holder!r}")


def create_user(
    session: Session, *, username: str, role: str, password: str, agent_id: int | None = None
) -> tuple[User, str]:
    """Add a user with a hashed password; returns the user and their API token (shown once, never kept)."""
    check_new_user(session, username=username, role=role, agent_id=agent_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserRefused(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    token = secrets.token_urlsafe(32)
    user = User(
        username=username,
        role=role,
        agent_id=agent_id,
        password_hash=generate_password_hash(password),
        api_token_hash=hash_token(token),
        active=True,
    )
    session.add(user)
    session.flush()
    return user, token


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (the same for every kind of failure)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        # Hash anyway, so the answer takes as long for an unknown name as for a wrong password.
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def user_by_token(session: Session, token: str) -> User | None:
    """The active user holding this API token, or None."""
    if not token:
        return None
    user = session.scalar(select(User).where(User.api_token_hash == hash_token(token)))
    return user if user is not None and user.active else None


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))
