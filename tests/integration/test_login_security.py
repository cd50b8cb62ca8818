"""Nobody gets in who should not (issue 13, points 9 and 10): the login's "next", lock-out after failed
logins, sessions that end at logout, deactivation and after idling, security headers, API tokens."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.db.models import Agent, User, utcnow
from ivr.db.session import unit_of_work
from ivr.people.pages import safe_next
from ivr.people.user_admin import create_user
from ivr.people.users import hash_token
from ivr.web.security_headers import CONTENT_SECURITY_POLICY
from run import cli
from tests.helpers import new_call_sid, twiml

PASSWORD = "correct horse battery"
HOSTILE_NEXT = [
    "//evil.example/phish",
    "/%09/evil.example/phish",  # the issue's: a tab the browser drops, leaving //evil.example
    "/\t/evil.example/phish",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/%5cevil.example",
    "/%5c%5cevil.example",
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://evil.example",
    "//evil.example@hotline.test/",
    "http://hotline.test@evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\x00javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "///evil.example",
    "////evil.example",
    " //evil.example",
    "\x01//evil.example",
    "/\x0b/evil.example",
    "%2F%2Fevil.example",
    "ftp://evil.example",
]


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


@pytest.fixture
def env(monkeypatch, settings, hotline):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def _add_user(hotline, username, role="supervisor", agent_id=None):
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
    return token


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(client, username, password=PASSWORD, next_url=None, address="127.0.0.1"):
    page = client.get("/login")
    form = {"username": username, "password": password, "csrf_token": _csrf(page.get_data(as_text=True))}
    # A value with a percent-escape is sent as typed (the issue's "/%09/..."); any other is encoded.
    query = {"next": next_url} if next_url is not None and "%" not in next_url else f"next={next_url}"
    return client.post(
        "/login",
        query_string=query if next_url is not None else None,
        data=form,
        environ_base={"REMOTE_ADDR": address},
    )


def _logout(client):
    page = client.get("/home").get_data(as_text=True)
    return client.post("/logout", data={"csrf_token": _csrf(page)})


# ---------------------------------------------------------------- point 9: "next" after login


def test_login_never_redirects_to_another_site(client, hotline):
    _add_user(hotline, "sup")
    for hostile in HOSTILE_NEXT:
        browser = client.application.test_client()
        response = _login(browser, "sup", next_url=hostile)
        assert response.status_code == 302, hostile
        assert _stays_on_this_site(response.headers["Location"]), (hostile, response.headers["Location"])
    issue_case = _login(client.application.test_client(), "sup", next_url="/%09/evil.example/phish")
    assert issue_case.headers["Location"] == "/home"


def _stays_on_this_site(location: str) -> bool:
    # How a browser reads a Location: tabs and newlines dropped, a backslash read as a slash.
    read = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return read.startswith("/") and not read.startswith("//") and read.isprintable()


def test_login_still_follows_next_within_the_site(client, hotline):
    _add_user(hotline, "sup")
    for wanted, location in [
        ("/users", "/users"),
        ("/quality/sample?date=2026-12-01", "/quality/sample?date=2026-12-01"),
        ("users", "/users"),
        ("http://localhost/users", "/users"),  # this site (the test client's host), spelt in full
    ]:
        browser = client.application.test_client()
        response = _login(browser, "sup", next_url=wanted)
        assert response.headers["Location"] == location, wanted


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_safe_next_gives_only_a_path_of_this_site(app, hostile):
    with app.test_request_context("/login", base_url="https://hotline.test"):
        kept = safe_next(unquote(hostile))  # as the query string is decoded
    assert kept is None or _stays_on_this_site(kept), kept


# ---------------------------------------------------------------- point 10: lock-out


def test_an_account_is_locked_after_five_failures_and_the_right_password_is_refused(client, hotline):
    _add_user(hotline, "sup")
    answers = [_login(client, "sup", "wrong password").status_code for _ in range(40)]
    assert answers.count(200) == 5 and answers.count(429) == 35  # five tried, then none
    locked = _login(client, "sup")
    assert locked.status_code == 429
    text = locked.get_data(as_text=True)
    assert "Too many failed logins for this account: it is locked, try again in 15 minutes" in text
    assert "Retry-After" in locked.headers
    assert client.get("/home").status_code == 302  # not signed in
    # another account from another address is not locked by it
    _add_user(hotline, "lead", "shift_lead")
    other = client.application.test_client()
    assert _login(other, "lead", address="10.0.0.9").status_code == 302


def test_an_address_is_locked_after_twenty_failures_whatever_the_usernames(client, hotline):
    _add_user(hotline, "sup")
    for number in range(20):
        assert _login(client, f"guess{number}", "wrong password").status_code == 200
    refused = _login(client, "sup")
    assert refused.status_code == 429
    assert "Too many failed logins from this address" in refused.get_data(as_text=True)
    elsewhere = client.application.test_client()
    assert _login(elsewhere, "sup", address="10.0.0.7").status_code == 302


def test_successful_logins_are_not_counted(client, hotline):
    _add_user(hotline, "sup")
    for _ in range(8):
        browser = client.application.test_client()
        assert _login(browser, "sup").status_code == 302


# ---------------------------------------------------------------- point 10: sessions


def test_an_old_cookie_is_refused_after_logout_on_every_browser(client, hotline):
    _add_user(hotline, "sup")
    _login(client, "sup")
    second = client.application.test_client()
    _login(second, "sup")
    kept = client.get_cookie("session").value
    assert client.get("/users").status_code == 200
    assert _logout(client).status_code == 302
    replayed = client.application.test_client()
    replayed.set_cookie("session", kept, domain="localhost")
    assert replayed.get("/users").status_code == 302
    assert second.get("/users").status_code == 302  # the other browser's session ended too
    assert _login(client, "sup").status_code == 302 and client.get("/users").status_code == 200


def test_deactivation_ends_sessions_and_revokes_the_token(env, client):
    token = _add_user(env, "sup")
    _login(client, "sup")
    kept = client.get_cookie("session").value
    result = CliRunner().invoke(cli, ["deactivate-user", "sup"])
    assert result.exit_code == 0, result.output
    replayed = client.application.test_client()
    replayed.set_cookie("session", kept, domain="localhost")
    assert replayed.get("/users").status_code == 302
    assert client.get("/users").status_code == 302
    answer = client.post("/api/completions", json={}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "deactivated" in answer.get_json()["error"]
    assert CliRunner().invoke(cli, ["deactivate-user", "nobody"]).exit_code == 1


def test_a_session_ends_after_the_idle_timeout(client, hotline):
    assert client.application.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    client.application.config["PERMANENT_SESSION_LIFETIME"] = timedelta(seconds=2)
    _add_user(hotline, "sup")
    _login(client, "sup")
    for _ in range(3):  # in use: each request starts the idle time again
        time.sleep(1)
        assert client.get("/home").status_code == 200
    kept = client.get_cookie("session").value
    time.sleep(3.2)
    assert client.get("/home").status_code == 302
    replayed = client.application.test_client()
    replayed.set_cookie("session", kept, domain="localhost")  # a browser that kept it: refused all the same
    assert replayed.get("/home").status_code == 302


# ---------------------------------------------------------------- point 10: headers


def test_every_page_carries_the_security_headers(client, hotline, twilio):
    _add_user(hotline, "sup")
    answers = [client.get("/login")]
    _login(client, "sup")
    pages = ["/home", "/users", "/console/announcements", "/console/board", "/quality/sample", "/nowhere"]
    answers += [client.get(path) for path in pages]
    for path, response in zip(["/login", *pages], answers, strict=True):
        assert response.status_code in (200, 404), path
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "no-store" in response.headers["Cache-Control"], path
    with client.get("/admin/static/admin.css") as static:  # the style sheet may be cached
        assert static.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" not in static.headers.get("Cache-Control", "")
    api = client.get("/api/agent/me")
    assert api.status_code == 401 and api.headers["Cache-Control"] == "no-store"
    # the webhooks are untouched and keep working
    webhook = twilio.post("/voice/incoming", call_sid=new_call_sid())
    assert webhook.status_code == 200 and twiml(webhook).tag == "Response"


# ---------------------------------------------------------------- point 10: API tokens


def test_tokens_are_kept_hashed_with_an_expiry(hotline):
    token = _add_user(hotline, "sup")
    with hotline.sessions() as session:
        user = session.scalar(select(User).where(User.username == "sup"))
        assert user.api_token_hash == hash_token(token) and token not in user.api_token_hash
        assert timedelta(days=89) < user.api_token_expires_at - utcnow() <= timedelta(days=90)


def _agent_token(hotline):
    with hotline.sessions() as session:
        agent_id = session.scalar(select(Agent.id).where(Agent.client_identity == "agent-chenjing"))
    return _add_user(hotline, "chen", "agent", agent_id)


def test_an_expired_token_is_401_saying_so(app, hotline):
    token = _agent_token(hotline)
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/agent/me", headers=headers).status_code == 200
    with unit_of_work(hotline.sessions) as session:
        session.scalar(select(User).where(User.username == "chen")).api_token_expires_at = utcnow()
    answer = api.get("/api/agent/me", headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"].startswith("the bearer token expired at ")
    assert "api-token new" in answer.get_json()["error"]


def test_a_revoked_token_is_401_and_a_new_one_works(env, app):
    token = _agent_token(env)
    api = app.test_client()
    result = CliRunner().invoke(cli, ["api-token", "revoke", "chen"])
    assert result.exit_code == 0, result.output
    answer = api.get("/api/agent/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.get_json()["error"].startswith("the bearer token was revoked")
    assert CliRunner().invoke(cli, ["api-token", "revoke", "chen"]).exit_code == 1  # nothing in use

    result = CliRunner().invoke(cli, ["api-token", "new", "chen"])
    assert result.exit_code == 0, result.output
    fresh = re.search(r"\(shown only now; keep it safe\): (\S+)", result.output).group(1)
    assert api.get("/api/agent/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    old = api.get("/api/agent/me", headers={"Authorization": f"Bearer {token}"})
    assert old.status_code == 401 and "unknown, or replaced" in old.get_json()["error"]
    with env.sessions() as session:
        assert session.scalar(select(User.api_token_hash).where(User.username == "chen")) == hash_token(fresh)
    CliRunner().invoke(cli, ["create-user", "--username", "root", "--role", "admin", "--password", PASSWORD])
    browser = app.test_client()
    app.config["SECRET_KEY"] = "test-secret-key"
    _login(browser, "root")
    listed = browser.get("/users").get_data(as_text=True)
    assert "有效至 / until" in listed and "api-token new|revoke" in listed


def test_migration_0009_gives_existing_tokens_an_expiry_and_keeps_them_working(tmp_path):
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from ivr.db import migrate
    from ivr.db.session import make_engine
    from ivr.people.users import user_by_token

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrate.alembic_config(str(engine.url))
    command.upgrade(config, "0008")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, password_hash, role, api_token_hash, active, created_at)"
                " VALUES ('old', 'x', 'agent', :hash, 1, '2026-01-01 00:00:00')"
            ),
            {"hash": hash_token("an-old-token")},
        )
    command.upgrade(config, "0009")
    with Session(engine) as session:
        user = user_by_token(session, "an-old-token")
        assert user.session_version == 0 and user.api_token_revoked_at is None
        assert timedelta(days=89) < user.api_token_expires_at - utcnow() <= timedelta(days=90)
    engine.dispose()
