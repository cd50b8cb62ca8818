"""Every route of the app, tried by every role: the role check is on every page and API call.

The walk reads the URL map, so a route added later is walked too; a route without a role check fails
unless it is listed below as public (with why). Twilio's webhooks are checked for their signature instead.
"""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.people.users import ROLES
from tests.helpers import SignedClient

PASSWORD = "walk-the-routes-1"
# Open to anyone, and why.
PUBLIC = {
    "static": "Flask's static files",
    "layout.static": "the admin pages' CSS and JS",
    "admin.login": "the login form itself",
    "user_admin.reset": "setting a password through a one-time link: the link's token is the key",
    "health.health": "the load balancer's health check (no data)",
}
SIGNED_BY_TWILIO = "voice."  # every voice.* route answers 403 unless X-Twilio-Signature is right


def _url(rule: Rule) -> str:
    values = {}
    for name, converter in rule._converters.items():  # noqa: SLF001 (the URL map's own argument list)
        values[name] = 1 if isinstance(converter, NumberConverter) else "x"  # the app's <int:> is a subclass
    return rule.build(values, append_unknown=False)[1]


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


@pytest.fixture
def walk(app, hotline, database_url):  # type: ignore[no-untyped-def]
    if database_url.startswith("postgresql"):
        pytest.skip("role checks do not depend on the database: walked once, on SQLite")
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own tests; here it would answer 400 first
    tokens = {}
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.query(Agent.id).order_by(Agent.id).first()[0]
        # User 1: the routes on a user (/users/1/...) change this one, never a walker's own token or session.
        create_user(session, username="walk-target", role="quality", password=PASSWORD)
        for role in ROLES:
            _, tokens[role] = create_user(
                session,
                username=f"walk-{role}",
                role=role,
                password=PASSWORD,
                agent_id=agent_id if role == "agent" else None,
            )
    return app, tokens


def _client(app, role):  # type: ignore[no-untyped-def]
    client = app.test_client()
    if role is not None:
        answer = client.post("/login", data={"username": f"walk-{role}", "password": PASSWORD})
        assert answer.status_code == 302, f"login as {role} failed"
    return client


def test_every_route_is_public_signed_or_role_checked(app):  # type: ignore[no-untyped-def]
    unchecked = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if (
            rule.endpoint in PUBLIC
            or rule.endpoint.startswith(SIGNED_BY_TWILIO)
            or rule.endpoint == "admin.logout"
        ):
            continue
        if not getattr(view, "roles", None):
            unchecked.append(f"{rule.rule} ({rule.endpoint})")
    assert unchecked == [], f"routes without a role check: {unchecked}"


def test_each_role_gets_exactly_the_routes_it_holds(walk):  # type: ignore[no-untyped-def]
    app, tokens = walk
    clients = {role: _client(app, role) for role in (*ROLES, None)}
    problems, walked = [], 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        roles = getattr(view, "roles", None)
        if not roles:
            continue
        url = _url(rule)
        for method in _methods(rule):
            for role in (*ROLES, None):
                if view.token:
                    headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
                    answer = app.test_client().open(url, method=method, headers=headers, json={})
                else:
                    answer = clients[role].open(url, method=method)
                walked += 1
                status, where = answer.status_code, answer.headers.get("Location", "")
                if role is None:
                    ok = status == 401 if view.token else (status == 302 and "/login" in where)
                elif role in roles:
                    ok = status not in (401, 403) and "/login" not in where and status < 500
                else:
                    ok = status == 403
                if not ok:
                    problems.append(f"{method} {url} as {role or 'anonymous'}: {status} {where}")
    assert walked > 100
    assert problems == []


def test_every_twilio_webhook_refuses_an_unsigned_request(app, hotline):  # type: ignore[no-untyped-def]
    client = app.test_client()
    refused = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(SIGNED_BY_TWILIO):
            continue
        answer = client.post(_url(rule), data={"CallSid": "CAwalk", "Digits": "1"})
        refused.append(answer.status_code)
        assert answer.status_code == 403, rule.rule
    assert len(refused) >= 20
    # ... and a signed one is let through (so the 403s above are the signature, not a broken route).
    assert SignedClient(app).post("/voice/incoming").status_code == 200
