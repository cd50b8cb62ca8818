"""The users who log in: their roles, password check, login sessions and API tokens (kept as sha256 only).

A user logs in to the pages with a username and password (`authenticate`, as slow for an unknown name as for
a wrong password) and to the APIs with a bearer token (`user_by_token`), which expires and can be revoked.
Logging out ends every session of the user. Creating and changing users is ivr/people/user_admin.py."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.db.models import User, utcnow

ROLES = ("admin", "supervisor", "shift_lead", "quality", "agent")
MIN_PASSWORD_LENGTH = 8
DEFAULT_TOKEN_DAYS = 90
_ASK_FOR_ONE = "ask an admin for a new one (python run.py api-token new USERNAME)"


class UserRefused(ValueError):
    """A user that cannot be created or changed as asked; the message says why, in words."""


class TokenRefused(ValueError):
    """An API token that does not let its bearer in; the message says why (unknown, expired, revoked)."""


def hash_token(token: str) -> str:
    """The sha256 (hex) under which an API token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def user_named(session: Session, username: str) -> User:
    """The user with this username; UserRefused if there is none."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserRefused(f"there is no user {username!r}")
    return user


def issue_api_token(session: Session, *, username: str, token_days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A new API token for the user (the old one stops working); returned once, only its hash is kept."""
    user = user_named(session, username)
    if not user.active:
        raise UserRefused(f"user {username!r} is deactivated")
    return new_api_token(user, token_days)


def revoke_api_token(session: Session, *, username: str) -> User:
    """Make the user's API token stop working now (its hash is kept, so a request with it hears why)."""
    user = user_named(session, username)
    if user.api_token_hash is None or user.api_token_revoked_at is not None:
        raise UserRefused(f"user {username!r} has no API token in use")
    user.api_token_revoked_at = utcnow()
    return user


def end_sessions(session: Session, *, user_id: int) -> None:
    """Every login cookie of the user stops working (logout ends them all, on every browser)."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_version += 1


def new_api_token(user: User, token_days: int) -> str:
    """Give the user a new API token, in force for `token_days` days; returned once, only its hash is kept."""
    # 256 random bits: a plain sha256 is enough to keep it (no password-style slow hash is needed).
    token = secrets.token_urlsafe(32)
    user.api_token_hash = hash_token(token)
    user.api_token_expires_at = utcnow() + timedelta(days=token_days)
    user.api_token_revoked_at = None
    return token


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


def user_by_token(session: Session, token: str) -> User:
    """The active user holding this API token, in force now; TokenRefused saying why not."""
    user = session.scalar(select(User).where(User.api_token_hash == hash_token(token))) if token else None
    if user is None:
        raise TokenRefused("the bearer token is not valid (unknown, or replaced by a newer one)")
    if not user.active:
        raise TokenRefused("the bearer token's user was deactivated")
    if user.api_token_revoked_at is not None:
        raise TokenRefused(
            f"the bearer token was revoked at {user.api_token_revoked_at:%Y-%m-%d %H:%M} UTC; {_ASK_FOR_ONE}"
        )
    if user.api_token_expires_at is None or user.api_token_expires_at <= utcnow():
        when = f" at {user.api_token_expires_at:%Y-%m-%d %H:%M} UTC" if user.api_token_expires_at else ""
        raise TokenRefused(f"the bearer token expired{when}; {_ASK_FOR_ONE}")
    return user


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))
