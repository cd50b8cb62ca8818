"""The call-back settings page: the sampling policy as a form (a new version per save), its JSON export and
import (previewed as a diff first), and the do-not-call list; every change logged, nothing half-written."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from ivr.db.models import ChangeLog, DoNotCall, SamplingPolicyVersion
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.surveys.policy import load_policy_file
from ivr.surveys.policy_form import form_of
from ivr.surveys.policy_store import live_policy, publish_policy

PASSWORD = "settings-page-1"


@pytest.fixture
def boss(app, hotline):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF is tested with the other forms
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="boss", role="supervisor", password=PASSWORD)
    client = app.test_client()
    assert client.post("/login", data={"username": "boss", "password": PASSWORD}).status_code == 302
    return client


def rows(hotline, model):  # type: ignore[no-untyped-def]
    with unit_of_work(hotline.sessions) as session:
        found = list(session.scalars(select(model)))
        session.expunge_all()
        return found


def form_fields(document: dict[str, Any] | None = None, based_on: int = 0, **changed: str) -> dict[str, Any]:
    """What the page's form posts for `document` (the shipped default), with some fields changed."""
    form = form_of(document or load_policy_file())
    values: dict[str, Any] = {
        "based_on": str(based_on),
        "min_cases_for_sampling": form.min_cases,
        "recent_callback_days": form.recent_days,
        "type": [row.key for row in form.types],
    }
    for row in form.types:
        values[f"label.{row.key}"] = row.label
        values[f"share.{row.key}"] = row.percent
    values.update(changed)
    return values


def test_the_page_shows_the_policy_as_a_form_in_percent(boss):
    page = boss.get("/console/callbacks").get_data(as_text=True)
    assert "出厂默认 / the shipped default" in page
    assert 'name="share.paid_repair" id="share-paid_repair" value="100"' in page
    assert 'name="share.hotline_call" id="share-hotline_call" value="10"' in page
    assert 'name="min_cases_for_sampling" id="min_cases_for_sampling" value="20"' in page
    assert "<textarea" not in page.split('id="do-not-call"')[0]  # no raw JSON box any more


def test_a_share_changed_in_the_form_is_a_new_version_and_logged(boss, hotline):
    answer = boss.post("/console/callbacks/policy", data=form_fields(**{"share.small_installation": "20"}))
    assert answer.status_code == 302
    (version,) = rows(hotline, SamplingPolicyVersion)
    assert (version.version, version.created_by) == (1, "boss")
    assert version.document["service_types"]["small_installation"]["share"] == 0.2
    (entry,) = rows(hotline, ChangeLog)
    assert (entry.kind, entry.action, entry.who, entry.subject) == (
        "callback_policy",
        "publish",
        "boss",
        "version 1",
    )
    assert entry.before["service_types"]["small_installation"]["share"] == 0.1  # the shipped default
    assert entry.after["service_types"]["small_installation"]["share"] == 0.2
    page = boss.get("/console/callbacks").get_data(as_text=True)
    assert "version 1" in page and 'id="share-small_installation" value="20"' in page
    with hotline.sessions() as session:
        assert live_policy(session).shares["small_installation"] == 0.2


def test_wrong_fields_are_marked_each_with_its_message_and_nothing_is_stored(boss, hotline):
    answer = boss.post(
        "/console/callbacks/policy",
        data=form_fields(**{"share.paid_repair": "150", "recent_callback_days": "x", "label.ignition": ""}),
    )
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="error-share-paid_repair"' in text and "a percentage from 0 to 100" in text
    assert 'id="error-recent_callback_days"' in text and 'id="error-label-ignition"' in text
    assert 'value="150"' in text  # what was typed is shown again
    assert rows(hotline, SamplingPolicyVersion) == [] and rows(hotline, ChangeLog) == []


def test_an_unchanged_form_makes_no_version(boss, hotline):
    answer = boss.post("/console/callbacks/policy", data=form_fields(), follow_redirects=True)
    assert "Nothing changed" in answer.get_data(as_text=True)
    assert rows(hotline, SamplingPolicyVersion) == [] and rows(hotline, ChangeLog) == []


def test_a_type_is_added_and_one_removed_in_the_form(boss, hotline):
    fields = form_fields(
        **{
            "remove.service_hall": "on",
            "new_key": "meter_repair",
            "new_label": "meter repair",
            "new_share": "50",
        }
    )
    assert boss.post("/console/callbacks/policy", data=fields).status_code == 302
    (version,) = rows(hotline, SamplingPolicyVersion)
    assert version.document["service_types"]["meter_repair"] == {"label": "meter repair", "share": 0.5}
    assert "service_hall" not in version.document["service_types"]


def test_a_form_saved_over_a_version_published_meanwhile_is_refused(boss, hotline):
    with unit_of_work(hotline.sessions) as session:
        document = load_policy_file()
        document["recent_callback_days"] = 40
        publish_policy(session, document, created_by="other")
    answer = boss.post("/console/callbacks/policy", data=form_fields(based_on=0, **{"share.ignition": "30"}))
    assert answer.status_code == 409 and "version 1 was published" in answer.get_data(as_text=True)
    assert [v.version for v in rows(hotline, SamplingPolicyVersion)] == [1]
    assert rows(hotline, ChangeLog) == []


def test_the_policy_is_exported_as_json(boss, hotline):
    answer = boss.get("/console/callbacks/policy.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert 'filename="callback-policy-v0.json"' in answer.headers["Content-Disposition"]
    assert json.loads(answer.get_data(as_text=True)) == load_policy_file()
    boss.post("/console/callbacks/policy", data=form_fields(**{"share.ignition": "30"}))
    live = boss.get("/console/callbacks/policy.json")
    assert 'filename="callback-policy-v1.json"' in live.headers["Content-Disposition"]
    assert json.loads(live.get_data())["service_types"]["ignition"]["share"] == 0.3
    old = boss.get("/console/callbacks/policy.json?version=0")
    assert json.loads(old.get_data())["service_types"]["ignition"]["share"] == 0.1
    assert boss.get("/console/callbacks/policy.json?version=7").status_code == 404
    assert boss.get("/console/callbacks/policy.json?version=x").status_code == 400


def upload(client, document: Any, name: str = "policy.json"):  # type: ignore[no-untyped-def]
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        "/console/callbacks/policy/import",
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def test_an_import_is_previewed_as_a_diff_then_published_and_logged(boss, hotline):
    document = load_policy_file()
    document["service_types"]["ignition"]["share"] = 0.25
    preview = upload(boss, document)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "service_types.ignition.share" in text and "0.25" in text and "0.1" in text
    assert rows(hotline, SamplingPolicyVersion) == []  # a preview stores nothing
    confirm = boss.post(
        "/console/callbacks/policy/import/confirm", data={"document": json.dumps(document), "based_on": "0"}
    )
    assert confirm.status_code == 302
    (version,) = rows(hotline, SamplingPolicyVersion)
    assert version.document == document
    (entry,) = rows(hotline, ChangeLog)
    assert (entry.kind, entry.action) == ("callback_policy", "import")


def test_an_invalid_or_unreadable_import_names_the_problems_and_stores_nothing(boss, hotline):
    document = load_policy_file()
    document["service_types"]["paid_repair"]["share"] = 1.5
    del document["service_types"]["hotline_call"]
    invalid = upload(boss, document)
    text = invalid.get_data(as_text=True)
    assert invalid.status_code == 422
    assert "service_types.paid_repair.share" in text and "hotline_call" in text
    assert "Publish as a new version" not in text
    unreadable = upload(boss, b"{not json")
    assert unreadable.status_code == 422 and "cannot be read" in unreadable.get_data(as_text=True)
    toml = upload(boss, b'min_cases_for_sampling = "many"', name="policy.toml")
    assert toml.status_code == 422 and "min_cases_for_sampling" in toml.get_data(as_text=True)
    nothing = boss.post("/console/callbacks/policy/import", data={}, content_type="multipart/form-data")
    assert nothing.status_code == 400
    tampered = boss.post(
        "/console/callbacks/policy/import/confirm", data={"document": json.dumps(document), "based_on": "0"}
    )
    assert tampered.status_code == 422
    confirm = "/console/callbacks/policy/import/confirm"
    shapeless = boss.post(confirm, data={"document": '{"service_types": [1]}'})
    assert shapeless.status_code == 422 and "must be a table" in shapeless.get_data(as_text=True)
    assert rows(hotline, SamplingPolicyVersion) == [] and rows(hotline, ChangeLog) == []


def test_an_import_confirmed_after_another_version_went_live_is_refused(boss, hotline):
    document = load_policy_file()
    document["service_types"]["ignition"]["share"] = 0.25
    boss.post("/console/callbacks/policy", data=form_fields(**{"share.free_repair": "20"}))
    stale = boss.post(
        "/console/callbacks/policy/import/confirm", data={"document": json.dumps(document), "based_on": "0"}
    )
    assert stale.status_code == 409 and "version 1 was published" in stale.get_data(as_text=True)
    assert [v.version for v in rows(hotline, SamplingPolicyVersion)] == [1]


def test_numbers_go_on_and_off_the_do_not_call_list(boss, hotline):
    assert (
        boss.post(
            "/console/callbacks/do-not-call", data={"phone": "138 0000 0042", "reason": "asked"}
        ).status_code
        == 302
    )
    (entry,) = rows(hotline, DoNotCall)
    assert (entry.phone, entry.reason) == ("+8613800000042", "asked")
    bad = boss.post("/console/callbacks/do-not-call", data={"phone": "12", "reason": ""})
    assert (
        bad.status_code == 400
        and "phone:" in bad.get_data(as_text=True)
        and "reason:" in bad.get_data(as_text=True)
    )
    assert boss.post(f"/console/callbacks/do-not-call/{entry.id}/remove").status_code == 302
    assert rows(hotline, DoNotCall) == []
    assert boss.post(f"/console/callbacks/do-not-call/{entry.id}/remove").status_code == 404
    assert [(c.action, c.subject) for c in rows(hotline, ChangeLog)] == [
        ("add", "+8613800000042"),
        ("remove", "+8613800000042"),
    ]


def test_the_publish_command_is_logged_and_makes_no_version_of_the_same_document(hotline, tmp_path):
    from click.testing import CliRunner

    from run import cli

    document = load_policy_file()
    document["service_types"]["ignition"]["share"] = 0.5
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    for _ in range(2):
        result = CliRunner().invoke(
            cli, ["callbacks", "policy", "publish", str(path), "--by", "ops"], obj=hotline
        )
        assert result.exit_code == 0 and "version 1 is live" in result.output
    assert [v.version for v in rows(hotline, SamplingPolicyVersion)] == [1]
    assert [(e.kind, e.action, e.who) for e in rows(hotline, ChangeLog)] == [
        ("callback_policy", "publish", "ops")
    ]
