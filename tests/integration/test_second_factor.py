"""A keyed account number no longer reads out anyone's balance (issue 13, point 11): signed webhooks
on SQLite and PostgreSQL, the second factor checked against the database, and never written down."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from ivr.app import create_app
from ivr.calls.trial_call import TestCallInput, walk_test_call
from ivr.configuration.menus.validation import load_menu_file
from ivr.db.models import Call, CallEvent, Customer
from ivr.events.store import call_inputs
from run import cli
from tests.helpers import SignedClient, action_of, new_call_sid, spoken, twiml

STRANGER = "+8613999999999"  # no account has this phone
LI_QIANG = "10000002"  # demo account: phone +8613800000002, -46.20, ID number ending 457X


def _walk(twilio, call_sid, *digits, caller=STRANGER):
    """Start a call and key each entry at the next Gather; returns every TwiML document, in order."""
    documents = [twiml(twilio.post("/voice/incoming", call_sid=call_sid, caller=caller))]
    for keyed in digits:
        documents.append(
            twiml(twilio.post(action_of(documents[-1]), {"Digits": keyed}, call_sid=call_sid, caller=caller))
        )
    return documents


def _figures(documents) -> bool:
    return any("46.20" in spoken(document) or "元。" in spoken(document) for document in documents)


def _event_text(hotline, call_sid) -> str:
    with hotline.sessions() as session:
        events = session.scalars(select(CallEvent).where(CallEvent.call_sid == call_sid)).all()
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        columns = {c.key: str(getattr(call, c.key)) for c in Call.__table__.columns}
    text = json.dumps([event.data for event in events] + [columns], ensure_ascii=False)
    # the random CallSid and the clock's digits could hold "457" by chance: they are not what is checked
    return re.sub(r"\d{4}-\d\d-\d\d[ T][\d:.]+", "<time>", text.replace(call_sid, "<sid>"))


def test_the_accounts_own_phone_hears_the_figures_without_a_factor(twilio):
    menu = _walk(twilio, new_call_sid(), "1", "4", caller="+8613800000002")
    assert "欠费46.20元" in spoken(menu[-1]) and "身份证" not in spoken(menu[-1])
    # Keying its own account number at the account input: the same, no factor asked.
    own = twiml(
        twilio.post(
            "/voice/step?v=1&n=billing_account&l=zh-CN&t=0&s=4",
            {"Digits": LI_QIANG},
            caller="+8613800000002",
        )
    )
    assert "欠费46.20元" in spoken(own) and "身份证" not in spoken(own)


def test_another_phone_is_asked_the_factor_and_a_match_reads_the_figures(twilio, hotline):
    sid = new_call_sid()
    documents = _walk(twilio, sid, "1", "4", f"{LI_QIANG}#")
    asked = documents[-1]
    assert "身份证号码最后4位" in spoken(asked) and not _figures(documents)
    gather = asked.find("Gather")
    assert (gather.get("numDigits"), gather.get("finishOnKey")) == ("4", "#")
    assert parse_qs(urlparse(gather.get("action")).query)["a"] == [LI_QIANG]  # signed, with the URL

    read = twiml(twilio.post(action_of(asked), {"Digits": "457*"}, call_sid=sid, caller=STRANGER))  # X as *
    assert "欠费46.20元" in spoken(read)
    assert "a=" not in action_of(read), "the account is forgotten once the figures are read"
    with hotline.sessions() as session:
        inputs = [entry for entry in call_inputs(session, sid) if entry["node"] == "billing_account"]
    assert [entry.get("digits") for entry in inputs] == [f"{LI_QIANG}#", "****"]
    assert "457" not in _event_text(hotline, sid)


def test_a_wrong_factor_twice_reads_nothing_and_puts_the_caller_through(twilio, hotline):
    sid = new_call_sid()
    documents = _walk(twilio, sid, "1", "4", LI_QIANG, "8642", "9753")
    first, last = documents[-2], documents[-1]
    assert "不符" in spoken(first) and "身份证号码最后4位" in spoken(first)
    assert "不符" in spoken(last) and last.find("Enqueue").text == "general"
    assert not _figures(documents)
    text = _event_text(hotline, sid)
    assert "8642" not in text and "9753" not in text
    with hotline.sessions() as session:
        call = session.scalar(select(Call).where(Call.call_sid == sid))
    assert call.queue == "general"


def test_an_unknown_account_is_answered_word_for_word_like_a_wrong_factor(twilio, hotline):
    known = _walk(twilio, new_call_sid(), "1", "4", LI_QIANG, "1111", "2222")
    unknown = _walk(twilio, new_call_sid(), "1", "4", "99999999", "1111", "2222")
    assert [spoken(d) for d in known] == [spoken(d) for d in unknown]
    assert "不符" in spoken(unknown[-1]) and unknown[-1].find("Enqueue").text == "general"
    # And in English.
    known_en = _walk(twilio, new_call_sid(), "9", "1", "4", LI_QIANG, "1111")
    unknown_en = _walk(twilio, new_call_sid(), "9", "1", "4", "99999999", "1111")
    assert [spoken(d) for d in known_en] == [spoken(d) for d in unknown_en]
    assert "last 4 digits of the ID number" in spoken(known_en[-2])
    assert "do not match" in spoken(known_en[-1])


def test_an_account_with_no_id_number_on_record_reads_nothing(twilio, hotline):
    with hotline.sessions() as session, session.begin():
        session.execute(
            update(Customer).where(Customer.account_number == LI_QIANG).values(id_number_last4=None)
        )
    documents = _walk(twilio, new_call_sid(), "1", "4", LI_QIANG, "0000", "457*")
    assert not _figures(documents) and documents[-1].find("Enqueue").text == "general"


def test_the_account_is_taken_only_from_the_signed_url(twilio, app):
    sid = new_call_sid()
    asked = _walk(twilio, sid, "1", "4", "99999999")[-1]
    # The factor step's URL with another account, re-signed by anyone but Twilio: refused.
    forged = action_of(asked).replace("a=99999999", f"a={LI_QIANG}")
    refused = SignedClient(app, token="not-the-real-token").post(forged, {"Digits": "457*"}, call_sid=sid)
    assert refused.status_code == 403
    # An account sent as a form field is not an account in the state: the digits are a new account number.
    plain = twiml(
        twilio.post(
            "/voice/step?v=1&n=billing_account&l=zh-CN&t=0&s=4",
            {"Digits": "457", "a": LI_QIANG},
            call_sid=sid,
        )
    )
    assert "身份证号码最后4位" in spoken(plain) and "46.20" not in spoken(plain)
    assert "a=457&" in action_of(plain) or action_of(plain).endswith("a=457")


def test_the_factor_is_not_kept_when_the_database_fails_at_the_check(outage_hotline):
    hotline, outage = outage_hotline
    client = SignedClient(create_app(hotline=hotline))
    sid = new_call_sid()
    root = twiml(client.post("/voice/incoming", call_sid=sid, caller=STRANGER))
    for keyed in ("1", "4", LI_QIANG):
        root = twiml(client.post(action_of(root), {"Digits": keyed}, call_sid=sid, caller=STRANGER))
    outage.stop()
    try:
        rescued = twiml(client.post(action_of(root), {"Digits": "457*"}, call_sid=sid, caller=STRANGER))
        assert rescued.find("Enqueue").text == "general" and "46.20" not in spoken(rescued)
    finally:
        outage.start()
    hotline.spool.replay(hotline.sessions)
    with hotline.sessions() as session:
        kinds = [event.kind for event in session.scalars(select(CallEvent).where(CallEvent.call_sid == sid))]
    assert "call.rescued" in kinds
    assert "457" not in _event_text(hotline, sid)


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """`run.py` reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def test_run_py_call_asks_the_factor_of_a_stranger_and_reads_the_figures_after_it(env):
    keys = f"9,1,4,{LI_QIANG}#,457*"
    result = CliRunner().invoke(cli, ["call", "--keys", keys, "--from", STRANGER, "--wait-loops", "1"])
    assert result.exit_code == 0, result.output
    output = result.output
    asked = output.index("Please key the last 4 digits of the ID number")
    assert output.index("is 46.20 yuan in arrears") > asked


def test_the_editors_test_call_carries_the_account_to_the_factor_question(hotline):
    document = load_menu_file()
    answer = walk_test_call(hotline.sessions, document, TestCallInput(state=None, caller=STRANGER))
    for keyed in ("1", "4", LI_QIANG):
        answer = walk_test_call(
            hotline.sessions, document, TestCallInput(answer["state"], keyed, caller=STRANGER)
        )
    assert answer["state"]["account"] == LI_QIANG and answer["said"][-1]["key"] == "ask_id_last4"
    read = walk_test_call(hotline.sessions, document, TestCallInput(answer["state"], "457*", caller=STRANGER))
    assert read["said"][0]["key"] == "balance_arrears" and read["chosen"] == ""
