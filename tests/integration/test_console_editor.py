"""The console's menu and rules editors against real databases: roles on every URL, drafts and their audit
entries, validation through the editor, publish (atomic; calls in progress keep their version), stale
drafts, rollback, diff, the change log and the test call (which writes nothing)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select

from ivr.configuration import drafts
from ivr.configuration.change_log import log_change
from ivr.configuration.menus.store import publish as publish_menu
from ivr.configuration.menus.validation import DEFAULT_MENU_FILE, load_menu_file
from ivr.db.models import Agent, Call, CallEvent, ChangeLog, ConfigDraft, MenuVersion, RulesVersion, WorkOrder
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from tests.e2e.conftest import Phone
from tests.helpers import action_of, count, new_call_sid, spoken, twiml

PASSWORD = "correct horse battery"
ROLES = ("admin", "supervisor", "shift_lead", "quality", "agent")
NEW_MAIN_MENU = "账单和缴费请按1；燃气泄漏请按2；报修请按3；投诉请按5；人工服务请按0。"
COMPLAINT_KEY_TO_5 = {"op": "set_option", "node": "main", "index": 3, "key": "5"}


@pytest.fixture
def users(hotline) -> dict[str, str]:
    """One user of each role, by role: their username."""
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalar(select(Agent.id).order_by(Agent.id).limit(1))
        for role in ROLES:
            create_user(
                session,
                username=f"u-{role}",
                role=role,
                password=PASSWORD,
                agent_id=agent_id if role == "agent" else None,
            )
    return {role: f"u-{role}" for role in ROLES}


class Console:
    """A test client signed in as one user, with the page's CSRF token for JSON and form posts."""

    def __init__(self, client: Any):
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def edit(self, operation: dict[str, Any], kind: str = "menu", **extra: Any) -> Any:
        return self.client.post(
            f"/console/{kind}/draft/edit",
            json={"operation": operation, **extra},
            headers={"X-CSRFToken": self.csrf},
        )

    def edits(self, *operations: dict[str, Any], kind: str = "menu") -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for operation in operations:
            response = self.edit(operation, kind)
            assert response.status_code == 200, response.get_json()
            answer = response.get_json()
        return answer

    def form(self, path: str, **data: str) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **data})

    def test_call(self, **body: Any) -> Any:
        body.setdefault("state", None)
        return self.client.post(
            "/console/menu/draft/test-call", json=body, headers={"X-CSRFToken": self.csrf}
        )


@pytest.fixture
def login(app, users):
    """login(role) -> a Console signed in as that role's user."""
    app.config["SECRET_KEY"] = "test-secret-key"

    def signed_in(role: str) -> Console:
        client = app.test_client()
        token = _csrf(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"username": users[role], "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        console = Console(client)
        console.csrf = token  # the session's token serves every form and JSON post of this session
        return console

    return signed_in


@pytest.fixture
def supervisor(login) -> Console:
    return login("supervisor")


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _log(hotline, **where: Any) -> list[ChangeLog]:
    with hotline.sessions() as session:
        query = select(ChangeLog).order_by(ChangeLog.id)
        for name, value in where.items():
            query = query.where(getattr(ChangeLog, name) == value)
        return list(session.scalars(query))


def _versions(hotline, model=MenuVersion) -> list[int]:
    with hotline.sessions() as session:
        return list(session.scalars(select(model.version).order_by(model.version)))


def _draft(hotline, kind: str = "menu") -> ConfigDraft | None:
    with hotline.sessions() as session:
        return session.get(ConfigDraft, kind)


# ---------------------------------------------------------------- roles


def _editor_urls(app) -> list[tuple[str, str]]:
    """Every (method, URL) of the editors and the draft's test call, version arguments filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("editor.", "trial_call.")):  # the test call's view is the calls' own
            url = re.sub(r"<int:version>", "1", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, url))
    return found


def test_the_editor_urls_are_the_ones_the_brief_names(app):
    urls = {url for _, url in _editor_urls(app)}
    assert {"/console/menu", "/console/menu/draft", "/console/menu/versions", "/console/menu/diff"} <= urls
    assert {"/console/rules", "/console/rules/draft", "/console/rules/versions", "/console/changes"} <= urls
    assert "/console/menu/draft/test-call" in urls and "/console/menu/versions/1/rollback" in urls


@pytest.mark.parametrize("role", ["shift_lead", "quality", "agent"])
def test_other_roles_are_refused_on_every_editor_url_and_change_nothing(app, hotline, login, role):
    console = login(role)
    for method, url in _editor_urls(app):
        if method == "GET":
            response = console.get(url)
        elif url.endswith(("/edit", "/test-call")):
            response = console.client.post(
                url, json=COMPLAINT_KEY_TO_5, headers={"X-CSRFToken": console.csrf}
            )
        else:
            response = console.form(url, document="{}", note="x")
        assert response.status_code == 403, (method, url)
    assert _draft(hotline) is None and _log(hotline) == [] and _versions(hotline) == [1]


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_open_every_editor_page(app, login, role):
    console = login(role)
    for method, url in _editor_urls(app):
        if method == "GET":
            assert console.get(url).status_code == 200, url
    home = _text(console.get("/home"))
    assert "/console/menu" in home and "/console/rules" in home and "/console/changes" in home


def test_signed_out_visitors_go_to_the_login_page(app):
    client = app.test_client()
    for method, url in _editor_urls(app):
        response = client.get(url) if method == "GET" else client.post(url, data={})
        if method == "GET":
            assert response.status_code == 302 and "/login" in response.location, url
        else:
            assert response.status_code in (302, 400), url  # no CSRF token: refused before the role check


def test_shift_leads_and_quality_staff_see_no_editor_link(login):
    for role in ("shift_lead", "quality", "agent"):
        assert "/console/menu" not in _text(login(role).get("/home"))


# ---------------------------------------------------------------- drafts and the audit log


def test_opening_the_editor_writes_nothing(supervisor, hotline):
    page = _text(supervisor.get("/console/menu/draft"))
    assert "基于第 1 版" in page and 'id="node-main"' in page
    assert _draft(hotline) is None and _log(hotline) == []


def test_an_edit_starts_a_draft_from_live_and_is_audited(supervisor, hotline):
    answer = supervisor.edits(COMPLAINT_KEY_TO_5)
    assert answer["did"] == "nodes.main: option 4: key '4' → '5'"
    assert answer["problems"] == [] and answer["publishable"] is True
    assert 'data-key="5"' in answer["html"] and '"key": "5"' in answer["document"]
    draft = _draft(hotline)
    assert draft.base_version == 1 and draft.updated_by == "u-supervisor"
    assert draft.document["nodes"]["main"]["options"][3] == {
        "key": "5",
        "target": "complaint",
        "phrases": {"zh-CN": ["投诉", "我要投诉", "要投诉"], "en-US": ["complain", "complaint"]},
    }
    [entry] = _log(hotline)
    assert (entry.who, entry.kind, entry.action) == ("u-supervisor", "menu", "edit_draft")
    assert entry.subject == answer["did"]
    assert entry.before["nodes"]["main"]["options"][3]["key"] == "4"
    assert entry.after["nodes"]["main"]["options"][3]["key"] == "5"
    with hotline.sessions() as session:
        assert session.get(MenuVersion, 1).document["nodes"]["main"]["options"][3]["key"] == "4"


def test_a_refused_edit_changes_nothing_and_says_why(supervisor, hotline):
    cases = [
        ({"op": "set_option", "node": "nowhere", "index": 0, "key": "1"}, "there is no node 'nowhere'"),
        (
            {"op": "set_option", "node": "main", "index": 42, "key": "1"},
            "index must be a position from 0 to 6",
        ),
        ({"op": "explode"}, "unknown operation 'explode'"),
        (
            {"op": "set_node", "node": "billing_queue", "fields": {"priority": "high"}},
            "priority must be a whole",
        ),
        ({"op": "add_node", "node": "Bad Name", "type": "info"}, "is not a name"),
    ]
    for operation, message in cases:
        response = supervisor.edit(operation)
        assert response.status_code == 400 and message in response.get_json()["error"], operation
    response = supervisor.client.post(
        "/console/menu/draft/edit", data="not json", headers={"X-CSRFToken": supervisor.csrf}
    )
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert _draft(hotline) is None and _log(hotline) == []


def test_an_edit_on_a_draft_someone_else_changed_is_refused(supervisor, login, hotline):
    first = supervisor.edits(COMPLAINT_KEY_TO_5)
    login("admin").edits({"op": "set_defaults", "timeout_seconds": 8})
    response = supervisor.edit({"op": "set_defaults", "max_tries": 4}, revision=first["revision"])
    assert response.status_code == 409 and "changed by u-admin" in response.get_json()["error"]
    assert _draft(hotline).document["defaults"] == {"timeout_seconds": 8, "max_tries": 3}


def test_edits_without_a_change_are_not_logged(supervisor, hotline):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    supervisor.edits(COMPLAINT_KEY_TO_5)
    assert len(_log(hotline, action="edit_draft")) == 1


# ---------------------------------------------------------------- validation through the editor


def _dead_end_submenu() -> list[dict[str, Any]]:
    return [
        {
            "op": "add_node",
            "node": "outage",
            "type": "menu",
            "parent": "main",
            "key": "6",
            "prompts": "main_menu",
        },
        {"op": "set_option", "node": "outage", "index": 0, "key": "1", "target": "outage_info"},
        {
            "op": "add_node",
            "node": "outage_info",
            "type": "info",
            "prompts": "billing_prices",
            "next": "outage",
        },
    ]


MENU_PROBLEMS = [
    pytest.param(
        [{"op": "set_option", "node": "main", "index": 3, "target": "complaints"}],
        "nodes.main",
        "leads to 'complaints', which does not exist: a dead end",
        id="target-missing",
    ),
    pytest.param(_dead_end_submenu(), "nodes.outage", "is a dead end", id="dead-end"),
    pytest.param(
        [{"op": "add_option", "node": "main", "key": "1", "target": "billing"}],
        "nodes.main.menu.options",
        "key(s) 1 used by more than one option",
        id="duplicate-key",
    ),
    pytest.param(
        [{"op": "set_node", "node": "repair", "fields": {"prompts": "repair_menu, repair_hint"}}],
        "nodes.repair",
        "prompt 'repair_hint' is missing in zh-CN",
        id="prompt-missing",
    ),
    pytest.param(
        [{"op": "set_node", "node": "repair", "fields": {"prompts": ""}}],
        "nodes.repair",
        "asks the caller something but has no prompt",
        id="menu-without-prompt",
    ),
    pytest.param(
        [{"op": "remove_option", "node": "main", "index": 1}],
        "nodes.main",
        "the gas-leak choice must be one key from the root",
        id="gas-leak-not-at-root",
    ),
    pytest.param(
        [{"op": "set_node", "node": "emergency", "fields": {"emergency": False}}],
        "emergency.target",
        "must be an emergency queue",
        id="emergency-not-flagged",
    ),
    pytest.param(
        [
            {"op": "set_node", "node": "billing_queue", "fields": {"priority": 10}},
            {"op": "set_node", "node": "emergency", "fields": {"priority": 9}},
        ],
        "emergency.target",
        "priority 9 is below another queue's 10",
        id="emergency-not-top-priority",
    ),
    pytest.param(
        [{"op": "add_node", "node": "orphan", "type": "info", "prompts": "goodbye"}],
        "nodes.orphan",
        "cannot be reached from the root",
        id="unreachable",
    ),
    pytest.param(
        [
            {"op": "set_node", "node": "billing_prices", "fields": {"next": "billing_how_to_pay"}},
            {"op": "set_node", "node": "billing_how_to_pay", "fields": {"next": "billing_prices"}},
        ],
        "nodes.billing_prices",
        "loops through other nodes without ever waiting",
        id="automatic-loop",
    ),
    pytest.param(
        [{"op": "set_option", "node": "main", "index": 0, "language": "fr-FR"}],
        "nodes.main",
        "option 1 uses language fr-FR, not offered",
        id="language-not-offered",
    ),
    pytest.param(
        [{"op": "set_emergency_phrases", "language": "en-US", "phrases": ""}],
        "emergency.phrases",
        "no gas-leak phrases for en-US",
        id="no-gas-leak-phrases",
    ),
    pytest.param(
        [{"op": "set_node", "node": "billing_queue", "fields": {"priority": 11}}],
        "nodes.billing_queue.queue.priority",
        "less than or equal to 10",
        id="priority-out-of-range",
    ),
    pytest.param(
        [{"op": "set_option", "node": "main", "index": 0, "key": "12"}],
        "nodes.main.menu.options.0.key",
        "should match pattern",
        id="key-not-one-character",
    ),
    pytest.param(
        [{"op": "add_node", "node": "duty", "type": "dial", "number": "12345", "parent": "main", "key": "7"}],
        "nodes.duty.dial.number",
        "should match pattern",
        id="dial-number-not-e164",
    ),
    pytest.param(
        [{"op": "set_node", "node": "main", "fields": {"timeout_seconds": 1}}],
        "nodes.main.menu.timeout_seconds",
        "greater than or equal to 2",
        id="timeout-too-short",
    ),
    pytest.param(
        [{"op": "set_prompt_text", "key": "balance", "language": "zh-CN", "text": "余额{money}元"}],
        "prompts.balance",
        "the zh-CN text must use {account}, {amount}",
        id="prompt-placeholders",
    ),
    pytest.param(
        [{"op": "set_prompt_text", "key": "holiday_notice", "language": "zh-CN", "text": "节日快乐"}],
        "prompts.holiday_notice",
        "is not spoken by any node of this menu",
        id="prompt-not-spoken",
    ),
    pytest.param(
        [{"op": "set_node", "node": "main", "fields": {"prompts": "main_menu, storm_notice"}}]
        + [
            {
                "op": "set_prompt_text",
                "key": "storm_notice",
                "language": "zh-CN",
                "text": "暴雨期间请耐心等待。",
            }
        ],
        "nodes.main",
        "prompt 'storm_notice' is missing in en-US",
        id="document-prompt-in-one-language-only",
    ),
]


@pytest.mark.parametrize(("operations", "where", "fragment"), MENU_PROBLEMS)
def test_every_menu_problem_is_named_as_they_edit_and_blocks_publishing(
    supervisor, hotline, operations, where, fragment
):
    answer = supervisor.edits(*operations)
    named = [p for p in answer["problems"] if p["where"] == where and fragment in p["message"]]
    assert named, answer["problems"]
    assert answer["publishable"] is False and escape(fragment) in answer["problems_html"]
    response = supervisor.form("/console/menu/draft/publish", note="try")
    assert response.status_code == 400 and escape(fragment) in _text(response)
    assert _versions(hotline) == [1] and _log(hotline, action="publish") == []
    assert _draft(hotline) is not None


def test_the_editor_names_the_same_problems_as_check_config(supervisor, hotline, tmp_path):
    from ivr.setup import config_problems

    answer = supervisor.edits(
        *_dead_end_submenu(), {"op": "set_option", "node": "main", "index": 0, "target": "x"}
    )
    path = tmp_path / "draft.json"
    path.write_text(answer["document"], encoding="utf-8")
    prefix = f"menu file {path}: "
    cli = sorted(p.removeprefix(prefix) for p in config_problems(None, str(path)) if p.startswith(prefix))
    assert cli == sorted(f"{p['where']}: {p['message']}" for p in answer["problems"]) and cli


def test_a_fixed_draft_can_be_published(supervisor):
    broken = supervisor.edits(*_dead_end_submenu())
    assert not broken["publishable"]
    fixed = supervisor.edits({"op": "add_option", "node": "outage", "key": "0", "target": "agent_queue"})
    assert fixed["problems"] == [] and fixed["publishable"]


# ---------------------------------------------------------------- publish, calls in progress, rollback


def test_publish_makes_the_draft_live_deletes_it_and_audits_it(supervisor, hotline, app):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    response = supervisor.form("/console/menu/draft/publish", note="complaints move to 5")
    assert response.status_code == 302 and response.location.endswith("/console/menu")
    assert _versions(hotline) == [1, 2] and _draft(hotline) is None
    with hotline.sessions() as session:
        row = session.get(MenuVersion, 2)
        assert (row.created_by, row.note) == ("u-supervisor", "complaints move to 5")
        assert row.document["nodes"]["main"]["options"][3]["key"] == "5"
    [entry] = _log(hotline, action="publish")
    assert entry.subject == "version 2: complaints move to 5" and entry.who == "u-supervisor"
    assert entry.before["nodes"]["main"]["options"][3]["key"] == "4"
    assert entry.after["nodes"]["main"]["options"][3]["key"] == "5"
    assert "服务态度投诉请按1" in Phone(app).call("5").spoken()  # a new call: 5 is the complaint menu
    wrong = Phone(app).call("4").spoken()  # and 4 is no choice any more
    assert "您的输入无效" in wrong and "服务态度投诉请按1" not in wrong


def test_a_call_in_progress_keeps_its_version_and_its_prompts(supervisor, hotline, twilio):
    sid = new_call_sid()
    first = twiml(twilio.post("/voice/incoming", call_sid=sid))
    assert "投诉请按4" in spoken(first) and "v=1" in action_of(first)
    supervisor.edits(
        COMPLAINT_KEY_TO_5,
        {"op": "set_prompt_text", "key": "main_menu", "language": "zh-CN", "text": NEW_MAIN_MENU},
    )
    assert supervisor.form("/console/menu/draft/publish").status_code == 302
    # the call that started under version 1 goes on under it: key 4 is still the complaint menu
    still = twiml(twilio.post(action_of(first), {"Digits": "4"}, call_sid=sid))
    assert "服务态度投诉请按1" in spoken(still) and "v=1" in action_of(still)
    # a new call gets version 2: its own text for the main menu, and key 5 for complaints
    other = new_call_sid()
    fresh = twiml(twilio.post("/voice/incoming", call_sid=other))
    assert NEW_MAIN_MENU in spoken(fresh) and "v=2" in action_of(fresh)
    assert "服务态度投诉请按1" in spoken(
        twiml(twilio.post(action_of(fresh), {"Digits": "5"}, call_sid=other))
    )
    with hotline.sessions() as session:
        versions = dict(session.execute(select(Call.call_sid, Call.menu_version)).all())
    assert versions[sid] == 1 and versions[other] == 2


def test_publishing_an_unchanged_or_missing_draft_is_refused(supervisor, hotline):
    response = supervisor.form("/console/menu/draft/publish")
    assert response.status_code == 409 and "nothing to publish" in _text(response)
    supervisor.edits(COMPLAINT_KEY_TO_5, {"op": "set_option", "node": "main", "index": 3, "key": "4"})
    response = supervisor.form("/console/menu/draft/publish")
    assert response.status_code == 409 and "the same as the live version" in _text(response)
    assert _versions(hotline) == [1]


def test_a_draft_is_refused_once_someone_else_published_until_started_again(supervisor, hotline):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    with unit_of_work(hotline.sessions) as session:  # `python run.py publish menu FILE` meanwhile
        publish_menu(session, load_menu_file(), created_by="cli", note="from a file")
    page = _text(supervisor.get("/console/menu/draft"))
    assert "线上已是第 2 版" in page or "version 2 is live now" in page
    response = supervisor.form("/console/menu/draft/publish")
    assert response.status_code == 409 and "version 2 was published by cli" in _text(response)
    assert _versions(hotline) == [1, 2] and _draft(hotline).base_version == 1
    assert supervisor.form("/console/menu/draft/restart").status_code == 302
    assert _draft(hotline) is None
    [restart] = _log(hotline, action="restart")
    assert restart.before["nodes"]["main"]["options"][3]["key"] == "5" and restart.after is None
    supervisor.edits(COMPLAINT_KEY_TO_5)
    assert _draft(hotline).base_version == 2
    assert supervisor.form("/console/menu/draft/publish").status_code == 302
    assert _versions(hotline) == [1, 2, 3]


def test_discard_throws_the_draft_away_and_is_audited(supervisor, hotline):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    assert supervisor.form("/console/menu/draft/discard").status_code == 302
    assert _draft(hotline) is None and _versions(hotline) == [1]
    [entry] = _log(hotline, action="discard")
    assert entry.before["nodes"]["main"]["options"][3]["key"] == "5"


def test_rollback_publishes_an_earlier_version_again(supervisor, hotline, app):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    supervisor.form("/console/menu/draft/publish")
    assert "服务态度投诉请按1" in Phone(app).call("5").spoken()
    response = supervisor.form("/console/menu/versions/1/rollback")
    assert response.status_code == 302
    assert _versions(hotline) == [1, 2, 3]
    with hotline.sessions() as session:
        v1, v3 = session.get(MenuVersion, 1), session.get(MenuVersion, 3)
        assert v3.document == v1.document and v3.note == "rollback to v1" and v3.created_by == "u-supervisor"
    [entry] = _log(hotline, action="rollback")
    assert entry.subject == "version 3: rollback to v1"
    assert entry.before["nodes"]["main"]["options"][3]["key"] == "5"
    assert entry.after["nodes"]["main"]["options"][3]["key"] == "4"
    assert "服务态度投诉请按1" in Phone(app).call("4").spoken()  # the caller gets the old menu again
    refused = supervisor.form("/console/menu/versions/3/rollback")
    assert refused.status_code == 409 and _versions(hotline) == [1, 2, 3]
    assert supervisor.form("/console/menu/versions/9/rollback").status_code == 404


def test_versions_page_and_diff_between_any_two(supervisor):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    supervisor.form("/console/menu/draft/publish", note="k5")
    versions = _text(supervisor.get("/console/menu/versions"))
    assert 'data-version="2"' in versions and 'data-version="1"' in versions and "k5" in versions
    diff = _text(supervisor.get("/console/menu/diff?a=1&b=2"))
    assert "1 处不同" in diff and "nodes.main.options.3.key" in diff
    assert _text(supervisor.get("/console/menu/diff?a=2&b=1")).count("nodes.main.options.3.key") == 1
    supervisor.edits({"op": "set_defaults", "timeout_seconds": 9})
    draft_diff = _text(supervisor.get("/console/menu/diff?a=live&b=draft"))
    assert "defaults.timeout_seconds" in draft_diff and "nodes.main.options.3.key" not in draft_diff
    assert supervisor.get("/console/menu/diff?a=first&b=2").status_code == 400
    assert supervisor.get("/console/menu/diff?a=1&b=7").status_code == 404
    assert supervisor.get("/console/menu/versions/7").status_code == 404


# ---------------------------------------------------------------- raw document


def test_the_raw_editor_takes_toml_or_json_and_refuses_what_it_cannot_read(supervisor, hotline):
    toml = DEFAULT_MENU_FILE.read_text(encoding="utf-8").replace('name = "Huaxia', 'name = "New')
    response = supervisor.form("/console/menu/draft/raw", document=toml)
    assert response.status_code == 302 and _draft(hotline).document["name"].startswith("New")
    [entry] = _log(hotline, action="replace_draft")
    assert entry.before["name"].startswith("Huaxia") and entry.after["name"].startswith("New")
    refused = supervisor.form("/console/menu/draft/raw", document='{"name": ')
    assert refused.status_code == 400 and "not valid JSON" in _text(refused)
    assert supervisor.form("/console/menu/draft/raw", document="[1, 2]").status_code == 400
    assert _draft(hotline).document["name"].startswith("New") and len(_log(hotline)) == 1


# ---------------------------------------------------------------- the test call


def test_the_test_call_walks_the_draft_and_hears_the_change(supervisor, hotline):
    supervisor.edits(
        COMPLAINT_KEY_TO_5,
        {"op": "set_prompt_text", "key": "main_menu", "language": "zh-CN", "text": NEW_MAIN_MENU},
    )
    start = supervisor.test_call(language="zh-CN")
    assert start.status_code == 200
    answer = start.get_json()
    assert [s["key"] for s in answer["said"]] == ["greeting", "language_offer", "main_menu"]
    assert answer["said"][2]["text"] == NEW_MAIN_MENU and answer["next"]["kind"] == "ask"
    complaint = supervisor.test_call(state=answer["state"], digits="5").get_json()
    assert complaint["said"][0]["key"] == "complaint_menu" and complaint["state"]["node"] == "complaint"
    end = supervisor.test_call(state=complaint["state"], digits="1").get_json()
    assert end["next"] == {
        "kind": "queue",
        "node": "complaint_service",
        "queue": "complaint",
        "intent": "complaint",
        "priority": 6,
        "emergency": False,
        "complaint_class": "service",
        "reply_within_hours": 24,
        "after_hours": None,
    }
    assert end["state"] is None
    # nothing was published: a real caller still hears the shipped menu
    assert _versions(hotline) == [1]


def test_the_test_call_writes_nothing(supervisor, hotline):
    with hotline.sessions() as session:
        before = (count(session, WorkOrder), count(session, Call), count(session, CallEvent))
    state = supervisor.test_call(language="en-US").get_json()["state"]
    repair = supervisor.test_call(state=state, digits="3").get_json()
    reported = supervisor.test_call(state=repair["state"], digits="1").get_json()
    fault = next(s for s in reported["said"] if s["key"] == "fault_reported")
    assert "Your fault is registered" in fault["text"] and "work order number is" in fault["text"]
    balance = supervisor.test_call(state=state, digits="1", caller="+8613800000002").get_json()
    balance = supervisor.test_call(state=balance["state"], digits="4", caller="+8613800000002").get_json()
    assert any("46.20" in s["text"] for s in balance["said"])
    with hotline.sessions() as session:
        assert (count(session, WorkOrder), count(session, Call), count(session, CallEvent)) == before
    assert _log(hotline) == [] and _draft(hotline) is None


def test_the_test_call_gas_leak_phrase_and_language(supervisor):
    state = supervisor.test_call(language="en-US").get_json()["state"]
    leak = supervisor.test_call(state=state, speech="I smell gas in the kitchen").get_json()
    assert leak["next"]["kind"] == "queue" and leak["next"]["emergency"] is True
    assert leak["said"][0]["key"] == "safety_instructions" and leak["said"][0]["language"] == "en-US"


def test_the_test_call_refuses_an_invalid_draft_or_a_bad_request(supervisor):
    supervisor.edits({"op": "set_option", "node": "main", "index": 3, "target": "complaints"})
    refused = supervisor.test_call(language="zh-CN")
    assert refused.status_code == 400 and "fix them before a test call" in refused.get_json()["error"]
    assert any("complaints" in p["message"] for p in refused.get_json()["problems"])
    supervisor.edits({"op": "set_option", "node": "main", "index": 3, "target": "complaint"})
    bad = [
        {"state": {"node": "nowhere", "language": "zh-CN", "tries": 0, "step": 1}, "digits": "1"},
        {"state": {"node": "main", "language": "fr-FR", "tries": 0, "step": 1}, "digits": "1"},
        {"state": {"node": "main", "language": "zh-CN", "tries": -1, "step": 1}, "digits": "1"},
        {"state": {"node": "main", "language": "zh-CN", "tries": 0, "step": 1}, "digits": "1x"},
        {"state": None, "language": "xx"},
        {"state": None, "caller": "call me"},
        {"state": "main"},
    ]
    for body in bad:
        response = supervisor.test_call(**body)
        assert response.status_code == 400 and response.get_json()["error"], body


# ---------------------------------------------------------------- routing rules, opening hours, holidays


def test_hours_and_holidays_are_edited_validated_and_published(supervisor, hotline):
    supervisor.edits({"op": "set_group", "group": "billing", "always_open": False}, kind="rules")
    answer = supervisor.edits(
        {"op": "set_hours", "group": "billing", "day": "mon", "ranges": "08:00-12:00, 11:00-20:00"},
        kind="rules",
    )
    assert {
        "where": "groups.billing.hours.mon",
        "message": "ranges 08:00-12:00 and 11:00-20:00 overlap",
    } in answer["problems"]
    assert supervisor.form("/console/rules/draft/publish").status_code == 400
    answer = supervisor.edits(
        {"op": "set_hours", "group": "billing", "day": "mon", "ranges": "08:00-12:00，13:00-20:00"},
        {"op": "add_holiday", "group": "billing", "date": "2026-10-01"},
        kind="rules",
    )
    assert answer["problems"] == [] and 'data-day="mon"' in answer["html"]
    assert (
        supervisor.edit({"op": "add_holiday", "group": "billing", "date": "1 Oct"}, "rules").status_code
        == 400
    )
    assert supervisor.form("/console/rules/draft/publish", note="office hours").status_code == 302
    assert _versions(hotline, RulesVersion) == [1, 2]
    with hotline.sessions() as session:
        group = session.get(RulesVersion, 2).document["groups"]["billing"]
    assert group["hours"] == {"mon": ["08:00-12:00", "13:00-20:00"]} and group["holidays"] == ["2026-10-01"]
    assert [e.action for e in _log(hotline, kind="rules")] == ["edit_draft"] * 4 + ["publish"]
    assert supervisor.form("/console/rules/versions/1/rollback").status_code == 302
    with hotline.sessions() as session:
        v1, v3 = session.get(RulesVersion, 1), session.get(RulesVersion, 3)
        assert v3.document == v1.document and v3.note == "rollback to v1"


@pytest.mark.parametrize(
    ("operations", "where", "fragment"),
    [
        (
            [{"op": "set_group", "group": "billing", "timezone": "Mars/Olympus"}],
            "groups.billing.timezone",
            "unknown",
        ),
        (
            [{"op": "set_group", "group": "general", "always_open": False}],
            "groups.general",
            "has no opening hours and is not always_open",
        ),
        (
            [{"op": "remove_group", "group": "safety"}],
            "filters.emergency.steps.0",
            "group 'safety' does not exist",
        ),
        (
            [{"op": "set_group", "group": "safety", "always_open": False}]
            + [{"op": "set_hours", "group": "safety", "day": "mon", "ranges": "08:00-20:00"}],
            "filters.emergency.steps.0",
            "must be always_open: safety is 24 hours",
        ),
        (
            [{"op": "set_group", "group": "billing", "always_open": False}]
            + [{"op": "set_hours", "group": "billing", "day": "tue", "ranges": "20:00-08:00"}],
            "groups.billing.hours.tue",
            "does not start before it ends (ranges cannot run past midnight)",
        ),
    ],
)
def test_every_rules_problem_is_named_as_they_edit(supervisor, hotline, operations, where, fragment):
    answer = supervisor.edits(*operations, kind="rules")
    assert any(p["where"] == where and fragment in p["message"] for p in answer["problems"]), answer[
        "problems"
    ]
    assert supervisor.form("/console/rules/draft/publish").status_code == 400
    assert _versions(hotline, RulesVersion) == [1]


# ---------------------------------------------------------------- the change log page


def test_the_change_log_shows_every_kind_with_before_and_after(supervisor, hotline):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    with unit_of_work(hotline.sessions) as session:
        log_change(
            session, "u-admin", "announcement", "create", "storm notice", after={"texts": {"zh-CN": "暴雨"}}
        )
        log_change(
            session,
            "lead",
            "agent",
            "move",
            "agent 3",
            before={"group": "billing"},
            after={"group": "safety"},
        )
    page = _text(supervisor.get("/console/changes"))
    assert page.count("<tr data-kind=") == 3
    assert "nodes.main.options.3.key" in page and "storm notice" in page and "u-admin" in page
    assert escape('"billing"') in page and escape('"safety"') in page
    only_menu = _text(supervisor.get("/console/changes?kind=menu"))
    assert only_menu.count("<tr data-kind=") == 1 and "storm notice" not in only_menu
    assert supervisor.get("/console/changes?kind=DROP TABLE").status_code == 400
    assert supervisor.get("/console/changes?before=x").status_code == 400
    older = _text(supervisor.get(f"/console/changes?before={_log(hotline)[-1].id}"))
    assert older.count("<tr data-kind=") == 2


def test_two_supervisors_publishing_the_draft_at_once_make_one_version(hotline, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row lock")
    with unit_of_work(hotline.sessions) as session:
        drafts.edit_draft(session, "menu", "a", COMPLAINT_KEY_TO_5)
    ready = threading.Barrier(2)
    outcomes: list[Any] = []

    def publish(who: str) -> None:
        try:
            with unit_of_work(hotline.sessions) as session:
                session.execute(select(1))
                ready.wait(timeout=10)
                outcomes.append(drafts.publish_draft(session, "menu", who))
        except drafts.ConsoleRefused as refused:
            outcomes.append(refused.message)

    threads = [threading.Thread(target=publish, args=(who,)) for who in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str) == [
        2,
        "there is no draft: the editor shows the live version, nothing to publish",
    ]
    assert (
        _versions(hotline) == [1, 2] and len(_log(hotline, action="publish")) == 1 and _draft(hotline) is None
    )


def test_the_menu_diagram_of_the_draft_the_live_version_and_any_version(supervisor):
    def diagram(of: str) -> dict[str, Any]:
        response = supervisor.get(f"/console/menu/diagram?of={of}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def complaint_key(answer: dict[str, Any]) -> list[str]:
        edges = answer["diagram"]["edges"]
        return [e["key"] for e in edges if e["source"] == "main" and e["target"] == "complaint"]

    assert complaint_key(diagram("draft")) == ["4"]  # no draft yet: the live version's document
    outage = {"op": "add_node", "node": "outage", "type": "menu", "parent": "main", "key": "6"}
    supervisor.edits(COMPLAINT_KEY_TO_5, outage)
    draft, live, first = diagram("draft"), diagram("live"), diagram("1")
    assert complaint_key(draft) == ["5"] and complaint_key(live) == ["4"] and complaint_key(first) == ["4"]
    assert len(draft["diagram"]["nodes"]) == len(live["diagram"]["nodes"]) + 1
    assert "Draft (based on version 1)" in draft["title"] and "Version 1 (live)" in live["title"]
    gas = [e for e in live["diagram"]["edges"] if e["gas_leak"]]
    assert {(e["source"], e["key"]) for e in gas} == {("main", "2"), ("complaint", "3")}


def test_an_earlier_version_page_opens_its_own_diagram_with_a_toggle_to_live_and_draft(supervisor):
    supervisor.edits(COMPLAINT_KEY_TO_5)
    supervisor.form("/console/menu/draft/publish", note="k5")
    page = _text(supervisor.get("/console/menu/versions/1"))
    assert 'id="menu-diagram"' in page and 'data-of="1"' in page and "menu_diagram.js" in page
    assert "Version 1</button>" in page and "Published v2</button>" in page and 'data-of="draft"' in page


def test_the_menu_diagram_says_what_was_wrong(supervisor):
    for of, status, fragment in [
        ("nonsense", 400, "of must be draft, live or a version number"),
        ("99", 404, "there is no menu version 99"),
        ("1" * 12, 400, "of must be"),
    ]:
        response = supervisor.get(f"/console/menu/diagram?of={of}")
        assert response.status_code == status and fragment in response.get_json()["error"], of
