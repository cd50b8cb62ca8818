"""Users' administration: pages and CLI to add, change role, link an agent, deactivate, reactivate, reset."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from ivr.db.models import Agent, ChangeLog, PasswordLink, User, utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from run import cli

PASSWORD = "administer-users-1"


@pytest.fixture
def admin(app, hotline):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="boss", role="admin", password=PASSWORD)
        create_user(session, username="sup", role="supervisor", password=PASSWORD)
    return _login(app, "boss")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(app, username, password=PASSWORD):  # type: ignore[no-untyped-def]
    client = app.test_client()
    form = {
        "username": username,
        "password": password,
        "csrf_token": _csrf(client.get("/login").get_data(True)),
    }
    assert client.post("/login", data=form).status_code == 302, f"login as {username}"
    return client


def _post(client, url, **form):  # type: ignore[no-untyped-def]
    token = _csrf(client.get("/users").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def _user(hotline, username):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        session.expunge_all()
        return user


def _free_agent(hotline):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        return session.scalars(select(Agent.id).order_by(Agent.id)).first()


def _changes(hotline, username):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        rows = session.scalars(
            select(ChangeLog)
            .where(ChangeLog.kind == "user", ChangeLog.subject == username)
            .order_by(ChangeLog.id)
        )
        return [(row.who, row.action, row.before, row.after) for row in rows]


def _link_of(html: str) -> str:
    return re.search(r'id="one-time-link" value="([^"]+)"', html).group(1)


def _set_password(app, link, password="a-fresh-password-9", again=None):  # type: ignore[no-untyped-def]
    client = app.test_client()
    path = link.split("localhost", 1)[1]
    form = client.get(path)
    if form.status_code != 200:  # a link that no longer works shows no form
        return form
    return client.post(
        path,
        data={"csrf_token": _csrf(form.get_data(True)), "password": password, "again": again or password},
    )


def test_an_admin_adds_a_user_who_sets_their_password_through_the_one_time_link(app, hotline, admin):  # type: ignore[no-untyped-def]
    agent_id = _free_agent(hotline)
    answer = _post(admin, "/users/new", username="liwei", role="agent", agent_id=str(agent_id))
    assert answer.status_code == 200
    link = _link_of(answer.get_data(as_text=True))
    assert re.fullmatch(r"http://localhost/reset/[\w-]{40,}", link)
    user = _user(hotline, "liwei")
    assert user.role == "agent" and user.agent_id == agent_id and user.active
    token = link.rsplit("/", 1)[1]
    with hotline.sessions() as session:  # kept only as its sha256, with an expiry
        row = session.scalar(select(PasswordLink).where(PasswordLink.user_id == user.id))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and row.used_at is None
        assert timedelta(hours=23) < row.expires_at - utcnow() <= timedelta(hours=24)
    assert _changes(hotline, "liwei") == [
        ("boss", "create", None, {"role": "agent", "agent_id": agent_id, "active": True})
    ]

    assert "liwei" in app.test_client().get(link.split("localhost", 1)[1]).get_data(as_text=True)
    short = _set_password(app, link, "short")
    assert short.status_code == 400 and "at least 8 characters" in short.get_data(as_text=True)
    assert _set_password(app, link, "one-password-1", "another-password-2").status_code == 400
    done = _set_password(app, link)
    assert done.status_code == 302 and done.headers["Location"] == "/login"
    assert _login(app, "liwei", "a-fresh-password-9").get("/agent").status_code == 200
    again = app.test_client().get(link.split("localhost", 1)[1])
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    assert [change[1] for change in _changes(hotline, "liwei")] == ["create", "set-password"]


def test_deactivating_a_user_ends_their_open_session_at_once_and_reactivating_lets_them_back(
    app, hotline, admin
):  # type: ignore[no-untyped-def]
    sup = _login(app, "sup")
    assert sup.get("/home").status_code == 200
    user_id = _user(hotline, "sup").id
    answer = _post(admin, f"/users/{user_id}/deactivate")
    assert answer.status_code == 302
    assert "every session of theirs has ended" in admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert sup.get("/home").headers["Location"].startswith("/login")
    assert not _user(hotline, "sup").active
    assert _post(admin, f"/users/{user_id}/reactivate").status_code == 302
    assert _login(app, "sup").get("/home").status_code == 200
    assert [change[1] for change in _changes(hotline, "sup")] == ["deactivate", "reactivate"]


def test_the_last_active_admin_is_neither_deactivated_nor_demoted(app, hotline, admin):  # type: ignore[no-untyped-def]
    boss = _user(hotline, "boss").id
    refused = _post(admin, f"/users/{boss}/deactivate")
    assert refused.status_code == 400
    assert "the last active admin: make another admin first" in refused.get_data(as_text=True)
    refused = _post(admin, f"/users/{boss}/role", role="supervisor")
    assert refused.status_code == 400 and "last active admin" in refused.get_data(as_text=True)
    assert _user(hotline, "boss").role == "admin" and _user(hotline, "boss").active
    assert _changes(hotline, "boss") == []  # nothing half-written
    # With a second admin, the first may step down.
    assert _post(admin, f"/users/{_user(hotline, 'sup').id}/role", role="admin").status_code == 302
    assert _post(admin, f"/users/{boss}/role", role="supervisor").status_code == 302
    assert _user(hotline, "boss").role == "supervisor"
    assert admin.get("/users/new").status_code == 403  # the change holds at once, on the next request


def test_role_and_agent_changes_are_checked_and_logged(app, hotline, admin):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        first, second = session.scalars(select(Agent.id).order_by(Agent.id).limit(2)).all()
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="wang", role="agent", password=PASSWORD, agent_id=first)
    sup_id, wang_id = _user(hotline, "sup").id, _user(hotline, "wang").id
    refused = _post(admin, f"/users/{sup_id}/role", role="agent")
    assert refused.status_code == 400 and "needs an agent" in refused.get_data(as_text=True)
    refused = _post(admin, f"/users/{sup_id}/role", role="agent", agent_id=str(first))
    assert refused.status_code == 400
    assert "already belongs to user &#39;wang&#39;" in refused.get_data(as_text=True)
    refused = _post(admin, f"/users/{wang_id}/agent", agent_id="")
    assert refused.status_code == 400 and "give them another role" in refused.get_data(as_text=True)
    assert _post(admin, f"/users/{wang_id}/agent", agent_id=str(second)).status_code == 302
    assert _post(admin, f"/users/{wang_id}/role", role="shift_lead").status_code == 302
    wang = _user(hotline, "wang")
    assert wang.role == "shift_lead" and wang.agent_id is None
    assert _changes(hotline, "wang") == [
        ("boss", "link-agent", _state("agent", first), _state("agent", second)),
        ("boss", "set-role", _state("agent", second), _state("shift_lead", None)),
    ]
    page = admin.get(f"/users/{wang_id}").get_data(as_text=True)
    assert page.count("<td>boss</td>") == 2 and "set-role" in page


def _state(role, agent_id, active=True):  # type: ignore[no-untyped-def]
    return {"role": role, "agent_id": agent_id, "active": active}


def test_a_reset_link_replaces_the_older_one_and_ends_the_users_sessions(app, hotline, admin):  # type: ignore[no-untyped-def]
    sup = _login(app, "sup")
    sup_id = _user(hotline, "sup").id
    first = _link_of(_post(admin, f"/users/{sup_id}/password-link").get_data(as_text=True))
    second = _link_of(_post(admin, f"/users/{sup_id}/password-link").get_data(as_text=True))
    assert first != second
    assert _set_password(app, first).status_code == 410  # replaced by the newer link
    assert _set_password(app, second).status_code == 302
    assert sup.get("/home").headers["Location"].startswith("/login")  # the old session ended
    assert _login(app, "sup", "a-fresh-password-9")
    third = _link_of(_post(admin, f"/users/{sup_id}/password-link").get_data(as_text=True))
    with unit_of_work(hotline.sessions) as session:
        for link in session.scalars(select(PasswordLink).where(PasswordLink.used_at.is_(None))):
            link.expires_at = utcnow() - timedelta(minutes=1)
    expired = _set_password(app, third)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert app.test_client().get("/reset/not-a-token").status_code == 410


def test_only_admins_change_users_supervisors_read_the_list(app, hotline, admin):  # type: ignore[no-untyped-def]
    sup = _login(app, "sup")
    listing = sup.get("/users").get_data(as_text=True)
    assert "boss" in listing and "/users/new" not in listing and "Only admins add and change users" in listing
    assert sup.get("/users/new").status_code == 403
    assert _post(sup, f"/users/{_user(hotline, 'boss').id}/deactivate").status_code == 403
    assert 'href="/users/new"' in admin.get("/users").get_data(as_text=True)


def test_a_refused_new_user_says_why_and_writes_nothing(app, hotline, admin):  # type: ignore[no-untyped-def]
    with hotline.sessions() as session:
        before = session.scalar(select(func.count()).select_from(User))
    answer = _post(admin, "/users/new", username="sup", role="quality")
    assert answer.status_code == 400 and "username &#39;sup&#39; is taken" in answer.get_data(as_text=True)
    answer = _post(admin, "/users/new", username="newagent", role="agent", agent_id="")
    assert answer.status_code == 400 and "choose the agent" in answer.get_data(as_text=True)
    with hotline.sessions() as session:
        assert session.scalar(select(func.count()).select_from(User)) == before
        assert session.scalar(select(func.count()).select_from(PasswordLink)) == 0


# ---------------------------------------------------------------- the command line


@pytest.fixture
def env(monkeypatch, settings, hotline):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_PUBLIC_BASE_URL", "https://hotline.example")
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="boss", role="admin", password=PASSWORD)
        create_user(session, username="qa", role="quality", password=PASSWORD)
    return hotline


def test_the_users_commands_change_users_and_log_each_change(env):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    agent_id = _free_agent(env)
    listed = runner.invoke(cli, ["users", "list"])
    assert listed.exit_code == 0 and re.search(r"qa\tquality\t-\tactive", listed.output)
    done = runner.invoke(
        cli, ["users", "set-role", "qa", "agent", "--agent-id", str(agent_id), "--by", "ops"]
    )
    assert done.exit_code == 0, done.output
    assert (_user(env, "qa").role, _user(env, "qa").agent_id) == ("agent", agent_id)
    assert runner.invoke(cli, ["users", "deactivate", "qa"]).exit_code == 0
    assert not _user(env, "qa").active
    assert runner.invoke(cli, ["users", "reactivate", "qa"]).exit_code == 0
    link = runner.invoke(cli, ["users", "reset-link", "qa"])
    assert link.exit_code == 0 and re.search(r"https://hotline\.example/reset/[\w-]{40,}", link.output)
    assert [(who, action) for who, action, *_ in _changes(env, "qa")] == [
        ("ops", "set-role"),
        ("cli", "deactivate"),
        ("cli", "reactivate"),
        ("cli", "password-link"),
    ]


def test_a_refused_users_command_exits_1_with_the_reason(env):  # type: ignore[no-untyped-def]
    refused = CliRunner().invoke(cli, ["users", "deactivate", "boss"])
    assert refused.exit_code == 1 and "last active admin" in refused.output
    refused = CliRunner().invoke(cli, ["users", "link-agent", "qa", "1"])
    assert refused.exit_code == 1 and "only agent users are linked" in refused.output
    assert _user(env, "boss").active and _changes(env, "boss") == []


# ---------------------------------------------------------------- the API


@pytest.fixture
def api(app, hotline):  # type: ignore[no-untyped-def]
    """A client and the bearer headers of an admin and of a supervisor."""
    with unit_of_work(hotline.sessions) as session:
        _, admin_token = create_user(session, username="staff-sync", role="admin", password=PASSWORD)
        _, sup_token = create_user(session, username="sup", role="supervisor", password=PASSWORD)
    return (
        app.test_client(),
        {"Authorization": f"Bearer {admin_token}"},
        {"Authorization": f"Bearer {sup_token}"},
    )


def test_the_users_api_adds_changes_and_links_users_with_an_admin_token(app, hotline, api):  # type: ignore[no-untyped-def]
    client, admin, supervisor = api
    agent_id = _free_agent(hotline)
    made = client.post(
        "/api/users", json={"username": "hr-7", "role": "agent", "agent_id": agent_id}, headers=admin
    )
    assert made.status_code == 201
    body = made.get_json()
    assert body["user"] == {"username": "hr-7", "role": "agent", "agent_id": agent_id, "active": True}
    assert body["link_hours"] == 24 and body["password_link"].startswith("http://hotline.test/reset/")
    assert (
        _set_password(app, "http://localhost/reset/" + body["password_link"].rsplit("/", 1)[1]).status_code
        == 302
    )

    changed = client.patch("/api/users/hr-7", json={"role": "quality"}, headers=admin)
    assert changed.status_code == 200
    assert changed.get_json()["user"] == {
        "username": "hr-7",
        "role": "quality",
        "agent_id": None,
        "active": True,
    }
    assert (
        client.patch("/api/users/hr-7", json={"active": False}, headers=admin).get_json()["user"]["active"]
        is False
    )
    assert (
        client.patch("/api/users/hr-7", json={"active": False}, headers=admin).status_code == 200
    )  # no change
    again = client.patch("/api/users/hr-7", json={"active": True}, headers=admin)
    assert again.status_code == 200 and again.get_json()["user"]["active"] is True
    link = client.post("/api/users/hr-7/password-link", headers=admin)
    assert link.status_code == 200 and "/reset/" in link.get_json()["password_link"]
    listed = client.get("/api/users", headers=admin).get_json()["users"]
    assert {"username": "hr-7", "role": "quality", "agent_id": None, "active": True} in listed
    assert [action for who, action, *_ in _changes(hotline, "hr-7")] == [
        "create",
        "set-password",
        "set-role",
        "deactivate",
        "reactivate",
        "password-link",
    ]
    assert {who for who, *_ in _changes(hotline, "hr-7")} == {"staff-sync", "hr-7"}
    assert client.get("/api/users", headers=supervisor).status_code == 403  # only admins


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/api/users", {"username": "x1", "role": "agent"}, 400, "an agent user needs"),
        (
            "post",
            "/api/users",
            {"username": "x1", "role": "agent", "agent_id": "1"},
            400,
            "must be a whole number",
        ),
        ("post", "/api/users", {"role": "quality"}, 400, "username is required"),
        ("post", "/api/users", {"username": "sup", "role": "quality"}, 400, "is taken"),
        ("patch", "/api/users/nobody", {"active": False}, 404, "there is no user 'nobody'"),
        ("patch", "/api/users/sup", {"colour": "red"}, 400, "not colour"),
        ("patch", "/api/users/sup", {"active": "no"}, 400, "active must be bool"),
        ("patch", "/api/users/staff-sync", {"role": "quality"}, 400, "last active admin"),
        ("patch", "/api/users/staff-sync", {"active": False}, 400, "last active admin"),
    ],
)
def test_the_users_api_refuses_with_the_reason_and_writes_nothing(
    hotline, api, method, path, body, status, message
):  # type: ignore[no-untyped-def]
    client, admin, _ = api
    with hotline.sessions() as session:
        before = [
            snapshot for snapshot in session.execute(select(User.username, User.role, User.active)).all()
        ]
    answer = getattr(client, method)(path, json=body, headers=admin)
    assert answer.status_code == status and message in answer.get_json()["error"]
    with hotline.sessions() as session:
        assert session.execute(select(User.username, User.role, User.active)).all() == before
        assert (
            session.scalar(select(func.count()).select_from(ChangeLog).where(ChangeLog.kind == "user")) == 0
        )


def test_an_admin_gives_a_user_a_new_api_token_shown_once(app, hotline, admin):  # type: ignore[no-untyped-def]
    sup = _user(hotline, "sup")
    answer = _post(admin, f"/users/{sup.id}/api-token")
    assert answer.status_code == 200
    token = re.search(r'id="api-token" value="([^"]+)"', answer.get_data(as_text=True)).group(1)
    assert (
        _user(hotline, "sup").api_token_hash
        == hashlib.sha256(token.encode()).hexdigest()
        != sup.api_token_hash
    )
    assert (
        app.test_client().get("/api/users", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    )
    assert _changes(hotline, "sup") == [("boss", "api-token", None, _state("supervisor", None))]
