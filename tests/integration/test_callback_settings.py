"""The call-back settings page: publish the sampling policy, keep the do-not-call list; all logged."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ivr.db.models import ChangeLog, DoNotCall, SamplingPolicyVersion
from ivr.db.session import unit_of_work
from ivr.people.users import create_user
from ivr.surveys.policy import load_policy_file

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


def test_the_page_shows_the_live_policy_as_an_editable_document(boss):
    page = boss.get("/console/callbacks").get_data(as_text=True)
    assert "paid_repair" in page and "出厂默认 / the shipped default" in page


def test_a_valid_policy_is_published_and_logged(boss, hotline):
    document = load_policy_file()
    document["service_types"]["small_installation"]["share"] = 0.2
    answer = boss.post("/console/callbacks/policy", data={"document": json.dumps(document)})
    assert answer.status_code == 302
    (version,) = rows(hotline, SamplingPolicyVersion)
    assert (version.version, version.created_by) == (1, "boss")
    assert version.document["service_types"]["small_installation"]["share"] == 0.2
    (entry,) = rows(hotline, ChangeLog)
    assert (entry.kind, entry.action, entry.who, entry.before) == ("callback_policy", "publish", "boss", None)
    assert "version 1" in boss.get("/console/callbacks").get_data(as_text=True)


def test_an_invalid_policy_names_every_problem_and_stores_nothing(boss, hotline):
    document = load_policy_file()
    document["service_types"]["paid_repair"]["share"] = 1.5
    del document["service_types"]["hotline_call"]
    answer = boss.post("/console/callbacks/policy", data={"document": json.dumps(document)})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert "service_types.paid_repair.share" in text and "hotline_call" in text
    unreadable = boss.post("/console/callbacks/policy", data={"document": "{not json"})
    assert unreadable.status_code == 400 and "cannot be read" in unreadable.get_data(as_text=True)
    assert rows(hotline, SamplingPolicyVersion) == [] and rows(hotline, ChangeLog) == []


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
