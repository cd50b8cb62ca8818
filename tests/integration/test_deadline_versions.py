"""The deadline rules document's versions, its supervisor page and its commands, on SQLite and PostgreSQL:
the defaults until a save, saving (audited), refusal that writes nothing, stale saves, rollback, roles."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ivr.cli.main import cli
from ivr.db.models import Agent, ChangeLog, DeadlineRulesVersion
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders import deadline_versions
from ivr.work_orders.deadline_rules import DEFAULT_DEADLINES_FILE, InvalidDeadlines
from ivr.work_orders.deadline_versions import DeadlinesRefused, live_deadlines

PASSWORD = "correct horse battery"
ROLES = ("admin", "supervisor", "shift_lead", "quality", "agent")
DEFAULTS = DEFAULT_DEADLINES_FILE.read_text(encoding="utf-8")


def _with_share(share: str) -> str:
    """The defaults with another document-wide warning share."""
    changed = DEFAULTS.replace("warning_share = 0.75", f"warning_share = {share}", 1)
    assert changed != DEFAULTS
    return changed


# A safety deadline on working time, a class sent to a desk that does not exist, and a malformed span.
BROKEN = DEFAULTS.replace(
    'deadlines.on_site = { within = "1h", starts = "opened", clock = "round_the_clock"',
    'deadlines.on_site = { within = "1h", starts = "opened", clock = "working"',
    1,
).replace('[classes.enquiry]\ndesk = "business"', '[classes.enquiry]\ndesk = "front_office"', 1)


@pytest.fixture
def users(hotline) -> dict[str, str]:
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalar(select(Agent.id).order_by(Agent.id).limit(1))
        for role in ROLES:
            create_user(
                session,
                username=f"d-{role}",
                role=role,
                password=PASSWORD,
                agent_id=agent_id if role == "agent" else None,
            )
    return {role: f"d-{role}" for role in ROLES}


class Page:
    """A test client signed in as one user, posting forms with the session's CSRF token."""

    def __init__(self, client: Any, csrf: str):
        self.client = client
        self.csrf = csrf

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, **data: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **data})


@pytest.fixture
def login(app, users):
    app.config["SECRET_KEY"] = "test-secret-key"

    def signed_in(role: str) -> Page:
        client = app.test_client()
        token = re.search(
            r'name="csrf_token"[^>]*? value="([^"]+)"', client.get("/login").get_data(as_text=True)
        )
        assert token is not None
        answer = client.post(
            "/login", data={"username": users[role], "password": PASSWORD, "csrf_token": token[1]}
        )
        assert answer.status_code == 302
        return Page(client, token[1])

    return signed_in


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _versions(hotline) -> list[tuple[int, str, str, float]]:
    with hotline.sessions() as session:
        rows = session.scalars(select(DeadlineRulesVersion).order_by(DeadlineRulesVersion.version))
        return [(row.version, row.created_by, row.note, row.document["warning_share"]) for row in rows]


def _log(hotline) -> list[tuple[str, str, str]]:
    with hotline.sessions() as session:
        rows = session.scalars(select(ChangeLog).where(ChangeLog.kind == "deadlines").order_by(ChangeLog.id))
        return [(row.who, row.action, row.subject) for row in rows]


def _live_share(hotline) -> float:
    with hotline.sessions() as session:
        return live_deadlines(session).warning_share


# ---------------------------------------------------------------- the store


def test_the_defaults_file_is_live_until_a_version_is_saved(hotline):
    with hotline.sessions() as session:
        live = deadline_versions.live_document(session)
        rules = live_deadlines(session)
    assert live.version is None
    assert live.source == DEFAULTS
    assert rules.warning_share == 0.75
    assert rules.classes["gas_leak"].desk == "safety"


def test_a_saved_version_is_live_and_audited(hotline):
    with unit_of_work(hotline.sessions) as session:
        row = deadline_versions.save_deadlines(session, _with_share("0.8"), by="lee", note="warn later")
    assert row.version == 1
    assert _live_share(hotline) == 0.8
    assert _versions(hotline) == [(1, "lee", "warn later", 0.8)]
    assert _log(hotline) == [("lee", "publish", "version 1")]
    with hotline.sessions() as session:
        assert deadline_versions.live_document(session).source == _with_share("0.8")  # comments kept
        entry = session.scalar(select(ChangeLog).where(ChangeLog.kind == "deadlines"))
        assert entry.before["warning_share"] == 0.75 and entry.after["warning_share"] == 0.8


def test_an_invalid_document_is_refused_with_every_problem_and_nothing_written(hotline):
    with pytest.raises(InvalidDeadlines) as refused, unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, BROKEN, by="lee")
    where = {problem.where for problem in refused.value.problems}
    assert "classes.gas_leak.deadlines.on_site" in where
    assert "classes.enquiry.desk" in where
    with pytest.raises(InvalidDeadlines) as unreadable, unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, "schema_version = 1\nwarning_share = ", by="lee")
    assert "not valid TOML" in str(unreadable.value)
    assert _versions(hotline) == []
    assert _log(hotline) == []
    assert _live_share(hotline) == 0.75


def test_rollback_saves_the_earlier_document_again_as_a_new_version(hotline):
    for share in ("0.8", "0.6"):
        with unit_of_work(hotline.sessions) as session:
            deadline_versions.save_deadlines(session, _with_share(share), by="lee")
    assert _live_share(hotline) == 0.6
    with unit_of_work(hotline.sessions) as session:
        row = deadline_versions.rollback_deadlines(session, 1, by="kim")
    assert row.version == 3
    assert _live_share(hotline) == 0.8
    assert [v[:3] for v in _versions(hotline)] == [
        (1, "lee", ""),
        (2, "lee", ""),
        (3, "kim", "rollback to version 1"),
    ]
    assert _log(hotline)[-1] == ("kim", "rollback", "version 3")
    with pytest.raises(DeadlinesRefused, match="already live"), unit_of_work(hotline.sessions) as session:
        deadline_versions.rollback_deadlines(session, 3, by="kim")
    with (
        pytest.raises(DeadlinesRefused, match="no deadline rules version 9") as missing,
        unit_of_work(hotline.sessions) as session,
    ):
        deadline_versions.rollback_deadlines(session, 9, by="kim")
    assert missing.value.status == 404
    assert len(_versions(hotline)) == 3


def test_a_save_based_on_an_older_version_is_refused(hotline):
    with unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, _with_share("0.8"), by="lee", based_on=0)
    with (
        pytest.raises(DeadlinesRefused, match="version 1 was saved after"),
        unit_of_work(hotline.sessions) as s,
    ):
        deadline_versions.save_deadlines(s, _with_share("0.6"), by="kim", based_on=0)
    with pytest.raises(DeadlinesRefused, match="nothing changed"), unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, _with_share("0.8"), by="kim", based_on=1)
    assert [v[0] for v in _versions(hotline)] == [1]


def test_seeding_stores_the_defaults_as_version_one_once(hotline):
    with unit_of_work(hotline.sessions) as session:
        assert deadline_versions.seed_default_deadlines(session) == 1
    with unit_of_work(hotline.sessions) as session:
        assert deadline_versions.seed_default_deadlines(session) is None
    assert _versions(hotline) == [(1, "system", "default rules shipped", 0.75)]


# ---------------------------------------------------------------- the page


def test_the_page_shows_the_live_document(login, hotline):
    with unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, _with_share("0.8"), by="lee", note="warn later")
    html = _text(login("supervisor").get("/console/deadlines"))
    assert "version 1" in html and "warn later" in html
    assert 'id="deadlines-document"' in html and "warning_share = 0.8" in html
    # the table of the live rules: each class in words, with its key in the document
    row = '燃气泄漏 / Gas leak <span class="muted small">gas_leak</span></td><td>safety</td><td>on_site</td>'
    assert row in html
    assert 'name="based_on" value="1"' in html


def test_a_supervisor_saves_through_the_page(login, hotline):
    page = login("supervisor")
    answer = page.post("/console/deadlines/save", document=_with_share("0.7"), note="tighter", based_on="0")
    assert answer.status_code == 302
    assert _versions(hotline) == [(1, "d-supervisor", "tighter", 0.7)]
    assert "Version 1 saved" in _text(page.get("/console/deadlines"))


def test_the_page_refuses_an_invalid_document_listing_each_problem(login, hotline):
    page = login("supervisor")
    answer = page.post("/console/deadlines/save", document=BROKEN, note="oops", based_on="0")
    assert answer.status_code == 422
    html = _text(answer)
    assert 'data-where="classes.gas_leak.deadlines.on_site"' in html
    assert 'data-where="classes.enquiry.desk"' in html
    assert "nothing was saved" in html
    assert "front_office" in html  # the supervisor's text is kept to fix
    assert _versions(hotline) == [] and _log(hotline) == []


def test_validate_lists_problems_or_none_and_never_saves(login, hotline):
    page = login("admin")
    bad = page.post("/console/deadlines/validate", document=BROKEN)
    assert bad.status_code == 422 and 'data-where="classes.enquiry.desk"' in _text(bad)
    good = page.post("/console/deadlines/validate", document=_with_share("0.7"))
    assert good.status_code == 200 and "No problems (not saved yet)" in _text(good)
    assert _versions(hotline) == []


def test_a_stale_page_save_is_a_409_and_writes_nothing(login, hotline):
    with unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, _with_share("0.8"), by="lee")
    answer = login("supervisor").post("/console/deadlines/save", document=_with_share("0.6"), based_on="0")
    assert answer.status_code == 409
    assert "version 1 was saved after you started editing version 0" in _text(answer)
    assert len(_versions(hotline)) == 1


def test_history_diff_and_rollback_through_the_pages(login, hotline):
    page = login("supervisor")
    for share, based_on in (("0.8", "0"), ("0.6", "1")):
        answer = page.post(
            "/console/deadlines/save", document=_with_share(share), based_on=based_on, note=share
        )
        assert answer.status_code == 302
    history = _text(page.get("/console/deadlines/versions"))
    assert 'data-version="2"' in history and 'data-version="1"' in history
    assert "/console/deadlines/versions/1/rollback" in history  # the older one can be rolled back to
    assert "/console/deadlines/versions/2/rollback" not in history  # the live one cannot
    diff = _text(page.get("/console/deadlines/diff?a=1&b=2"))
    assert "warning_share" in diff and "0.8" in diff and "0.6" in diff
    assert page.get("/console/deadlines/diff?a=1&b=x").status_code == 400
    assert page.get("/console/deadlines/versions/7").status_code == 404
    log = _text(page.get("/console/changes?kind=deadlines"))  # the change log: who changed what
    assert "d-supervisor" in log and "warning_share" in log
    assert page.post("/console/deadlines/versions/1/rollback", note="0.6 was too early").status_code == 302
    assert _live_share(hotline) == 0.8
    assert _versions(hotline)[-1] == (3, "d-supervisor", "0.6 was too early", 0.8)
    assert page.post("/console/deadlines/versions/3/rollback").status_code == 400  # already live


@pytest.mark.parametrize("role", ["shift_lead", "quality"])
def test_shift_leads_and_quality_may_look_but_not_edit(login, hotline, role):
    page = login(role)
    html = _text(page.get("/console/deadlines"))
    assert 'id="live-deadlines"' in html
    assert "<textarea" not in html and 'action="/console/deadlines/save"' not in html
    assert page.get("/console/deadlines/versions").status_code == 200
    assert page.post("/console/deadlines/save", document=_with_share("0.7"), based_on="0").status_code == 403
    assert page.post("/console/deadlines/validate", document=_with_share("0.7")).status_code == 403
    assert _versions(hotline) == []


def test_an_agent_gets_403_everywhere(login, hotline):
    with unit_of_work(hotline.sessions) as session:
        deadline_versions.save_deadlines(session, _with_share("0.8"), by="lee")
        deadline_versions.save_deadlines(session, _with_share("0.6"), by="lee")
    page = login("agent")
    for path in ("/console/deadlines", "/console/deadlines/versions", "/console/deadlines/versions/1"):
        assert page.get(path).status_code == 403, path
    assert page.post("/console/deadlines/save", document=_with_share("0.7")).status_code == 403
    assert page.post("/console/deadlines/versions/1/rollback").status_code == 403
    assert len(_versions(hotline)) == 2 and _live_share(hotline) == 0.6


def test_the_home_page_links_the_deadline_rules_for_those_who_may_see_them(login):
    for role in ("supervisor", "admin", "shift_lead", "quality"):
        assert "/console/deadlines" in _text(login(role).client.get("/home", follow_redirects=True)), role
    assert "/console/deadlines" not in _text(login("agent").client.get("/home", follow_redirects=True))


# ---------------------------------------------------------------- the commands


@pytest.fixture
def env(monkeypatch, settings, hotline):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def test_the_commands_check_load_show_list_and_roll_back(env, tmp_path):
    good, broken = tmp_path / "good.toml", tmp_path / "broken.toml"
    good.write_text(_with_share("0.7"), encoding="utf-8")
    broken.write_text(BROKEN, encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(cli, ["deadlines", "check", str(broken)])
    assert checked.exit_code == 1
    assert "problem: classes.enquiry.desk:" in checked.output
    refused = runner.invoke(cli, ["deadlines", "load", str(broken)])
    assert refused.exit_code == 1 and "not saved: 2 problem(s)" in refused.output
    assert _versions(env) == []
    assert runner.invoke(cli, ["deadlines", "check", str(good)]).exit_code == 0
    loaded = runner.invoke(cli, ["deadlines", "load", str(good), "--by", "ops", "--note", "winter"])
    assert loaded.exit_code == 0, loaded.output
    assert "version 1 is live" in loaded.output
    assert _versions(env) == [(1, "ops", "winter", 0.7)]
    shown = runner.invoke(cli, ["deadlines", "show"])
    assert "live deadline rules: version 1" in shown.output and "warning_share = 0.7" in shown.output
    runner.invoke(cli, ["deadlines", "load", str(DEFAULT_DEADLINES_FILE)])
    listed = runner.invoke(cli, ["deadlines", "versions"])
    assert listed.output.startswith("v2 (live)") and "ops\twinter" in listed.output
    rolled = runner.invoke(cli, ["deadlines", "rollback", "1", "--by", "ops"])
    assert rolled.exit_code == 0 and "live again as version 3" in rolled.output
    assert _live_share(env) == 0.7
    assert runner.invoke(cli, ["deadlines", "rollback", "3"]).exit_code == 1


def test_init_db_stores_the_defaults_as_version_one(hotline):
    from ivr.setup import init_database

    assert "default work-order deadline rules stored as version 1" in init_database(hotline, demo=False)
    assert _versions(hotline) == [(1, "system", "default rules shipped", 0.75)]
    assert "default work-order deadline rules stored as version 1" not in init_database(hotline, demo=False)


def test_check_config_names_the_problems_of_a_live_version_that_no_longer_passes(hotline):
    from ivr.configuration.menus.store import checksum
    from ivr.setup import config_problems

    assert not [p for p in config_problems(hotline) if "deadline" in p]
    document = deadline_versions.read_deadlines_text(DEFAULTS)
    document["classes"]["gas_leak"]["deadlines"]["on_site"]["clock"] = "working"  # as if the checks had grown
    with unit_of_work(hotline.sessions) as session:
        row = DeadlineRulesVersion(version=1, document=document, source="", checksum=checksum(document))
        session.add(row)
    problems = [p for p in config_problems(hotline) if "deadline" in p]
    assert problems == [
        "live deadline rules version 1: classes.gas_leak.deadlines.on_site: is a safety deadline: "
        "it must run round the clock"
    ]


def test_two_supervisors_saving_at_once_make_one_version(hotline, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row lock")
    ready = threading.Barrier(2)
    outcomes: list[Any] = []

    def save(who: str, share: str) -> None:
        try:
            with unit_of_work(hotline.sessions) as session:
                session.execute(select(1))
                ready.wait(timeout=10)
                outcomes.append(
                    deadline_versions.save_deadlines(session, _with_share(share), by=who, based_on=0).version
                )
        except IntegrityError:  # both read "no version yet": the second insert of version 1 collides
            outcomes.append("collided")
        except DeadlinesRefused:  # the first had committed before the second looked
            outcomes.append("stale")

    threads = [threading.Thread(target=save, args=args) for args in (("a", "0.8"), ("b", "0.6"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str)[0] == 1 and sorted(outcomes, key=str)[1] in ("collided", "stale")
    assert len(_versions(hotline)) == 1 and len(_log(hotline)) == 1  # the loser wrote nothing


def test_a_live_version_that_no_longer_passes_leaves_the_defaults_in_force_and_says_so(hotline, login):
    document = deadline_versions.read_deadlines_text(_with_share("0.8"))
    document["classes"]["gas_leak"]["deadlines"]["on_site"]["clock"] = "working"  # as if the checks had grown
    with unit_of_work(hotline.sessions) as session:
        session.add(DeadlineRulesVersion(version=1, document=document, source="", checksum="grown-checks"))
    for _ in range(2):  # the second read comes from the cache: still the defaults
        assert _live_share(hotline) == 0.75
    answer = login("supervisor").get("/console/deadlines")
    assert answer.status_code == 200
    assert 'id="live-problems"' in _text(answer)
    assert 'data-where="classes.gas_leak.deadlines.on_site"' in _text(answer)
