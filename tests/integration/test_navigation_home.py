"""The navigation bar (only pages the role opens, each one opening) and each role's home, with its figures."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import urlsplit

import pytest
from flask import url_for
from sqlalchemy import select

from ivr.db.demo import load_demo_callbacks
from ivr.db.models import (
    Agent,
    AuditItem,
    AuditSample,
    Call,
    CallbackJob,
    QueueEntry,
    Recording,
    Review,
    User,
    WorkOrder,
    utcnow,
)
from ivr.db.session import unit_of_work
from ivr.home.figures import agent_items, centre_figures, floor_at_a_glance, review_queue
from ivr.people.user_admin import create_user
from ivr.people.users import ROLES
from ivr.queueing.storm import set_storm
from ivr.queueing.wallboard_thresholds import save_limits
from ivr.web.navigation import GROUPS, links_for, may_open

PASSWORD = "navigate-the-console-1"
_NAV = re.compile(r'<nav class="main-nav".*?</nav>', re.S)
_HREF = re.compile(r'href="([^"]+)"')
FULL_SCREEN = {"/wallboard"}  # the wall screen's page has no bar: nobody clicks on a wall


@pytest.fixture
def people(hotline):  # type: ignore[no-untyped-def]
    """One user per role (the agent user works as the first demo agent): {role: (user id, agent id)}."""
    made = {}
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalars(select(Agent.id).order_by(Agent.id)).first()
        for role in ROLES:
            user, _ = create_user(
                session,
                username=f"nav-{role}",
                role=role,
                password=PASSWORD,
                agent_id=agent_id if role == "agent" else None,
            )
            made[role] = (user.id, agent_id if role == "agent" else None)
    return made


@pytest.fixture
def walked(app, people, database_url):  # type: ignore[no-untyped-def]
    """The bar and its links do not depend on the database: walked once, on SQLite."""
    if database_url.startswith("postgresql"):
        pytest.skip("the bar is the same on every database: walked on SQLite")
    return app


def _login(app, role):  # type: ignore[no-untyped-def]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', page).group(1)
    answer = client.post("/login", data={"username": f"nav-{role}", "password": PASSWORD, "csrf_token": csrf})
    assert answer.status_code == 302
    return client


def _nav_links(html: str) -> list[str]:
    found = _NAV.search(html)
    assert found, "no navigation bar on the page"
    return [unescape(href) for href in _HREF.findall(found.group(0))]


# ---------------------------------------------------------------- the bar


@pytest.mark.parametrize("role", ROLES)
def test_the_bar_shows_every_page_the_role_opens_and_each_one_opens(walked, role):  # type: ignore[no-untyped-def]
    app = walked
    client = _login(app, role)
    links = _nav_links(client.get("/home").get_data(as_text=True))
    with app.test_request_context():
        expected = {"/home", "/search"} | {
            url_for(link.endpoint)
            for group in GROUPS
            for link in group.links
            if may_open(role, link.endpoint, app.view_functions)
        }
    assert set(links) == expected
    for url in links:
        answer = client.get(url)
        assert answer.status_code == 200, f"{role}: {url} answered {answer.status_code}"
        if url not in FULL_SCREEN:
            assert _nav_links(answer.get_data(as_text=True)) == links, f"{role}: the bar differs on {url}"


def test_what_the_issue_found_is_mended(app, people):  # type: ignore[no-untyped-def]
    quality = _nav_links(_login(app, "quality").get("/home").get_data(as_text=True))
    assert "/quality/recordings" in quality  # linked for no role before
    assert "/users" not in quality and "/console/board" not in quality
    agent = _nav_links(_login(app, "agent").get("/home").get_data(as_text=True))
    assert "/agent" in agent and "/quality/mine" in agent and "/quality" not in agent
    assert "/users" in _nav_links(_login(app, "admin").get("/home").get_data(as_text=True))


@pytest.mark.parametrize("role", ROLES)
def test_no_link_on_the_pages_of_the_bar_answers_403(walked, role):  # type: ignore[no-untyped-def]
    """One step further than the bar: every link on every page the bar leads to opens too (GET)."""
    client = _login(walked, role)
    pages = _nav_links(client.get("/home").get_data(as_text=True))
    seen, refused = set(pages), []
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        for href in map(unescape, _HREF.findall(html)):
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/") or href in seen or "/admin/static/" in href:
                continue
            seen.add(href)
            if client.get(href).status_code == 403:
                refused.append(f"{href} (on {page})")
    assert refused == [], f"links that answer 403 to {role}"


def test_the_current_page_is_marked_in_the_bar(app, people):  # type: ignore[no-untyped-def]
    html = _login(app, "supervisor").get("/console/board").get_data(as_text=True)
    nav = _NAV.search(html).group(0)
    assert re.search(r'<summary class="nav-item current">现场 / Floor</summary>', nav)
    assert re.search(r'href="/console/board" class="current" aria-current="page"', nav)
    assert nav.count('aria-current="page"') == 1
    users = _NAV.search(_login(app, "admin").get("/users/new").get_data(as_text=True)).group(0)
    assert re.search(r'href="/users" class="current" aria-current="page"', users)  # a page under Users


def test_an_endpoint_not_registered_or_of_the_token_api_is_never_linked():
    def page():  # type: ignore[no-untyped-def]
        return ""

    def api():  # type: ignore[no-untyped-def]
        return ""

    page.roles, page.token = ("quality",), False  # type: ignore[attr-defined]
    api.roles, api.token = ("quality",), True  # type: ignore[attr-defined]
    views = {"quality.recordings": page, "quality.sample": api}
    assert [(text, [link.endpoint for link in links]) for text, links in links_for("quality", views)] == [
        ("质检 / Quality", ["quality.recordings"])
    ]
    assert links_for("agent", views) == []


# ---------------------------------------------------------------- the homes


def _centre_in_trouble(hotline, people):  # type: ignore[no-untyped-def]
    """Callers waiting (one a gas leak), storm mode on, late orders, call-backs behind, a spooled file."""
    now = utcnow()
    with unit_of_work(hotline.sessions) as session:
        session.add_all(
            [
                Call(
                    call_sid="CAgas",
                    from_number="+8613800000009",
                    emergency=True,
                    queue="safety",
                    started_at=now - timedelta(minutes=2),
                ),
                QueueEntry(
                    call_sid="CAgas",
                    queue="safety",
                    intent="safety",
                    language="zh-CN",
                    emergency=True,
                    status="waiting",
                    waiting_since=now - timedelta(seconds=30),
                ),
                Call(
                    call_sid="CAbill",
                    from_number="+8613800000008",
                    queue="billing",
                    started_at=now - timedelta(minutes=3),
                ),
                QueueEntry(
                    call_sid="CAbill",
                    queue="billing",
                    intent="billing",
                    language="zh-CN",
                    status="waiting",
                    waiting_since=now - timedelta(seconds=95),
                ),
                Call(
                    call_sid="CAoldgas",
                    from_number="+8613800000007",
                    emergency=True,
                    started_at=now - timedelta(hours=3),
                    ended_at=now - timedelta(hours=3),
                ),
            ]
        )
        set_storm(session, True, who="nav-supervisor")
        # The supervisors' limit for billing (wallboard thresholds): red from 60 s of waiting.
        limits = {"billing": {"longest_wait_amber": 30, "longest_wait_red": 60}}
        save_limits(session, given=limits, queues=["billing"], by="nav-supervisor")
        first, second = session.scalars(
            select(WorkOrder).where(WorkOrder.stage != "closed").order_by(WorkOrder.id)
        )
        first.due_at, first.warn_at, first.escalation = (
            now - timedelta(hours=1),
            now - timedelta(hours=2),
            "supervisor",
        )
        second.owner_user_id = people["agent"][0]
        second.due_at, second.warn_at = now + timedelta(hours=5), now + timedelta(hours=4)
        load_demo_callbacks(session, hotline.settings)
        behind, given_up, later = session.scalars(select(CallbackJob).order_by(CallbackJob.id))
        later.status, later.due_at = "queued", now + timedelta(hours=1)  # its time is still to come
        behind.status, behind.due_at = "queued", now - timedelta(hours=1)
        given_up.status, given_up.finished_at = "unreachable", now - timedelta(hours=2)
    hotline.settings.spool_dir.mkdir(parents=True, exist_ok=True)
    (hotline.settings.spool_dir / "0001-test.json").write_text("[]")


def _figures(hotline):  # type: ignore[no-untyped-def]
    now = utcnow()
    with hotline.sessions() as session, session.begin():
        floor = floor_at_a_glance(session, rules=hotline.rules.live(), timezone="Asia/Shanghai", now=now)
        return floor, centre_figures(session, floor, now=now, spool_waiting=1)


def test_the_supervisor_figures_are_read_from_the_database(hotline, people):  # type: ignore[no-untyped-def]
    _, calm = _figures(hotline)
    assert calm["waiting"] == 0 and calm["emergencies"] == 0 and not calm["storm"].on
    _centre_in_trouble(hotline, people)
    floor, figures = _figures(hotline)
    assert figures["waiting"] == 2 and 95 <= figures["longest_wait"] <= 100
    assert figures["emergencies"] == 1 and figures["emergencies_on_line"] == 1  # the one of 3 h ago is out
    assert figures["storm"].on and figures["storm"].set_by == "nav-supervisor"
    past = figures["past_limit"]
    # Of the demo's two open orders, one is past its deadline (escalated), the other not yet.
    assert past["orders_overdue"] == 1 and past["orders_escalated"] == 1
    assert past["queues_over"] == ["billing"]  # 95 s against its red limit of 60 s; safety's 30 s is fine
    assert floor["levels"]["billing"] == "red" and floor["levels"]["safety"] == "ok"
    assert past["callbacks_behind"] == 1 and past["callbacks_given_up"] == 1  # none before: no demo jobs
    assert calm["past_limit"]["callbacks_behind"] == 0 and calm["past_limit"]["queues_over"] == []
    queues = {queue["name"]: queue for queue in floor["queues"]}
    assert queues["billing"]["waiting"] == 1 and queues["safety"]["emergencies_waiting"] == 1


def test_the_supervisor_home_shows_the_live_figures_and_what_is_past_its_limit(app, hotline, people):  # type: ignore[no-untyped-def]
    client = _login(app, "supervisor")
    calm = client.get("/home").get_data(as_text=True)
    assert re.search(r'风暴模式 / Storm mode</span>\s*<span class="tile-value">关 / Off', calm)
    assert re.search(
        r'<li class="fine"><span class="count">0</span>\s*<span class="what"><a href="/desks">工单已升级',
        calm,
    )
    _centre_in_trouble(hotline, people)
    html = client.get("/home").get_data(as_text=True)
    assert re.search(r'等待中 / Waiting</span>\s*<span class="tile-value">2<', html)
    assert re.search(r'最长等待 / Longest wait</span>\s*<span class="tile-value">1:3\d<', html)
    assert re.search(r'Gas emergencies, last hour</span>\s*<span class="tile-value">1<', html)
    assert re.search(r'风暴模式 / Storm mode</span>\s*<span class="tile-value">开 / On', html)
    assert re.search(
        r'<li class="bad"><span class="count">1</span>\s*<span class="what"><a href="/desks">工单已升级', html
    )
    assert re.search(
        r'<li class="bad"><span class="count">1</span>\s*<span class="what">数据库中断期间', html
    )
    assert "(账单 / Billing)" in html and '<tr class="level-red">' in html


def test_the_shift_lead_sees_queues_and_agents_but_not_the_centre_figures(app, hotline, people):  # type: ignore[no-untyped-def]
    _centre_in_trouble(hotline, people)
    html = _login(app, "shift_lead").get("/home").get_data(as_text=True)
    row = re.search(r"<td>账单 / Billing</td>(.*?)</tr>", html, re.S).group(1)
    waiting, longest = re.findall(r'<td class="num">([^<]*)</td>', row)[:2]
    assert waiting == "1" and re.fullmatch(r"1:3\d", longest)
    with hotline.sessions() as session:
        available = session.scalar(select(Agent).where(Agent.state == "available").limit(1)) is not None
    assert available and re.search(r'<span class="state state-available">空闲 / Available \d+</span>', html)
    assert "Past its limit" not in html and "Storm mode" not in html


def _sample_with_pending(hotline, agent_id, pending=3, done=1):  # type: ignore[no-untyped-def]
    now = utcnow()
    with unit_of_work(hotline.sessions) as session:
        reviewer = session.scalar(select(User.id).where(User.username == "nav-quality"))
        older = AuditSample(
            day=(now - timedelta(days=2)).date(), seed=1, rate=0.1, recorded_calls=5, sampled_calls=1
        )
        newest = AuditSample(
            day=(now - timedelta(days=1)).date(),
            seed=2,
            rate=0.1,
            recorded_calls=40,
            sampled_calls=pending + done,
        )
        session.add_all([older, newest])
        session.flush()
        for index, (sample, status) in enumerate(
            [(older, "pending")] + [(newest, "pending")] * pending + [(newest, "done")] * done
        ):
            recording = Recording(call_sid=f"CArec{index}", agent_id=agent_id, status="completed")
            session.add(recording)
            session.flush()
            item = AuditItem(
                sample_id=sample.id,
                recording_id=recording.id,
                call_sid=recording.call_sid,
                agent_id=agent_id,
                status=status,
            )
            session.add(item)
            session.flush()
            if status == "done":
                session.add(
                    Review(
                        item_id=item.id,
                        scorecard_version=1,
                        reviewer_id=reviewer,
                        answers={},
                        score=90.0,
                        submitted_at=now - timedelta(days=1),
                    )
                )
    return newest.day


def test_quality_staff_see_the_pending_reviews_of_the_newest_sample(app, hotline, people):  # type: ignore[no-untyped-def]
    client = _login(app, "quality")
    assert "No sample drawn yet" in client.get("/home").get_data(as_text=True)
    day = _sample_with_pending(hotline, people["agent"][1])
    with hotline.sessions() as session:
        reviewer = people["quality"][0]
        assert review_queue(session, reviewer_id=reviewer, now=utcnow()) == {
            "day": day,
            "sampled": 4,
            "pending": 3,
            "pending_older": 1,
            "mine_this_week": 1,
            "week_days": 7,
        }
    html = client.get("/home").get_data(as_text=True)
    assert re.search(r'<span class="count-big bad">3</span>\s*/ 4 通待评', html)
    assert f'href="/quality?date={day.isoformat()}&amp;status=pending"' in html
    assert "1 more pending in older samples" in html
    assert "You submitted 1 reviews in the last 7 days" in html
    assert client.get(f"/quality?date={day.isoformat()}&status=pending").status_code == 200


def test_the_agent_home_shows_their_state_and_their_own_open_items(app, hotline, people):  # type: ignore[no-untyped-def]
    user_id, agent_id = people["agent"]
    _centre_in_trouble(hotline, people)  # one open order is theirs
    _sample_with_pending(hotline, agent_id)  # one review of their calls yesterday
    with unit_of_work(hotline.sessions) as session:
        agent = session.get(Agent, agent_id)
        agent.state, agent.call_sid = "wrap_up", "CAbill"  # no disposition recorded for it
    with hotline.sessions() as session:
        mine = agent_items(
            session, agent_id=agent_id, user_id=user_id, now=utcnow(), timezone="Asia/Shanghai"
        )
    assert mine["agent"]["state"] == "wrap_up" and mine["disposition_missing"]
    assert mine["owned_count"] == 1 and mine["new_reviews"] == 1
    html = _login(app, "agent").get("/home").get_data(as_text=True)
    assert '<span class="state state-wrap_up">话后整理 / Wrap-up</span>' in html
    assert "Your last call has no disposition yet" in html
    assert re.search(r'My open work orders <span class="badge">1</span>', html)
    assert f'href="/work-orders/{mine["owned"][0]["number"]}"' in html
    assert re.search(r'<span class="count-big">1</span> 份近 7 天', html)
