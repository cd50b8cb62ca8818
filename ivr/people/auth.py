"""Who is asking: login sessions (pages) or bearer tokens (API), and the role check on every route."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, g, jsonify, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.wrappers import Response as BaseResponse

from ivr.db.models import User
from ivr.people.users import TokenRefused, user_by_token
from ivr.web.current_hotline import hotline
from ivr.web.labels import ROLE_LABELS, label

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)
class Person(UserMixin):  # type: ignore[misc]
    """The signed-in user as the request sees them: detached from any database session."""

    id: int
    username: str
    role: str
    agent_id: int | None
    session_version: int = 0

    @classmethod
    def of(cls, user: User) -> Person:
        """The request's copy of a user row."""
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            agent_id=user.agent_id,
            session_version=user.session_version,
        )

    def get_id(self) -> str:
        """What the login cookie holds: the user id and session version (Flask-Login's alternative id)."""
        return f"{self.id}:{self.session_version}"


def init_login(app: Flask) -> None:
    """Flask-Login for the pages: the user is read afresh each request, so a deactivated user is out."""
    manager = LoginManager()
    manager.init_app(app)
    manager.user_loader(_load_person)


def _load_person(cookie_id: str) -> Person | None:
    # A cookie from before the last logout or deactivation holds an older version: it opens nothing.
    user_id, _, version = cookie_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 18:
        return None
    with hotline().sessions() as session:
        user = session.get(User, int(user_id))
        if user is None or not user.active or user.session_version != int(version):
            return None
        return Person.of(user)


def role_required(*roles: str, token: bool = False) -> Callable[[View], View]:
    """Run the view only for a user holding one of `roles`: signed in (pages) or by bearer token (API)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            who = _token_person() if token else _session_person()
            if who is None:
                return _unauthorized_api() if token else _to_login()
            if who.role not in roles:
                return _forbidden(who, roles, token)
            g.person = who
            return view(*args, **kwargs)

        # Read by the test that walks every route with every role (tests/integration/test_role_walk.py).
        guarded.roles = roles  # type: ignore[attr-defined]
        guarded.token = token  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def person() -> Person:
    """The user the role check let in."""
    return g.person  # type: ignore[no-any-return]


def _session_person() -> Person | None:
    return current_user if current_user.is_authenticated else None


def _token_person() -> Person | None:
    # Only the Authorization header counts here: a session cookie never authorises the (CSRF-exempt) API.
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    with hotline().sessions() as session:
        try:
            return Person.of(user_by_token(session, auth.token))
        except TokenRefused as refused:
            g.token_refused = str(refused)
            return None


def _to_login() -> BaseResponse:
    return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))


def _unauthorized_api() -> tuple[Response, int, dict[str, str]]:
    given = "Authorization" in request.headers
    message = g.get("token_refused") or (
        "the bearer token is not valid" if given else "send your API token as 'Authorization: Bearer <token>'"
    )
    challenge = 'Bearer error="invalid_token"' if given else "Bearer"
    return jsonify(error=message), 401, {"WWW-Authenticate": challenge}


def _forbidden(who: Person, roles: tuple[str, ...], token: bool) -> tuple[Any, int]:
    allowed = ", ".join(roles)
    if token:
        return jsonify(error=f"this needs the role {allowed}; the token belongs to a {who.role} user"), 403
    message = f"您的角色（{label(ROLE_LABELS, who.role)}）不能打开此页 / Your role cannot open this page"
    return render_template("admin/error.html", title="403", message=message, detail=f"for: {allowed}"), 403
