"""Users: create-user, hashed passwords, login and logout, CSRF, role checks, the secret key."""

from __future__ import annotations

import hashlib
import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.app import create_app
from ivr.db.models import Agent, User
from ivr.db.session import unit_of_work
from ivr.people.secret import stored_secret_key
from ivr.people.user_admin import create_user
from ivr.people.users import authenticate
from run import cli
from tests.helpers import count, twiml

PASSWORD = "correct horse battery"


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


def _agent_id(hotline, identity="agent-chenjing"):
    with hotline.sessions() as session:
        return session.scalar(select(Agent.id).where(Agent.client_identity == identity))


def _add_user(hotline, username, role, agent_id=None, password=PASSWORD):
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username=username, role=role, password=password, agent_id=agent_id)
    return token


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _login(client, username, password=PASSWORD, next_url=""):
    page = client.get("/login")
    form = {"username": username, "password": password, "csrf_token": _csrf(page.get_data(as_text=True))}
    return client.post("/login" + (f"?next={next_url}" if next_url else ""), data=form)


# ---------------------------------------------------------------- create-user


def test_create_user_stores_a_hash_and_prints_the_token_once(env):
    agent_id = _agent_id(env)
    result = CliRunner().invoke(
        cli,
        ["create-user", "--username", "chen", "--role", "agent", "--agent-id", str(agent_id)]
        + ["--password", PASSWORD],
    )
    assert result.exit_code == 0, result.output
    assert f"user chen created (role agent, agent {agent_id})" in result.output
    token = re.search(r"API token \(shown only now; keep it safe\): (\S+)", result.output).group(1)
    with env.sessions() as session:
        user = session.scalar(select(User).where(User.username == "chen"))
        assert user.role == "agent" and user.agent_id == agent_id and user.active
        assert PASSWORD not in user.password_hash and user.password_hash.startswith("scrypt:")
        assert user.api_token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert authenticate(session, username="chen", password=PASSWORD).id == user.id
        assert authenticate(session, username="chen", password=PASSWORD + "x") is None


def test_create_user_asks_for_the_password_twice_when_not_given(env):
    result = CliRunner().invoke(
        cli,
        ["create-user", "--username", "lead", "--role", "shift_lead"],
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output  # the mismatched confirmation was asked again
    with env.sessions() as session:
        assert authenticate(session, username="lead", password=PASSWORD).role == "shift_lead"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--username", "boss", "--role", "boss"], "unknown role 'boss'; roles are admin, supervisor"),
        (["--username", "taken", "--role", "quality"], "username 'taken' is taken"),
        (["--username", "ghost", "--role", "agent", "--agent-id", "999"], "there is no agent with id 999"),
        (["--username", "seatless", "--role", "agent"], "an agent user needs --agent-id"),
        (["--username", "sup", "--role", "supervisor", "--agent-id", "1"], "role supervisor takes no agent"),
        (["--username", "short", "--role", "admin", "--password", "short"], "at least 8 characters"),
        (["--username", "has space", "--role", "admin"], "without spaces"),
    ],
)
def test_create_user_refuses_with_a_message_and_exit_code_1(env, arguments, message):
    _add_user(env, "taken", "admin")
    # No password prompt for a refusal that does not depend on the password: input would be left unread.
    result = CliRunner().invoke(cli, ["create-user", *arguments])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "API token" not in result.output
    with env.sessions() as session:
        assert count(session, User) == 1


def test_create_user_refuses_a_second_user_for_the_same_agent(env):
    agent_id = _agent_id(env)
    _add_user(env, "chen", "agent", agent_id)
    result = CliRunner().invoke(
        cli, ["create-user", "--username", "chen2", "--role", "agent", "--agent-id", str(agent_id)]
    )
    assert result.exit_code == 1
    assert f"agent {agent_id} already belongs to user 'chen'" in result.output


# ---------------------------------------------------------------- login


def test_login_sends_an_agent_to_the_agent_page_and_others_home(client, hotline):
    _add_user(hotline, "chen", "agent", _agent_id(hotline))
    _add_user(hotline, "sup", "supervisor")
    response = _login(client, "chen")
    assert response.status_code == 302 and response.headers["Location"] == "/agent"
    assert "陈静" in client.get("/agent").get_data(as_text=True)

    other = client.application.test_client()
    response = _login(other, "sup")
    assert response.headers["Location"] == "/home"
    home = other.get("/home").get_data(as_text=True)
    assert "sup · 主管 / Supervisor" in home and "/users" in home


@pytest.mark.parametrize(("username", "password"), [("chen", "wrong password"), ("nobody", PASSWORD)])
def test_login_failure_says_so_without_telling_which_part_was_wrong(client, hotline, username, password):
    _add_user(hotline, "chen", "agent", _agent_id(hotline))
    response = _login(client, username, password)
    assert response.status_code == 200
    assert "用户名或密码错误 / Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # still not signed in


def test_a_deactivated_user_cannot_log_in_and_is_signed_out(client, hotline):
    _add_user(hotline, "sup", "supervisor")
    _login(client, "sup")
    assert client.get("/home").status_code == 200
    with unit_of_work(hotline.sessions) as session:
        session.scalar(select(User).where(User.username == "sup")).active = False
    assert client.get("/home").status_code == 302
    assert "Wrong username or password" in _login(client, "sup").get_data(as_text=True)


def test_logout_ends_the_session(client, hotline):
    _add_user(hotline, "sup", "supervisor")
    _login(client, "sup")
    page = client.get("/home").get_data(as_text=True)
    response = client.post("/logout", data={"csrf_token": _csrf(page)})
    assert response.status_code == 302
    assert client.get("/home").headers["Location"].startswith("/login")


def test_login_follows_next_only_within_the_site(client, hotline):
    _add_user(hotline, "sup", "supervisor")
    assert _login(client, "sup", next_url="/users").headers["Location"] == "/users"
    other = client.application.test_client()
    assert _login(other, "sup", next_url="//evil.example/x").headers["Location"] == "/home"


def test_a_page_asks_an_anonymous_visitor_to_log_in_and_comes_back(client):
    response = client.get("/users")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/users"


# ---------------------------------------------------------------- CSRF


def test_a_form_post_without_the_csrf_token_is_refused(client, hotline):
    _add_user(hotline, "sup", "supervisor")
    response = client.post("/login", data={"username": "sup", "password": PASSWORD})
    assert response.status_code == 400
    assert "The CSRF token is missing" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302


def test_logout_without_the_csrf_token_is_refused(client, hotline):
    _add_user(hotline, "sup", "supervisor")
    _login(client, "sup")
    assert client.post("/logout").status_code == 400
    assert client.get("/home").status_code == 200  # another site cannot sign you out


def test_twilio_webhooks_need_no_csrf_token(twilio):
    assert twiml(twilio.post("/voice/incoming")).find("Gather") is not None


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("role", "path"), [("agent", "/users"), ("quality", "/users"), ("quality", "/agent")]
)
def test_a_role_cannot_open_a_page_of_other_roles(client, hotline, role, path):
    _add_user(hotline, "someone", role, _agent_id(hotline) if role == "agent" else None)
    _login(client, "someone")
    response = client.get(path)
    assert response.status_code == 403
    assert "Your role cannot open this page" in response.get_data(as_text=True)


def test_supervisors_see_the_user_list(client, hotline):
    _add_user(hotline, "chen", "agent", _agent_id(hotline))
    _add_user(hotline, "sup", "supervisor")
    _login(client, "sup")
    page = client.get("/users").get_data(as_text=True)
    assert "chen" in page and "陈静" in page and "主管 / Supervisor" in page


def test_quality_staff_find_their_pages_on_home(client, hotline):
    _add_user(hotline, "qa", "quality")
    assert _login(client, "qa").headers["Location"] == "/home"
    home = client.get("/home").get_data(as_text=True)
    assert 'href="/quality"' in home and "Nothing to open for your role yet" not in home


# ---------------------------------------------------------------- the secret key


def test_a_generated_secret_key_is_kept_in_the_instance_dir(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    first = stored_secret_key(path)
    assert len(first) == 64 and path.read_text() == first
    assert stored_secret_key(path) == first


def test_the_secret_key_comes_from_the_environment_when_set(monkeypatch, hotline):
    monkeypatch.setenv("IVR_SECRET_KEY", "from-the-environment")
    assert create_app(hotline=hotline).secret_key == "from-the-environment"


def test_without_a_key_one_is_made_at_the_first_page_and_survives_a_restart(monkeypatch, tmp_path, hotline):
    monkeypatch.delenv("IVR_SECRET_KEY", raising=False)
    monkeypatch.setenv("IVR_INSTANCE_DIR", str(tmp_path))
    _add_user(hotline, "sup", "supervisor")
    app = create_app(hotline=hotline)
    assert not (tmp_path / "secret_key").exists()  # building the app does no I/O
    client = app.test_client()
    _login(client, "sup")
    assert (tmp_path / "secret_key").exists()
    cookie = client.get_cookie("session").value

    restarted = create_app(hotline=hotline).test_client()
    restarted.set_cookie("session", cookie)
    assert restarted.get("/home").status_code == 200
