"""An admin adds a user from the pages and hands them the one-time link; the user sets a password through it
and logs in; the admin deactivates them and their open session ends. At 1366x900, nothing scrolls sideways.
Screenshots: tests/browser/screenshots/users-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import Agent, ChangeLog
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "run-the-centre-1"
NEW_PASSWORD = "my-own-secret-7"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def admin_site(site: Site) -> Site:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="boss", role="admin", password=PASSWORD)
    return site


def _fits(page, name: str) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{name} scrolls sideways at 1366"
    screenshot(page, name)


def _log_in(page, site: Site, username: str, password: str) -> None:
    page.goto(site.url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_an_admin_adds_a_user_who_sets_a_password_and_is_later_deactivated(browser, admin_site):
    site = admin_site
    with site.hotline.sessions() as session:
        agent = session.scalar(select(Agent).order_by(Agent.id).limit(1))
        agent_text = f"{agent.name} (#{agent.id})"
    admin_context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    admin = admin_context.new_page()
    _log_in(admin, site, "boss", PASSWORD)
    admin.locator("nav.main-nav summary", has_text="人员 / People").click()
    admin.get_by_role("link", name="用户 / Users").click()
    expect(admin.locator("h1")).to_have_text("用户 / Users")
    _fits(admin, "users-1-list")

    admin.get_by_role("link", name="新建用户 / New user").click()
    admin.fill("input[name=username]", "liwei")
    admin.select_option("select[name=role]", "agent")
    admin.select_option("select[name=agent_id]", label=agent_text)
    _fits(admin, "users-2-new")
    admin.get_by_role("button", name="创建 / Create").click()
    expect(admin.locator("h1")).to_contain_text("已创建用户 / User created: liwei")
    link = admin.locator("#one-time-link").input_value()
    assert link.startswith(site.url + "/reset/")
    _fits(admin, "users-3-link")

    user_context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    user = user_context.new_page()
    user.goto(link)
    expect(user.locator("main")).to_contain_text("liwei")
    user.fill("input[name=password]", NEW_PASSWORD)
    user.fill("input[name=again]", NEW_PASSWORD)
    _fits(user, "users-4-set-password")
    user.get_by_role("button", name="设置密码 / Set password").click()
    expect(user.locator(".flash")).to_contain_text("Your password is set")
    _log_in(user, site, "liwei", NEW_PASSWORD)
    expect(user).to_have_url(site.url + "/agent")  # an agent starts at their seat
    user.goto(link)  # the link worked once
    expect(user.locator(".flash.error")).to_contain_text("already used")

    admin.get_by_role("link", name="返回用户 / Back to the user").click()
    expect(admin.locator("h1")).to_contain_text("liwei")
    _fits(admin, "users-5-user")
    admin.get_by_role("button", name="停用并结束登录 / Deactivate and end their sessions").click()
    expect(admin.locator(".flash")).to_contain_text("every session of theirs has ended")
    expect(admin.locator("h1 .badge")).to_have_text("已停用 / Deactivated")
    _fits(admin, "users-6-deactivated")

    user.goto(site.url + "/agent")
    expect(user).to_have_url(site.url + "/login?next=/agent")  # their open session ended at once
    with site.hotline.sessions() as session:
        actions = session.scalars(
            select(ChangeLog.action)
            .where(ChangeLog.kind == "user", ChangeLog.subject == "liwei")
            .order_by(ChangeLog.id)
        ).all()
    assert actions == ["create", "set-password", "deactivate"]
    user_context.close()
    admin_context.close()
