"""Creating and changing users, and their one-time password links; each change goes in the change log.

An admin adds a user (with a one-time link to set their password, or from the command line with a password
and an API token), changes their role or agent (seat), deactivates and reactivates them. Every change to a
user is written to the change log (kind "user") in the same transaction; the last active admin stays one.
Who logs in, and how (roles, passwords, sessions, API tokens), is ivr/people/users.py."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ivr.db.models import Agent, ChangeLog, PasswordLink, User, utcnow
from ivr.people.users import (
    DEFAULT_TOKEN_DAYS,
    MIN_PASSWORD_LENGTH,
    ROLES,
    UserRefused,
    hash_token,
    new_api_token,
    user_named,
)

LINK_HOURS = 24  # a one-time password link works this long, once
_USERNAME = re.compile(r"^\S{2,100}$")


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
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    agent_id: int | None = None,
    token_days: int = DEFAULT_TOKEN_DAYS,
) -> tuple[User, str]:
    """Add a user with a hashed password; returns the user and their API token (shown once, never kept)."""
    check_new_user(session, username=username, role=role, agent_id=agent_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserRefused(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    user = User(
        username=username,
        role=role,
        agent_id=agent_id,
        password_hash=generate_password_hash(password),
        active=True,
        session_version=0,
    )
    token = new_api_token(user, token_days)
    session.add(user)
    session.flush()
    return user, token


def add_user(
    session: Session, *, username: str, role: str, agent_id: int | None, by: str
) -> tuple[User, str]:
    """A new user with no password yet, and the one-time link with which they set it (returned once)."""
    check_new_user(session, username=username, role=role, agent_id=agent_id)
    # Nobody knows this password: the user logs in only once they set theirs through the link.
    user = User(
        username=username,
        role=role,
        agent_id=agent_id,
        password_hash=generate_password_hash(secrets.token_urlsafe(32)),
        active=True,
        session_version=0,
    )
    session.add(user)
    session.flush()
    _log(session, by, "create", user, None)
    return user, _new_link(session, user, by)


def set_role(session: Session, *, username: str, role: str, agent_id: int | None = None, by: str) -> User:
    """Give the user another role; an agent user needs an agent (theirs, or `agent_id`), others hold none."""
    user = user_named(session, username)
    if role not in ROLES:
        raise UserRefused(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if role == user.role and agent_id in (None, user.agent_id):
        raise UserRefused(f"user {username!r} already has the role {role}")
    if user.role == "admin" and role != "admin":
        _keep_an_admin(session, user, f"user {username!r} is the last active admin: make another admin first")
    before = snapshot(user)
    if role == "agent":
        wanted = agent_id if agent_id is not None else user.agent_id
        if wanted is None:
            raise UserRefused("an agent user needs an agent (seat) they work as: choose one")
        _check_agent_free(session, wanted, user)
        user.agent_id = wanted
    else:
        if agent_id is not None:
            raise UserRefused(f"only agent users are linked to an agent; role {role} takes no agent")
        user.agent_id = None
    user.role = role
    _log(session, by, "set-role", user, before)
    return user


def link_agent(session: Session, *, username: str, agent_id: int | None, by: str) -> User:
    """Link an agent user to another agent (seat); None unlinks, which only a user of another role may be."""
    user = user_named(session, username)
    if agent_id is None:
        if user.role == "agent":
            raise UserRefused("an agent user always works as an agent: give them another role to unlink them")
        if user.agent_id is None:
            raise UserRefused(f"user {username!r} is linked to no agent")
    else:
        if user.role != "agent":
            raise UserRefused(f"only agent users are linked to an agent; {username!r} is {user.role}")
        if user.agent_id == agent_id:
            raise UserRefused(f"user {username!r} already works as agent {agent_id}")
        _check_agent_free(session, agent_id, user)
    before = snapshot(user)
    user.agent_id = agent_id
    _log(session, by, "link-agent" if agent_id is not None else "unlink-agent", user, before)
    return user


def deactivate_user(session: Session, *, username: str, by: str = "cli") -> User:
    """The user can no longer log in: their sessions end, the API token is revoked, password links die."""
    user = user_named(session, username)
    if not user.active:
        raise UserRefused(f"user {username!r} is already deactivated")
    _keep_an_admin(session, user, f"user {username!r} is the last active admin: make another admin first")
    before = snapshot(user)
    user.active = False
    user.session_version += 1
    if user.api_token_hash is not None and user.api_token_revoked_at is None:
        user.api_token_revoked_at = utcnow()
    _end_links(session, user.id)
    _log(session, by, "deactivate", user, before)
    return user


def reactivate_user(session: Session, *, username: str, by: str) -> User:
    """The user may log in again with their password (their API token stays revoked: issue a new one)."""
    user = user_named(session, username)
    if user.active:
        raise UserRefused(f"user {username!r} is active")
    before = snapshot(user)
    user.active = True
    _log(session, by, "reactivate", user, before)
    return user


def issue_password_link(session: Session, *, username: str, by: str, hours: int = LINK_HOURS) -> str:
    """A one-time link token for the user to set a new password; earlier unused links stop working."""
    user = user_named(session, username)
    if not user.active:
        raise UserRefused(f"user {username!r} is deactivated: reactivate them first")
    token = _new_link(session, user, by, hours)
    _log(session, by, "password-link", user, None)
    return token


def token_issued(session: Session, *, username: str, by: str) -> None:
    """Log that the user was given a new API token (the token itself is never logged)."""
    _log(session, by, "api-token", user_named(session, username), None)


def user_of_link(session: Session, token: str) -> User:
    """The active user a password link is for, while it is unused and in time; UserRefused saying why not."""
    link = (
        session.scalar(select(PasswordLink).where(PasswordLink.token_hash == hash_token(token)))
        if token
        else None
    )
    if link is None:
        raise UserRefused("this link is not valid: ask an admin for a new one")
    if link.used_at is not None:
        raise UserRefused(
            "this link was already used (or replaced by a newer one): ask an admin for a new one"
        )
    if link.expires_at <= utcnow():
        raise UserRefused("this link has expired: ask an admin for a new one")
    user = session.get(User, link.user_id)
    if user is None or not user.active:
        raise UserRefused("this user is deactivated")
    return user


def set_password_by_link(session: Session, *, token: str, password: str) -> User:
    """Set the password through a one-time link (used up by it); every older session of the user ends."""
    user = user_of_link(session, token)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserRefused(f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 200:
        raise UserRefused("a password has at most 200 characters")
    user.password_hash = generate_password_hash(password)
    user.session_version += 1
    _end_links(session, user.id)
    _log(session, user.username, "set-password", user, None)
    return user


def snapshot(user: User) -> dict[str, object]:
    """What the change log keeps of a user (never a password or token)."""
    return {"role": user.role, "agent_id": user.agent_id, "active": user.active}


def _keep_an_admin(session: Session, user: User, message: str) -> None:
    if user.role != "admin" or not user.active:
        return
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )
    if not others:
        raise UserRefused(message)


def _check_agent_free(session: Session, agent_id: int, user: User) -> None:
    if session.get(Agent, agent_id) is None:
        raise UserRefused(f"there is no agent with id {agent_id}")
    holder = session.scalar(select(User.username).where(User.agent_id == agent_id, User.id != user.id))
    if holder is not None:
        raise UserRefused(f"agent {agent_id} already belongs to user {holder!r}")


def _new_link(session: Session, user: User, by: str, hours: int = LINK_HOURS) -> str:
    _end_links(session, user.id)
    token = secrets.token_urlsafe(32)  # 256 random bits: kept as a plain sha256, like the API tokens
    now = utcnow()
    session.add(
        PasswordLink(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            created_by=by,
            expires_at=now + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def _end_links(session: Session, user_id: int) -> None:
    now = utcnow()
    for link in session.scalars(
        select(PasswordLink).where(PasswordLink.user_id == user_id, PasswordLink.used_at.is_(None))
    ):
        link.used_at = now


def _log(session: Session, by: str, action: str, user: User, before: dict[str, object] | None) -> None:
    # The row configuration's log_change writes; written here because people sits below configuration
    # (configuration's pages check roles with ivr.people.auth), so importing it would make a cycle.
    session.add(
        ChangeLog(
            at=utcnow(),
            who=by,
            kind="user",
            action=action,
            subject=user.username,
            before=before,
            after=snapshot(user),
        )
    )
    session.flush()
