"""Login, logout, the site root, and the users' pages."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as session_cookie
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from ivr.db.models import Agent, User, utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import Person, person, role_required
from ivr.people.forms import LoginForm
from ivr.people.login_limits import login_limits
from ivr.people.user_pages import USER_ADMINS
from ivr.people.users import ROLES, authenticate, end_sessions
from ivr.web.current_hotline import hotline

bp = Blueprint("admin", __name__, template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int, dict[str, str]]:
    """The login form; on success, on to the page of the user's role (or the page asked for)."""
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(_start_page(current_user))
    form = LoginForm()
    if request.method == "POST":
        # Before the password is looked at: while locked, even the right one is refused.
        lockout = login_limits().lockout(request.form.get("username", "").strip())
        if lockout is not None:
            page = render_template("admin/login.html", form=form, locked=lockout.message())
            return page, 429, {"Retry-After": str(lockout.retry_after)}
    if form.validate_on_submit():
        with hotline().sessions() as session:
            user = authenticate(session, username=form.username.data.strip(), password=form.password.data)
            signed_in = Person.of(user) if user is not None else None
        if signed_in is not None:
            login_user(signed_in)
            session_cookie.permanent = True  # it lasts IVR_SESSION_IDLE_MINUTES from the last request
            return redirect(safe_next(request.args.get("next")) or _start_page(signed_in))
        login_limits().count_failure(form.username.data.strip())
        flash("用户名或密码错误 / Wrong username or password", "error")
    return render_template("admin/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    """End every session of the user, on every browser (a POST: CSRFProtect has checked its token, so
    no other site can log you out)."""
    if current_user.is_authenticated:
        with unit_of_work(hotline().sessions) as session:
            end_sessions(session, user_id=current_user.id)
    logout_user()
    return redirect(url_for("admin.login"))


@bp.get("/")
@role_required(*ROLES)
def index() -> Response:
    """The site root: the signed-in user's own start page."""
    return redirect(_start_page(person()))


@bp.get("/users")
@role_required("admin", "supervisor")
def users() -> str:
    """Everyone who can log in, with role and seat."""
    with hotline().sessions() as session:
        rows = session.execute(
            select(User, Agent.name).outerjoin(Agent, Agent.id == User.agent_id).order_by(User.username)
        ).all()
    can_manage = person().role in USER_ADMINS
    return render_template("admin/users.html", rows=rows, now=utcnow(), can_manage=can_manage)


def _start_page(who: Person) -> str:
    # The agent starts at their seat, where calls ring; the others at their home (ivr/home).
    return url_for("agent_page.agent") if who.role == "agent" else url_for("home.page")


def safe_next(target: str | None) -> str | None:
    """The path on this site that "next" asks for, or None: a fresh login is never sent to another site.

    Judged as a browser would read the Location header: browsers drop tabs and newlines anywhere in a
    URL and control characters and spaces around it, and read a backslash as a slash. The URL so read
    is resolved against this site with urllib; only its path and query are kept, from this site's own
    scheme and host, and never a path that a browser would read as another host ("//x").
    """
    if not target:
        return None
    browser_reads = _URL_STRIPPED.sub("", target).strip(_URL_TRIMMED).replace("\\", "/")
    if browser_reads.startswith("//"):  # another host for a browser, however many slashes (urllib differs)
        return None
    here = urlsplit(request.host_url)
    there = urlsplit(urljoin(request.host_url, browser_reads))
    if (there.scheme, there.netloc) != (here.scheme, here.netloc) or there.username or there.password:
        return None
    path = there.path or "/"
    if not path.startswith("/") or path.startswith("//") or not (path + there.query).isprintable():
        return None
    return urlunsplit(("", "", path, there.query, ""))


_URL_STRIPPED = re.compile("[\t\n\r]")  # removed anywhere in a URL (WHATWG URL standard)
_URL_TRIMMED = "".join(chr(code) for code in range(0x21))  # C0 controls and space, trimmed from both ends
