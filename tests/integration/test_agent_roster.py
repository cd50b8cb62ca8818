"""The agent roster on SQLite and PostgreSQL: the use cases with their change log, the routing effects of
taking an agent out of service, the CSV import, and the pages, the CLI and the API over them."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ivr.calls.agent_calls import wrap_up_seconds
from ivr.db.models import Agent, ChangeLog, QueueEntry, utcnow
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import end_wrap_ups
from ivr.people.user_admin import create_user
from ivr.queueing.agent_csv import RosterFileRefused, import_roster
from ivr.queueing.agent_roster import (
    InvalidAgent,
    RosterRefused,
    add_agent,
    deactivate_agent,
    edit_agent,
    reactivate_agent,
)
from ivr.queueing.agent_states import StateChangeRefused, request_state, set_state
from ivr.queueing.dispatch import claim_pairings
from ivr.queueing.state_change import change_state
from run import cli
from tests.helpers import count, new_call_sid

PASSWORD = "correct horse battery"
LIHUA = {
    "name": "李华",
    "phone": "+8613700000011",
    "client_identity": "agent-lihua",
    "groups": ["billing", "general"],
    "skills": {"billing": 5, "general": 4},
    "languages": ["zh-CN"],
}
ROSTER_CSV = (
    "name,client_identity,phone,groups,skills,languages,wrap_up_seconds\n"
    "李华,agent-lihua,+8613700000011,billing;general,billing:5;general:4,zh-CN,\n"
    "Grace Lin,,+8613700000012,general,general:3,en-US;zh-CN,45\n"
    "陈静,agent-chenjing,+8613700000001,billing;general,billing:4;general:4,zh-CN,\n"  # an existing agent
    "坏行,agent-bad,12345,nowhere,billing:9,fr-FR,\n"
)


def rules(hotline):
    return hotline.rules.live()


def agent_named(hotline, name):
    with hotline.sessions() as session:
        return session.scalar(select(Agent).where(Agent.name == name))


def changes(hotline, action=None):
    with hotline.sessions() as session:
        query = select(ChangeLog).where(ChangeLog.kind == "agent").order_by(ChangeLog.id)
        if action:
            query = query.where(ChangeLog.action == action)
        return list(session.scalars(query))


def waiting_billing_caller(hotline):
    """A Mandarin billing caller holding in the queue (whole calls: tests/e2e/test_agent_roster_calls.py)."""
    sid = new_call_sid()
    with unit_of_work(hotline.sessions) as session:
        session.add(QueueEntry(call_sid=sid, queue="billing", intent="billing", language="zh-CN"))
    return sid


def add(hotline, values=None, by="admin"):
    with unit_of_work(hotline.sessions) as session:
        return add_agent(session, values=values or LIHUA, rules=rules(hotline), by=by)


# ---------------------------------------------------------------- the use cases


def test_an_added_agent_is_in_service_offline_and_logged(hotline):
    agent = add(hotline)
    saved = agent_named(hotline, "李华")
    assert saved.id == agent.id and saved.active and saved.state == "offline"
    assert saved.skills == {"billing": 5, "general": 4} and saved.groups == ["billing", "general"]
    [entry] = changes(hotline, "add")
    assert entry.who == "admin" and entry.before is None
    assert entry.after["phone"] == "+8613700000011" and entry.after["skills"] == {"billing": 5, "general": 4}


def test_every_problem_is_named_by_its_field_and_nothing_is_written(hotline):
    bad = {
        "name": "",
        "phone": "13700000011",
        "groups": ["nowhere"],
        "skills": {"billing": 7, "juggling": 3},
        "languages": ["fr-FR"],
        "wrap_up_seconds": 9999,
    }
    with pytest.raises(InvalidAgent) as refused, unit_of_work(hotline.sessions) as session:
        add_agent(session, values=bad, rules=rules(hotline), by="admin")
    where = {problem.where for problem in refused.value.problems}
    # Layer one (pydantic) stops first: the shape is wrong before the meaning is asked.
    assert {"name", "phone", "skills.billing", "wrap_up_seconds"} <= where
    assert "E.164" in str(refused.value)
    with pytest.raises(InvalidAgent) as refused, unit_of_work(hotline.sessions) as session:
        add_agent(
            session,
            values={**LIHUA, "groups": ["nowhere"], "skills": {"juggling": 3}, "languages": ["fr-FR"]},
            rules=rules(hotline),
            by="admin",
        )
    messages = {problem.where: problem.message for problem in refused.value.problems}
    assert "routing rules route calls to" in messages["groups"] and "billing" in messages["groups"]
    assert "no skill the live routing rules ask for" in messages["skills.juggling"]
    assert "zh-CN" in messages["languages"]
    assert agent_named(hotline, "李华") is None
    assert changes(hotline) == []


def test_an_agent_needs_a_phone_or_a_client_identity_and_neither_may_be_another_agents(hotline):
    with (
        pytest.raises(InvalidAgent, match="phone number .* or the browser client"),
        unit_of_work(hotline.sessions) as session,
    ):
        add_agent(
            session, values={**LIHUA, "phone": "", "client_identity": None}, rules=rules(hotline), by="a"
        )
    taken = {**LIHUA, "client_identity": "agent-chenjing", "phone": "+8613700000002"}
    with pytest.raises(InvalidAgent) as refused, unit_of_work(hotline.sessions) as session:
        add_agent(session, values=taken, rules=rules(hotline), by="a")
    where = {problem.where: problem.message for problem in refused.value.problems}
    assert "陈静" in where["client_identity"] and "赵磊" in where["phone"]


def test_an_edit_is_logged_with_before_and_after_and_a_partial_edit_keeps_the_rest(hotline):
    agent = add(hotline)
    with unit_of_work(hotline.sessions) as session:
        edit_agent(
            session,
            agent_id=agent.id,
            values={"skills": {"billing": 2}, "wrap_up_seconds": 15},
            rules=rules(hotline),
            by="sup",
            partial=True,
        )
    saved = agent_named(hotline, "李华")
    assert saved.skills == {"billing": 2} and saved.wrap_up_seconds == 15 and saved.phone == LIHUA["phone"]
    [entry] = changes(hotline, "edit")
    assert entry.before["skills"] == {"billing": 5, "general": 4} and entry.after["skills"] == {"billing": 2}
    assert entry.after["wrap_up_seconds"] == 15 and entry.who == "sup"


def test_deactivation_takes_the_agent_offline_and_out_of_every_routing_path(hotline):
    chen = agent_named(hotline, "陈静")
    assert chen.state == "available"
    with unit_of_work(hotline.sessions) as session:
        deactivate_agent(session, agent_id=chen.id, by="admin")
    chen = agent_named(hotline, "陈静")
    assert not chen.active and chen.state == "offline" and chen.state_reason == "out of service"
    [entry] = changes(hotline, "deactivate")
    assert (
        entry.before["active"] is True
        and entry.after["active"] is False
        and entry.after["state"] == "offline"
    )
    # Their linked user cannot set themselves available, through the page or the API (one use case).
    with pytest.raises(StateChangeRefused, match="out of service"):
        change_state(hotline.sessions, agent_id=chen.id, state="available", reason="", by="chen")
    # Whatever the call flow does (a released offer, a wrap-up over), they go offline, not available.
    with unit_of_work(hotline.sessions) as session:
        row = session.get(Agent, chen.id)
        set_state(session, row, "available", reason="wrap-up over")
        assert row.state == "offline"
    # Even a row set available behind the roster's back is never offered a call.
    with unit_of_work(hotline.sessions) as session:
        session.get(Agent, chen.id).state = "available"
    with hotline.sessions() as session:
        from ivr.queueing.dispatch import _available_agents  # noqa: PLC0415 (the dispatcher's own pick)

        assert chen.id not in [agent.id for agent in _available_agents(session)]
    with (
        pytest.raises(RosterRefused, match="already out of service"),
        unit_of_work(hotline.sessions) as session,
    ):
        deactivate_agent(session, agent_id=chen.id, by="admin")


def test_an_agent_taken_out_during_a_call_finishes_it_then_goes_offline(hotline):
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        row = session.get(Agent, chen.id)
        set_state(session, row, "on_call", call_sid="CA" + "1" * 32)
        deactivate_agent(session, agent_id=chen.id, by="admin")
        assert row.state == "on_call"  # the caller is not cut off
        set_state(session, row, "wrap_up", call_sid=row.call_sid)
        row.wrap_up_until = utcnow()
    end_wrap_ups(hotline, utcnow())
    assert agent_named(hotline, "陈静").state in ("wrap_up", "offline")  # wrap-up may wait for a disposition
    with unit_of_work(hotline.sessions) as session:
        row = session.get(Agent, chen.id)
        set_state(session, row, "available", reason="wrap-up over")
    assert agent_named(hotline, "陈静").state == "offline"


def test_reactivation_brings_the_agent_back_offline_and_they_may_go_available(hotline):
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        deactivate_agent(session, agent_id=chen.id, by="admin")
    with unit_of_work(hotline.sessions) as session:
        reactivate_agent(session, agent_id=chen.id, by="admin")
        with pytest.raises(RosterRefused, match="in service already"):
            reactivate_agent(session, agent_id=chen.id, by="admin")
    assert agent_named(hotline, "陈静").state == "offline"
    with unit_of_work(hotline.sessions) as session:
        request_state(session, session.get(Agent, chen.id), "available", by="chen")
    assert agent_named(hotline, "陈静").state == "available"
    assert [entry.action for entry in changes(hotline)] == ["deactivate", "reactivate"]


def test_the_agents_own_wrap_up_wins_over_the_groups(hotline):
    agent = add(hotline, {**LIHUA, "groups": ["safety"], "skills": {"safety": 3}})
    live = rules(hotline)
    assert wrap_up_seconds(live, None, agent_named(hotline, "李华"), utcnow()) == 30  # the safety group's
    with unit_of_work(hotline.sessions) as session:
        edit_agent(
            session, agent_id=agent.id, values={"wrap_up_seconds": 5}, rules=live, by="a", partial=True
        )
    assert wrap_up_seconds(live, None, agent_named(hotline, "李华"), utcnow()) == 5


def test_a_new_available_agent_is_paired_at_the_next_dispatch(hotline):
    """The dispatcher reads agents from the database: no cache to refresh."""
    with unit_of_work(hotline.sessions) as session:
        for agent in session.scalars(select(Agent)):
            agent.state = "offline"
    sid = waiting_billing_caller(hotline)
    assert claim_pairings(utcnow(), sessions=hotline.sessions, rules=rules(hotline)) == []
    agent = add(hotline)
    with unit_of_work(hotline.sessions) as session:
        request_state(session, session.get(Agent, agent.id), "available", by="lihua")
    [offer] = claim_pairings(utcnow(), sessions=hotline.sessions, rules=rules(hotline))
    assert (offer.agent_id, offer.call_sid) == (agent.id, sid)


# ---------------------------------------------------------------- the CSV import


def test_the_import_creates_updates_and_refuses_row_by_row(hotline):
    with unit_of_work(hotline.sessions) as session:
        report = import_roster(session, text=ROSTER_CSV, rules=rules(hotline), by="admin")
    assert [(row.line, row.outcome) for row in report.rows] == [
        (2, "created"),
        (3, "created"),
        (4, "updated"),
        (5, "refused"),
    ]
    refused = " ".join(report.rows[3].problems)
    assert "E.164" in refused and "skills.billing" in refused
    grace = agent_named(hotline, "Grace Lin")
    assert (
        grace.wrap_up_seconds == 45
        and grace.languages == ["en-US", "zh-CN"]
        and grace.client_identity is None
    )
    assert agent_named(hotline, "陈静").skills == {"billing": 4, "general": 4}
    assert agent_named(hotline, "坏行") is None
    assert [entry.action for entry in changes(hotline)] == ["add", "add", "edit"]
    # The same file again duplicates nobody: every row is found by identity or phone.
    with unit_of_work(hotline.sessions) as session:
        again = import_roster(session, text=ROSTER_CSV, rules=rules(hotline), by="admin")
    assert [row.outcome for row in again.rows] == ["unchanged", "unchanged", "unchanged", "refused"]
    with hotline.sessions() as session:
        assert count(session, Agent) == 8


def test_a_dry_run_reports_the_same_and_writes_nothing(hotline):
    with hotline.sessions() as session:
        report = import_roster(session, text=ROSTER_CSV, rules=rules(hotline), by="admin", dry_run=True)
        session.rollback()
    assert [row.outcome for row in report.rows] == ["created", "created", "updated", "refused"]
    assert agent_named(hotline, "李华") is None and changes(hotline) == []
    assert agent_named(hotline, "陈静").skills == {"billing": 5, "general": 4}


def test_a_file_that_is_not_a_roster_is_refused_whole(hotline):
    with hotline.sessions() as session:
        with pytest.raises(RosterFileRefused, match="unknown columns: skils"):
            import_roster(
                session, text="name,phone,skils\nx,+8613700000099,general:1\n", rules=rules(hotline), by="a"
            )
        with pytest.raises(RosterFileRefused, match="client_identity or phone"):
            import_roster(session, text="name,skills\nx,general:1\n", rules=rules(hotline), by="a")
        with pytest.raises(RosterFileRefused, match="empty"):
            import_roster(session, text="", rules=rules(hotline), by="a")


# ---------------------------------------------------------------- pages


def _csrf(html):
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def signed_in(app, hotline, role):
    app.config["SECRET_KEY"] = "test-secret-key"
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username=f"page-{role}", role=role, password=PASSWORD)
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"username": f"page-{role}", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client


def test_the_admin_adds_edits_and_deactivates_an_agent_from_the_pages(app, hotline):
    client = signed_in(app, hotline, "admin")
    listing = client.get("/console/agents").get_data(as_text=True)
    assert "陈静" in listing and "billing&nbsp;5" in listing and "client:agent-chenjing" in listing
    form = client.get("/console/agents/new").get_data(as_text=True)
    data = {
        "csrf_token": _csrf(form),
        "name": "李华",
        "phone": "+8613700000011",
        "client_identity": "",
        "groups": ["billing", "general"],
        "languages": ["zh-CN"],
        "skill_billing": "5",
        "skill_general": "4",
        "wrap_up_seconds": "",
    }
    bad = client.post("/console/agents/new", data={**data, "phone": "0123"})
    assert bad.status_code == 422 and "E.164" in bad.get_data(as_text=True)
    assert agent_named(hotline, "李华") is None
    saved = client.post("/console/agents/new", data=data, follow_redirects=True)
    assert saved.status_code == 200 and "已添加坐席 / Agent added: 李华" in saved.get_data(as_text=True)
    lihua = agent_named(hotline, "李华")
    assert lihua.skills == {"billing": 5, "general": 4} and lihua.phone == "+8613700000011"
    edit_page = client.get(f"/console/agents/{lihua.id}/edit").get_data(as_text=True)
    assert 'value="+8613700000011"' in edit_page
    edited = client.post(
        f"/console/agents/{lihua.id}/edit", data={**data, "skill_billing": "", "wrap_up_seconds": "20"}
    )
    assert edited.status_code == 302
    assert agent_named(hotline, "李华").skills == {"general": 4}
    assert agent_named(hotline, "李华").wrap_up_seconds == 20
    token = _csrf(client.get("/console/agents").get_data(as_text=True))
    client.post(f"/console/agents/{lihua.id}/deactivate", data={"csrf_token": token})
    assert agent_named(hotline, "李华").active is False
    no_csrf = client.post(f"/console/agents/{lihua.id}/reactivate")
    assert no_csrf.status_code == 400 and agent_named(hotline, "李华").active is False
    client.post(f"/console/agents/{lihua.id}/reactivate", data={"csrf_token": token})
    assert agent_named(hotline, "李华").active is True
    assert [entry.action for entry in changes(hotline)] == ["add", "edit", "deactivate", "reactivate"]
    assert changes(hotline)[0].who == "page-admin"


def test_the_import_page_previews_then_applies_the_same_file(app, hotline):
    client = signed_in(app, hotline, "supervisor")
    token = _csrf(client.get("/console/agents/import").get_data(as_text=True))
    from io import BytesIO

    preview = client.post(
        "/console/agents/import",
        data={"csrf_token": token, "dry_run": "y", "file": (BytesIO(ROSTER_CSV.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "Preview: nothing was saved" in page
    assert 'id="count-created">2<' in page and 'id="count-refused">1<' in page
    assert agent_named(hotline, "李华") is None
    applied = client.post("/console/agents/import", data={"csrf_token": token, "csv_text": ROSTER_CSV})
    assert "已导入 / Imported" in applied.get_data(as_text=True)
    assert agent_named(hotline, "李华") is not None and agent_named(hotline, "Grace Lin") is not None
    latin1 = client.post(
        "/console/agents/import",
        data={
            "csrf_token": token,
            "file": (BytesIO("name,phone\nJosé,+8613700000013\n".encode("latin-1")), "r.csv"),
        },
        content_type="multipart/form-data",
    )
    assert latin1.status_code == 400 and "not UTF-8" in latin1.get_data(as_text=True)
    broken = client.post("/console/agents/import", data={"csrf_token": token, "csv_text": "name\nx\n"})
    assert broken.status_code == 400 and "client_identity or phone" in broken.get_data(as_text=True)


def test_a_shift_lead_sees_the_roster_but_cannot_change_it(app, hotline):
    client = signed_in(app, hotline, "shift_lead")
    listing = client.get("/console/agents")
    assert listing.status_code == 200 and "陈静" in listing.get_data(as_text=True)
    assert "添加坐席 / Add an agent" not in listing.get_data(as_text=True)
    assert client.get("/console/agents/new").status_code == 403
    assert client.get("/console/agents/import").status_code == 403


# ---------------------------------------------------------------- CLI


def test_the_commands_add_edit_deactivate_and_import(hotline, tmp_path):
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "agents",
            "add",
            "--name",
            "李华",
            "--phone",
            "+8613700000011",
            "--groups",
            "billing;general",
            "--skills",
            "billing:5;general:4",
            "--languages",
            "zh-CN",
        ],
        obj=hotline,
    )
    assert added.exit_code == 0, added.output
    lihua = agent_named(hotline, "李华")
    assert f"added: #{lihua.id} 李华" in added.output
    edited = runner.invoke(cli, ["agents", "edit", str(lihua.id), "--wrap-up-seconds", "25"], obj=hotline)
    assert edited.exit_code == 0 and agent_named(hotline, "李华").wrap_up_seconds == 25
    refused = runner.invoke(cli, ["agents", "edit", str(lihua.id), "--skills", "billing:8"], obj=hotline)
    assert refused.exit_code == 1 and "skills.billing" in refused.output
    gone = runner.invoke(cli, ["agents", "deactivate", str(lihua.id)], obj=hotline)
    assert gone.exit_code == 0 and agent_named(hotline, "李华").active is False
    listing = runner.invoke(cli, ["agents", "list"], obj=hotline)
    assert "李华 [OUT OF SERVICE, offline]" in listing.output
    assert runner.invoke(cli, ["agents", "reactivate", str(lihua.id)], obj=hotline).exit_code == 0
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text(ROSTER_CSV, encoding="utf-8")
    dry = runner.invoke(cli, ["agents", "import", str(roster_file), "--dry-run"], obj=hotline)
    assert (
        dry.exit_code == 1
        and "dry run, nothing saved: 1 created, 2 updated, 0 unchanged, 1 refused" in dry.output
    )
    assert agent_named(hotline, "Grace Lin") is None
    real = runner.invoke(cli, ["agents", "import", str(roster_file)], obj=hotline)
    assert "line 3: created Grace Lin" in real.output and agent_named(hotline, "Grace Lin") is not None
    assert "line 5: refused 坏行" in real.output


# ---------------------------------------------------------------- API


def token(hotline, role):
    with unit_of_work(hotline.sessions) as session:
        _, given = create_user(session, username=f"api-{role}", role=role, password=PASSWORD)
    return {"Authorization": f"Bearer {given}"}


def test_the_api_adds_changes_deactivates_and_imports(app, hotline):
    api, auth = app.test_client(), token(hotline, "admin")
    created = api.post("/api/agents", json=LIHUA, headers=auth)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["skills"] == {"billing": 5, "general": 4} and body["state"] == "offline" and body["active"]
    bad = api.post("/api/agents", json={**LIHUA, "phone": "12", "client_identity": "x y"}, headers=auth)
    assert bad.status_code == 422
    assert {p["field"] for p in bad.get_json()["problems"]} == {"phone", "client_identity"}
    patched = api.patch(f"/api/agents/{body['id']}", json={"languages": ["zh-CN", "en-US"]}, headers=auth)
    assert patched.status_code == 200 and patched.get_json()["languages"] == ["zh-CN", "en-US"]
    assert patched.get_json()["skills"] == {"billing": 5, "general": 4}
    # PUT replaces: what GET gave, sent back with a change, is accepted as a whole.
    whole = {**patched.get_json(), "skills": {"general": 2}}
    put = api.put(f"/api/agents/{body['id']}", json=whole, headers=auth)
    assert put.status_code == 200 and put.get_json()["skills"] == {"general": 2}
    assert (
        api.put(f"/api/agents/{body['id']}", json={**whole, "active": False}, headers=auth).status_code == 400
    )
    assert api.patch("/api/agents/99999", json={"name": "x"}, headers=auth).status_code == 404
    assert api.post("/api/agents", data="nope", headers=auth).status_code == 400
    off = api.post(f"/api/agents/{body['id']}/deactivate", headers=auth)
    assert off.status_code == 200 and off.get_json()["active"] is False
    again = api.post(f"/api/agents/{body['id']}/deactivate", headers=auth)
    assert again.status_code == 409 and "already out of service" in again.get_json()["error"]
    csv_auth = {**auth, "Content-Type": "text/csv"}
    listing = api.get("/api/agents", headers=auth).get_json()["agents"]
    assert [a["name"] for a in listing][-1] == "李华"  # out of service last
    dry = api.post("/api/agents/import?dry_run=1", data=ROSTER_CSV.encode(), headers=csv_auth)
    assert dry.status_code == 200
    assert dry.get_json()["counts"] == {"created": 1, "updated": 2, "unchanged": 0, "refused": 1}
    assert dry.get_json()["rows"][0]["agent_id"] is None  # a preview made no agent
    assert agent_named(hotline, "Grace Lin") is None
    real = api.post("/api/agents/import", data=ROSTER_CSV.encode(), headers=csv_auth)
    assert real.status_code == 200 and agent_named(hotline, "Grace Lin") is not None
    latin1 = api.post("/api/agents/import", data="name,phone\nJosé,+1\n".encode("latin-1"), headers=csv_auth)
    assert latin1.status_code == 400 and "not UTF-8" in latin1.get_json()["error"]
    wrong_type = api.post("/api/agents/import", json={"x": 1}, headers=auth)
    assert wrong_type.status_code == 415
    unreadable = api.post("/api/agents/import", data="name\nx\n", headers=csv_auth)
    assert unreadable.status_code == 400 and "client_identity or phone" in unreadable.get_json()["error"]


def test_the_api_is_for_admin_and_supervisor_tokens_shift_leads_read(app, hotline):
    api = app.test_client()
    lead = token(hotline, "shift_lead")
    assert api.get("/api/agents", headers=lead).status_code == 200
    refused = api.post("/api/agents", json=LIHUA, headers=lead)
    assert refused.status_code == 403 and "admin, supervisor" in refused.get_json()["error"]
    assert api.get("/api/agents").status_code == 401
    assert agent_named(hotline, "李华") is None


def test_an_agent_out_of_service_is_neither_on_the_floor_nor_scheduled(hotline):
    from datetime import date

    from ivr.queueing.board import floor_now
    from ivr.queueing.staffing import scheduled_agents

    live = rules(hotline)
    with hotline.sessions() as session:
        before = scheduled_agents(session, rules=live, day=date(2026, 12, 8), timezone="Asia/Shanghai")
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        deactivate_agent(session, agent_id=chen.id, by="admin")
    with hotline.sessions() as session:
        after = scheduled_agents(session, rules=live, day=date(2026, 12, 8), timezone="Asia/Shanghai")
        board = floor_now(session, rules=live, timezone="Asia/Shanghai", now=utcnow())
    assert max(before) == 6 and max(after) == 5
    assert "陈静" not in [row["name"] for row in board["agents"]]


def test_the_form_names_what_is_wrong_with_a_crafted_post_and_what_the_rules_dropped(app, hotline):
    client = signed_in(app, hotline, "supervisor")
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        session.get(Agent, chen.id).groups = ["billing", "legacy-desk"]  # a group of older rules
    page = client.get(f"/console/agents/{chen.id}/edit").get_data(as_text=True)
    assert 'id="stale"' in page and "legacy-desk" in page
    crafted = client.post(
        f"/console/agents/{chen.id}/edit",
        data={
            "csrf_token": _csrf(page),
            "name": "陈静",
            "phone": "+8613700000001",
            "groups": ["nowhere"],
            "languages": ["zh-CN"],
            "skill_billing": "x",
        },
    )
    body = crafted.get_data(as_text=True)
    assert crafted.status_code == 422 and "valid integer" in body
    assert agent_named(hotline, "陈静").groups == ["billing", "legacy-desk"]
    crafted = client.post(
        f"/console/agents/{chen.id}/edit",
        data={
            "csrf_token": _csrf(page),
            "name": "陈静",
            "phone": "+8613700000001",
            "groups": ["nowhere"],
            "languages": ["zh-CN"],
            "skill_billing": "5",
        },
    )
    assert crafted.status_code == 422 and "nowhere 不是现行路由规则" in crafted.get_data(as_text=True)


def test_the_linked_user_of_an_agent_out_of_service_cannot_go_available_through_the_agent_api(app, hotline):
    chen = agent_named(hotline, "陈静")
    with unit_of_work(hotline.sessions) as session:
        _, given = create_user(session, username="chen", role="agent", password=PASSWORD, agent_id=chen.id)
        deactivate_agent(session, agent_id=chen.id, by="admin")
    answer = app.test_client().post(
        "/api/agent/state", json={"state": "available"}, headers={"Authorization": f"Bearer {given}"}
    )
    assert answer.status_code == 400 and "out of service" in answer.get_json()["error"]
    assert agent_named(hotline, "陈静").state == "offline"
