"""The Content-Security-Policy in a real browser: no console page breaks under it (no violation, no
script error), and no page can be framed by another (issue 13, point 10)."""

from __future__ import annotations

import pytest

from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.browser.conftest import Site

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PAGES = [
    "/home",
    "/users",
    "/agent",
    "/console/board",
    "/console/history",
    "/console/staffing",
    "/console/menu",
    "/console/menu/draft",
    "/console/rules",
    "/console/rules/draft",
    "/console/changes",
    "/console/announcements",
    "/console/callbacks",
    "/quality",
    "/quality/scorecard",
    "/quality/recordings",
    "/reports/quality",
    "/reports/satisfaction",
    "/satisfaction/follow-ups",
]


def test_every_console_page_works_under_the_policy(page, site: Site) -> None:
    problems: list[str] = []
    page.on(
        "console",
        lambda message: (
            problems.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="root", role="admin", password=PASSWORD)
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for path in PAGES:
        answer = page.goto(site.url + path)
        assert answer is not None and answer.status == 200, path
        assert "frame-ancestors 'none'" in (answer.header_value("content-security-policy") or ""), path
        page.wait_for_load_state("networkidle")
    assert problems == []


def test_no_page_can_be_framed(page, site: Site) -> None:
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto(site.url + "/login")
    # a page of another origin (about:blank counts as one) frames the login form
    page.set_content(f'<iframe id="f" src="{site.url}/login"></iframe>')
    page.wait_for_timeout(1000)
    framed = page.frames[1] if len(page.frames) > 1 else None
    assert framed is None or framed.locator("input[name=password]").count() == 0
    assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in messages), messages
