"""The navigation bar and each role's home in a real browser at 1366x900: every role logs in, the bar offers
only pages it may open, each one opens (no 403), the home shows its figures, nothing scrolls sideways.
Screenshots: tests/browser/screenshots/home-<role>.png, nav-menu-admin.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.db.models import Agent, AuditItem, AuditSample, Call, QueueEntry, Recording, utcnow
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.people.users import ROLES
from ivr.queueing.storm import set_storm
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "walk-the-console-1"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# What each role's home shows (a heading or label), so an empty home fails.
HOME_SHOWS = {
    "admin": ["今日服务水平 / Service level today", "需要处理 / Past its limit", "现场 / The floor"],
    "supervisor": ["最长等待 / Longest wait", "风暴模式 / Storm mode", "今日质检 / Today's reviews"],
    "shift_lead": ["现场 / The floor"],
    "quality": ["今日质检 / Today's reviews", "开始质检 / Review them"],
    "agent": ["我的状态 / My state", "我的工单 / My open work orders", "我的质检 / My reviews"],
}


@pytest.fixture
def centre(site: Site) -> Site:
    """A user per role, two callers waiting (one a gas leak), storm mode on, yesterday's sample to review."""
    now = utcnow()
    with unit_of_work(site.hotline.sessions) as session:
        agent_id = session.scalars(select(Agent.id).order_by(Agent.id)).first()
        for role in ROLES:
            create_user(
                session,
                username=f"c-{role}",
                role=role,
                password=PASSWORD,
                agent_id=agent_id if role == "agent" else None,
            )
        for sid, queue, seconds, emergency in (
            ("CAgas", "safety", 12, True),
            ("CAbill", "billing", 75, False),
        ):
            session.add(
                Call(
                    call_sid=sid,
                    from_number="+8613800000009",
                    queue=queue,
                    emergency=emergency,
                    started_at=now - timedelta(seconds=seconds + 40),
                )
            )
            session.add(
                QueueEntry(
                    call_sid=sid,
                    queue=queue,
                    intent=queue,
                    language="zh-CN",
                    emergency=emergency,
                    status="waiting",
                    waiting_since=now - timedelta(seconds=seconds),
                )
            )
        set_storm(session, True, who="c-supervisor")
        # Yesterday's audit sample, three calls still to review.
        sample = AuditSample(
            day=(now - timedelta(days=1)).date(), seed=7, rate=0.1, recorded_calls=30, sampled_calls=3
        )
        session.add(sample)
        session.flush()
        for index in range(3):
            recording = Recording(call_sid=f"CAaudit{index}", agent_id=agent_id, status="completed")
            session.add(recording)
            session.flush()
            session.add(
                AuditItem(
                    sample_id=sample.id,
                    recording_id=recording.id,
                    call_sid=recording.call_sid,
                    agent_id=agent_id,
                    status="pending",
                )
            )
    return site


def _log_in(page, site: Site, role: str) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(site.url + "/login")
    page.fill("input[name=username]", f"c-{role}")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_finds_its_home_and_only_links_it_may_open(page, centre, role):
    _log_in(page, centre, role)
    page.goto(centre.url + "/home")
    for text in HOME_SHOWS[role]:
        expect(page.locator("main").get_by_text(text).first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert page.evaluate("document.querySelector('header.top').scrollWidth <= window.innerWidth")
    screenshot(page, f"home-{role}")

    links = page.eval_on_selector_all("nav.main-nav a", "links => links.map(a => a.getAttribute('href'))")
    assert "/home" in links and len(links) == len(set(links))
    if role == "quality":
        assert "/quality/recordings" in links and "/users" not in links
    if role == "agent":
        assert "/agent" in links and "/console/board" not in links
    for href in links:
        answer = page.goto(centre.url + href)
        assert answer is not None and answer.status == 200, (
            f"{role}: {href} answered {answer and answer.status}"
        )
        if href != "/wallboard":  # the wall screen is full-screen, without the bar
            assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{role}: {href} scrolls sideways at 1366"
            current = page.locator("nav.main-nav [aria-current=page]")
            expect(current).to_have_count(1)


def test_the_menus_open_one_at_a_time_and_lead_to_their_pages(page, centre):
    _log_in(page, centre, "admin")
    page.goto(centre.url + "/home")
    floor = page.locator("details.nav-group", has_text="现场 / Floor")
    quality = page.locator("details.nav-group", has_text="质检 / Quality")
    floor.locator("summary").click()
    expect(floor.get_by_role("link", name="现场看板 / Live board")).to_be_visible()
    quality.locator("summary").click()
    expect(floor.get_by_role("link", name="现场看板 / Live board")).to_be_hidden()  # one open at a time
    expect(quality.get_by_role("link", name="录音 / Recordings")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "nav-menu-admin")
    page.keyboard.press("Escape")
    expect(quality.get_by_role("link", name="录音 / Recordings")).to_be_hidden()
    quality.locator("summary").click()
    quality.get_by_role("link", name="录音 / Recordings").click()
    expect(page).to_have_url(centre.url + "/quality/recordings")
    expect(page.locator("nav.main-nav summary.current")).to_have_text("质检 / Quality")
    page.locator("main").click(position={"x": 5, "y": 5})
    people = page.locator("details.nav-group", has_text="人员 / People")
    people.locator("summary").click()
    people.get_by_role("link", name="用户 / Users").click()
    expect(page.locator("h1")).to_have_text("用户 / Users")


def test_the_supervisor_home_reads_the_floor(page, centre):
    _log_in(page, centre, "supervisor")
    tiles = page.locator("section.tiles")
    expect(tiles.locator("a.tile", has_text="等待中 / Waiting").locator(".tile-value")).to_have_text("2")
    expect(tiles.locator("a.tile", has_text="Gas emergencies").locator(".tile-value")).to_have_text("1")
    expect(tiles.locator("a.tile", has_text="风暴模式 / Storm mode").locator(".tile-value")).to_have_text(
        "开 / On"
    )
    billing = page.locator("table.queues tr", has_text="账单 / Billing")
    expect(billing).to_have_class("level-amber")  # 75 s waiting: past the built-in amber limit of 60 s
    tiles.locator("a.tile", has_text="风暴模式 / Storm mode").click()
    expect(page).to_have_url(centre.url + "/console/announcements")
