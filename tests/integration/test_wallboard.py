"""The wallboard: its figures (the live board's) with the levels of the supervisors' limits, the limits as
stored and changed (with the change log), its pages and who may open them. SQLite and PostgreSQL.

Times as in test_console_floor.py: Asia/Shanghai, "now" is local 2026-03-10 12:00.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, update

from ivr.db.models import Agent, ChangeLog, WallboardThreshold
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.queueing.board import live_board
from ivr.queueing.wallboard import wallboard
from ivr.queueing.wallboard_levels import ALL_QUEUES, BUILT_IN, LIMIT_FIELDS
from ivr.queueing.wallboard_thresholds import ThresholdsRefused, save_limits, stored_limits
from tests.helpers import count
from tests.integration.test_console_floor import NOW, TIMEZONE, Floor, local

PASSWORD = "correct horse battery"
QUEUES = ["safety", "billing", "repair", "complaint", "general"]


def _limits(hotline, given, by="sup"):
    with unit_of_work(hotline.sessions) as session:
        return save_limits(session, given=given, queues=QUEUES, by=by)


def _wallboard(hotline):
    with hotline.sessions() as session:
        return wallboard(session, rules=hotline.rules.live(), timezone=TIMEZONE, now=NOW)


def test_the_figures_are_the_live_boards_with_levels_from_the_limits(hotline):
    f = Floor(hotline)
    gas = f.call(local(10, 11, 58, 30), "safety", after=0, emergency=True, caller="+8613800000002")
    f.call(local(10, 11, 59, 30), "safety", after=0)  # waiting 90 s and 30 s at noon
    a = f.call(local(10, 9), "billing")  # answered after 10 s: within the 20 s
    f.answered(a, "陈静", local(10, 9, 0, 15))
    b = f.call(local(10, 9, 30), "billing")  # answered after 40 s: not within
    f.answered(b, "陈静", local(10, 9, 30, 45))
    _limits(hotline, {ALL_QUEUES: {"waiting_amber": 2, "waiting_red": 4}, "safety": {"waiting_red": 2}})
    f.agent_state("赵磊", "break")
    f.agent_state("陈静", "on_call")
    with unit_of_work(hotline.sessions) as session:  # out of service: not on the floor
        session.execute(update(Agent).where(Agent.name == "吴刚").values(active=False, state="offline"))

    board = _wallboard(hotline)
    queues = {q.name: q for q in board.queues}
    assert list(queues) == QUEUES
    safety, billing, repair = queues["safety"], queues["billing"], queues["repair"]
    assert (safety.waiting.value, safety.waiting.level) == (2, "red")  # safety's own red: 2
    assert (safety.longest_wait.value, safety.longest_wait.level) == (90, "amber")  # built in: 60 / 120 s
    assert (safety.service_level.value, safety.service_level.level) == (None, "none")  # none decided yet
    assert safety.emergencies_waiting == 1 and safety.limits.waiting_amber == 2
    assert (billing.waiting.value, billing.waiting.level) == (0, "ok")
    assert (billing.service_level.value, billing.service_level.level) == (0.5, "red")  # below 60 %
    assert repair.limits.waiting_red == 4 and repair.limits.longest_wait_red == BUILT_IN.longest_wait_red

    with hotline.sessions() as session:  # the same figures as the live board's
        live = live_board(session, rules=hotline.rules.live(), timezone=TIMEZONE, now=NOW)
    assert [(q["name"], q["waiting"], q["longest_wait"]) for q in live["queues"]] == [
        (q.name, q.waiting.value, q.longest_wait.value) for q in board.queues
    ]
    assert board.emergencies[0]["call_sid"] == gas
    assert board.emergencies[0]["where"]["kind"] == "waiting"

    states = {group.state: group for group in board.agents}
    assert (states["available"].count, states["available"].names) == (3, ["Emily Wu", "周杰", "孙丽"])
    assert states["break"].names == ["赵磊"] and states["on_call"].names == ["陈静"]
    assert states["offline"].count == 0  # 吴刚 is out of service, not offline on the floor
    sent = json.loads(json.dumps(board.as_json()))  # plain values only
    assert sent["queues"][0]["waiting"] == {"value": 2, "level": "red"}
    assert sent["local_time"] == "2026-03-10 12:00:00"


def test_limits_are_saved_per_scope_logged_and_refused_when_unusable(hotline):
    # safety's red 1 would be under the amber 2 it takes from every queue: refused, nothing written.
    with pytest.raises(ThresholdsRefused) as refused:
        _limits(hotline, {ALL_QUEUES: {"waiting_amber": 2}, "safety": {"waiting_red": 1}})
    assert refused.value.problems == ["safety: 等待：黄色不能高于红色 / waiting: amber must not be above red"]
    with hotline.sessions() as session:
        assert stored_limits(session) == {}
        assert count(session, ChangeLog, ChangeLog.kind == "wallboard") == 0

    every, safety = {"waiting_amber": 2, "waiting_red": 5}, {"waiting_amber": 1, "waiting_red": 1}
    same = {ALL_QUEUES: every, "safety": safety}
    assert _limits(hotline, same) == [ALL_QUEUES, "safety"]
    with hotline.sessions() as session:
        stored = stored_limits(session)
        assert stored["safety"]["waiting_red"] == 1 and stored["safety"]["longest_wait_red"] is None
        row = session.get(WallboardThreshold, "safety")
        assert row is not None and row.updated_by == "sup"
        logged = select(ChangeLog).where(ChangeLog.kind == "wallboard").order_by(ChangeLog.id)
        entries = [(e.subject, e.before, (e.after or {}).get("waiting_red")) for e in session.scalars(logged)]
    assert entries == [(ALL_QUEUES, None, 5), ("safety", None, 1)]

    # The same values again: nothing changes, nothing is logged.
    assert _limits(hotline, same) == []
    # A queue left empty takes every queue's limits again: its row goes, and the log says so.
    assert _limits(hotline, {**same, "safety": {}}, by="admin") == ["safety"]
    with hotline.sessions() as session:
        assert set(stored_limits(session)) == {ALL_QUEUES}
        last = session.scalars(select(ChangeLog).order_by(ChangeLog.id.desc())).first()
        assert (last.who, last.subject, last.after) == ("admin", "safety", None)
        assert last.before["waiting_red"] == 1
        assert count(session, ChangeLog, ChangeLog.kind == "wallboard") == 3


# ---------------------------------------------------------------- pages


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _client(app, hotline, role):
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).where(Agent.name == "陈静")) if role == "agent" else None
        create_user(session, username=f"user-{role}", role=role, password=PASSWORD, agent_id=seat)
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    login = {"username": f"user-{role}", "password": PASSWORD, "csrf_token": token}
    answer = client.post("/login", data=login)
    assert answer.status_code == 302
    return client


def test_who_may_open_the_wallboard_and_its_limits(app, hotline):
    app.config["SECRET_KEY"] = "test-secret-key"
    for role in ("admin", "supervisor", "shift_lead", "quality", "agent"):
        client = _client(app, hotline, role)
        floor, limits = role in ("admin", "supervisor", "shift_lead"), role in ("admin", "supervisor")
        assert client.get("/wallboard").status_code == (200 if floor else 403)
        assert client.get("/wallboard/data").status_code == (200 if floor else 403)
        assert client.get("/wallboard/thresholds").status_code == (200 if limits else 403)
        token = _csrf(client.get("/home").get_data(as_text=True))
        posted = client.post("/wallboard/thresholds", data={"csrf_token": token, "safety.waiting_red": "9"})
        assert posted.status_code == (302 if limits else 403)


def test_the_wall_page_has_no_navigation_and_its_data_is_json(app, hotline):
    app.config["SECRET_KEY"] = "test-secret-key"
    client = _client(app, hotline, "shift_lead")
    html = client.get("/wallboard").get_data(as_text=True)
    assert 'class="top"' not in html and "<nav" not in html  # its own page, not the admin base
    assert "wallboard.js" in html and "<script>" not in html  # no inline script (CSP)
    assert 'id="wallboard-data"' in html
    data = client.get("/wallboard/data")
    assert data.headers["Cache-Control"] == "no-store"
    body = data.get_json()
    assert [q["name"] for q in body["queues"]] == QUEUES
    assert body["queues"][0]["limits"] == {
        name: getattr(BUILT_IN, name) for name in body["queues"][0]["limits"]
    }
    assert {group["state"] for group in body["agents"]} >= {"available", "break", "offline"}


def test_the_limits_form_saves_and_refuses_with_words(app, hotline):
    app.config["SECRET_KEY"] = "test-secret-key"
    client = _client(app, hotline, "supervisor")
    token = _csrf(client.get("/wallboard/thresholds").get_data(as_text=True))

    saved = client.post(
        "/wallboard/thresholds",
        data={"csrf_token": token, "*.waiting_amber": "2", "*.waiting_red": "4", "safety.waiting_amber": "1"},
        follow_redirects=True,
    )
    assert saved.status_code == 200
    html = saved.get_data(as_text=True)
    assert "已保存 / Saved: *, safety" in html
    assert re.search(r'name="safety.waiting_amber"[^>]*value="1"', html)
    assert client.get("/wallboard/data").get_json()["queues"][0]["limits"]["waiting_amber"] == 1

    for form, words in (
        ({"safety.waiting_red": "abc"}, "&#39;abc&#39; 不是整数 / is not a whole number"),
        ({"billing.service_level_amber": "50", "billing.service_level_red": "70"}, "not be below red"),
        ({"*.longest_wait_amber": "0"}, "longest wait amber: 至少为 1 / must be at least 1"),
    ):
        refused = client.post("/wallboard/thresholds", data={"csrf_token": token, **form})
        assert refused.status_code == 400
        text = refused.get_data(as_text=True)
        assert "未保存 / Not saved" in text and words in text
    with hotline.sessions() as session:  # nothing of the refused forms was kept
        unset = dict.fromkeys(LIMIT_FIELDS)
        assert stored_limits(session) == {
            ALL_QUEUES: {**unset, "waiting_amber": 2, "waiting_red": 4},
            "safety": {**unset, "waiting_amber": 1},
        }
