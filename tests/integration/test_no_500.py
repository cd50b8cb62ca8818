"""No page or API route answers 500 to bad input (issue 13, point 12): JSON that is not an object, huge
integers in the path and the query, impossible dates. Every route of the app is walked (app.url_map);
the webhooks (/voice/*) answer callers and are tested with them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from ivr.db.models import Announcement
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user

PASSWORD = "correct horse battery"
ROOT = Path(__file__).resolve().parents[2]
HUGE = ["99999999999999999999999", str(2**63), str(2**63 - 1), str(2**31), "-99999999999999999999999"]
JSON_BODIES = ["[1, 2]", "5", "-1e999", '"text"', "null", "true", "{bad", '{"state": 99999999999999999999}']
_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _names_read_from(kind: str) -> set[str]:
    """Every query (args) or form field name a page or API view reads, found in the source."""
    pattern = re.compile(rf'request\.{kind}\.get\(\s*"(\w+)"')
    sources = ROOT.joinpath("ivr").rglob("*.py")
    webhooks = ("ivr/calls/", "ivr/surveys/survey_views.py")
    return {
        name
        for path in sources
        if not path.relative_to(ROOT).as_posix().startswith(webhooks)
        for name in pattern.findall(path.read_text())
    }


def _urls(rule) -> list[str]:  # type: ignore[no-untyped-def]
    """The rule's URL with each huge number in its <int:> parts (and a word in the others)."""
    if not any(converter == "int" for converter, _ in _ARGUMENT.findall(rule.rule)):
        return [_ARGUMENT.sub("x", rule.rule)]
    return [_ARGUMENT.sub(lambda m, n=n: n if m.group(1) == "int" else "x", rule.rule) for n in HUGE]


@pytest.fixture
def admin(app, hotline):
    """A signed-in admin's browser, its CSRF token, and the admin's API token."""
    app.config["SECRET_KEY"] = "test-secret-key"
    with unit_of_work(hotline.sessions) as session:
        _, token = create_user(session, username="root", role="admin", password=PASSWORD)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    signed_in = browser.post("/login", data={"username": "root", "password": PASSWORD, "csrf_token": csrf})
    assert signed_in.status_code == 302
    return browser, csrf, token


def test_no_route_answers_500_to_huge_numbers_or_json_that_is_not_an_object(app, admin):
    browser, csrf, token = admin
    query = {name: HUGE[0] for name in _names_read_from("args")} | {"date": "0001-01-01", "month": "0001-01"}
    form = {name: HUGE[0] for name in _names_read_from("form")} | {"csrf_token": csrf}
    headers = {"X-CSRFToken": csrf, "Authorization": f"Bearer {token}"}
    failures, tried = [], 0
    for rule in app.url_map.iter_rules():
        # the webhooks answer callers (their tests are theirs); logging out would end the walk's session
        if rule.rule.startswith("/voice/") or rule.endpoint in ("static", "admin.static", "admin.logout"):
            continue
        for url in _urls(rule):
            answers = []
            if "GET" in rule.methods:
                answers += [browser.get(url), browser.get(url, query_string=query)]
            if "POST" in rule.methods:
                answers += [
                    browser.post(url, data=body, content_type="application/json", headers=headers)
                    for body in JSON_BODIES
                ]
                answers.append(browser.post(url, data=form, query_string=query, headers=headers))
            tried += len(answers)
            failures += [
                (answer.request.method, url, answer.status_code)
                for answer in answers
                if answer.status_code >= 500
            ]
            for answer in answers:
                answer.close()
    assert tried > 300
    assert failures == []


@pytest.mark.parametrize(
    "url",
    [
        "/console/menu/versions/99999999999999999999999",
        "/recordings/99999999999999999999999/audio",
        "/console/announcements/99999999999999999999999",
    ],
)
def test_a_huge_id_in_a_page_url_is_404(admin, url):
    browser, _, _ = admin
    assert browser.get(url).status_code == 404


@pytest.mark.parametrize("number", ["99999999999999999999999", str(2**31)])
def test_a_huge_number_in_a_query_is_400_saying_so(admin, number):
    browser, _, _ = admin
    answer = browser.get("/agent", query_string={"agent_id": number})
    assert answer.status_code in (400, 404)
    assert "out of range" in answer.get_data(as_text=True) or answer.status_code == 404


@pytest.mark.parametrize("body", ["[1, 2]", "5", '"text"'])
def test_json_that_is_not_an_object_is_400_with_a_message_even_at_login(app, body):
    app.config["SECRET_KEY"] = "test-secret-key"
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    answer = browser.post("/login", data=body, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith("the body is a JSON ")
    assert answer.get_json()["error"].endswith(": send the page's form fields")


def test_a_json_object_is_no_login_form(app, hotline):
    """Fields given as JSON numbers or lists never reach the form as if typed."""
    app.config["SECRET_KEY"] = "test-secret-key"
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="root", role="admin", password=PASSWORD)
    browser = app.test_client()
    page = browser.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    for body in ({"username": 5, "password": ["x"]}, {"username": "root", "password": PASSWORD}):
        answer = browser.post("/login", json=body, headers={"X-CSRFToken": csrf})
        assert answer.status_code == 200  # the form again: nothing typed in it
    assert browser.get("/home").status_code == 302


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00", "0001-01-01 07:59", "9999-12-31T23:59", "1899-12-31T08:00"]
)
def test_an_announcement_at_an_impossible_date_is_a_form_error(admin, hotline, field, moment):
    browser, csrf, _ = admin
    form = {
        "csrf_token": csrf,
        "text_zh-CN": "停气通知",
        "text_en-US": "Gas off",
        "starts_at": "2026-12-08T08:00",
        "ends_at": "2026-12-08T10:00",
        "target": "everyone",
    } | {field: moment}
    answer = browser.post("/console/announcements", data=form)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "must be a date and time (YYYY-MM-DD HH:MM) in the years 2000-2099" in page
    with hotline.sessions() as session:
        assert session.scalar(select(Announcement)) is None
