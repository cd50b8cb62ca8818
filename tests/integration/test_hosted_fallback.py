"""The Twilio-hosted fallback: published through twilio's REST client to the number's VoiceFallbackUrl (the
simulator's REST server standing in for Twilio), complete without our server, and kept in step with the
live menu and the duty number."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from ivr.configuration.menus.store import live_version
from ivr.configuration.menus.store import publish as publish_menu
from ivr.db.session import unit_of_work
from ivr.jobs.tasks import FallbackKeeper, publish_fallback
from ivr.telephony import twiml_rules
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from ivr.telephony.twilio_hosted import ECHO_URL
from ivr.telephony.twilio_rest import TwilioTelephony
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN

HOTLINE = "+864008888888"
DUTY = "+8613900000000"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # Our server is nowhere: every request to it is refused (port 9), as with the app dead.
    with HttpTransport(timeout=2) as transport:
        simulator = Simulator(
            transport, auth_token=TEST_AUTH_TOKEN, voice_url="http://127.0.0.1:9/voice/incoming"
        )
        simulator.numbers.provision(
            HOTLINE, voice_url="http://127.0.0.1:9/voice/incoming", voice_fallback_url=f"{PUBLIC_BASE_URL}/fb"
        )
        yield simulator


@pytest.fixture
def rest(sim: Simulator) -> Iterator[tuple[TwilioTelephony, list[tuple[str, str]]]]:
    app = create_rest_app(sim)
    with (
        serve_in_thread(app) as url,
        TwilioTelephony(sim.account_sid, TEST_AUTH_TOKEN, api_base_url=url) as client,
    ):
        yield client, app.config["REST_REQUESTS"]


def _document(url: str) -> str:
    assert url.startswith(ECHO_URL + "?")
    return parse_qs(urlsplit(url).query)["Twiml"][0]


def test_publish_sets_the_numbers_fallback_through_the_rest_api_once(hotline, sim, rest):  # type: ignore[no-untyped-def]
    client, seen = rest
    hotline.telephony = client
    first = publish_fallback(hotline)
    number = sim.numbers.find(HOTLINE)
    assert first.changed and number is not None
    assert number.voice_fallback_url == first.url and number.voice_fallback_method == "POST"
    assert ("POST", f"/2010-04-01/Accounts/{sim.account_sid}/IncomingPhoneNumbers/{number.sid}.json") in seen
    updates = len(sim.numbers.updates)
    again = publish_fallback(hotline)
    assert not again.changed and len(sim.numbers.updates) == updates  # in step already: nothing written


def test_the_hosted_document_needs_no_server_of_ours(hotline, sim, rest):  # type: ignore[no-untyped-def]
    hotline.telephony = rest[0]
    document = _document(publish_fallback(hotline).url)
    root = twiml_rules.parse_response("text/xml", document.encode(), ECHO_URL)  # valid, as Twilio checks
    assert PUBLIC_BASE_URL not in document and "http" not in document  # no URL at all: no action, no Play
    dials = [dial.findtext("Number") for dial in root.iter("Dial")]
    assert dials == [DUTY, DUTY] and all(dial.get("action") is None for dial in root.iter("Dial"))
    said = " ".join(say.text or "" for say in root.iter("Say"))
    catalogue = hotline.voice.catalogues
    for language in ("zh-CN", "en-US"):
        assert catalogue[language].render("safety_instructions", {}).text in said
    assert root[-1].tag == "Hangup"


def test_a_caller_whose_app_is_dead_reaches_the_duty_engineer(hotline, sim, rest):  # type: ignore[no-untyped-def]
    hotline.telephony = rest[0]
    publish_fallback(hotline)
    result = sim.place_call("+8613800000004", HOTLINE, ScriptedCaller())
    assert [error.code for error in result.errors] == [twiml_rules.HTTP_CONNECTION_FAILURE]
    # Answered (the simulator's default). With no branching in a hosted document, the call goes on below the
    # dial once that conversation ends: the advice, and the duty line once more (the caller may hang up).
    assert result.dialled[0] == DUTY
    first_dial = next(entry.at for entry in result.transcript if entry.kind == "dial")
    assert first_dial is not None and first_dial < 15  # only "connecting you" in both languages before it
    fallback = [request for request in result.requests if request.purpose == "fallback"]
    assert len(fallback) == 1 and fallback[0].url.startswith(ECHO_URL)


def test_the_duty_engineer_is_dialled_twice_then_an_apology(hotline, sim, rest):  # type: ignore[no-untyped-def]
    hotline.telephony = rest[0]
    publish_fallback(hotline)
    sim.set_endpoint(DUTY, "no-answer")
    result = sim.place_call("+8613800000004", HOTLINE, ScriptedCaller())
    assert result.dialled == [DUTY, DUTY]
    assert "请稍后再拨" in result.said()[-2] and "call again" in result.said()[-1]


def test_the_keeper_follows_the_live_menu_and_the_duty_number(hotline, sim, rest):  # type: ignore[no-untyped-def]
    client, seen = rest
    hotline.telephony = client
    keeper = FallbackKeeper()
    assert keeper.keep(hotline)  # at start: published
    requests = len(seen)
    assert not keeper.keep(hotline) and len(seen) == requests  # nothing changed: no REST request at all

    with unit_of_work(hotline.sessions) as session:
        row = live_version(session)
        assert row is not None
        document = copy.deepcopy(row.document)
        document.setdefault("prompts", {})["safety_instructions"] = {
            "zh-CN": "新的燃气安全提示：请立即离开。",
            "en-US": "New gas advice: leave at once.",
        }
        publish_menu(session, document, note="tests: new advice")
    hotline.menus.expire()
    assert keeper.keep(hotline)
    hosted = _document(sim.numbers.find(HOTLINE).voice_fallback_url)
    assert "New gas advice: leave at once." in hosted and "新的燃气安全提示" in hosted

    hotline.settings = replace(hotline.settings, duty_engineer_number="+8613911112222")
    assert keeper.keep(hotline)
    root = ET.fromstring(_document(sim.numbers.find(HOTLINE).voice_fallback_url))
    assert {dial.findtext("Number") for dial in root.iter("Dial")} == {"+8613911112222"}


def test_keeper_without_a_rest_client_does_nothing(hotline, sim):  # type: ignore[no-untyped-def]
    hotline.telephony = None
    assert not FallbackKeeper().keep(hotline)
    assert sim.numbers.updates == []


def test_publish_fallback_command_and_menu_publish(monkeypatch, settings, hotline, sim, tmp_path):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from ivr.configuration.menus.validation import load_menu_file
    from run import cli

    app = create_rest_app(sim)
    with serve_in_thread(app) as api:
        for name, value in {
            "DATABASE_URL": settings.database_url,
            "IVR_SPOOL_DIR": str(settings.spool_dir),
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": sim.account_sid,
            "TWILIO_API_BASE_URL": api,
            "IVR_TELEPHONY": "twilio",
            "IVR_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "IVR_HOTLINE_NUMBER": HOTLINE,
            "IVR_DUTY_ENGINEER_NUMBER": DUTY,
        }.items():
            monkeypatch.setenv(name, value)
        first = CliRunner().invoke(cli, ["publish-fallback"])
        assert first.exit_code == 0, first.output
        assert "hosted fallback updated" in first.output
        assert sim.numbers.find(HOTLINE).voice_fallback_url in first.output
        again = CliRunner().invoke(cli, ["publish-fallback"])
        assert "already in step" in again.output

        document = load_menu_file()
        advice = {"zh-CN": "命令行发布的提示。", "en-US": "Advice from the CLI."}
        document["prompts"] = {"safety_instructions": advice}
        path = tmp_path / "menu.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        published = CliRunner().invoke(cli, ["publish", "menu", str(path)])
        assert published.exit_code == 0, published.output
        assert "hosted fallback of +864008888888 republished" in published.output
        assert "Advice from the CLI." in _document(sim.numbers.find(HOTLINE).voice_fallback_url)

        monkeypatch.setenv("IVR_HOTLINE_NUMBER", "+864000000999")
        missing = CliRunner().invoke(cli, ["publish-fallback"])
        assert missing.exit_code == 1 and "no number +864000000999" in missing.output


def test_the_scheduler_keeps_it_in_step_from_the_start(hotline, sim, rest):  # type: ignore[no-untyped-def]
    from datetime import datetime

    from ivr.jobs.scheduler import build_scheduler, keep_hosted_fallback

    hotline.telephony = None
    assert build_scheduler(hotline).get_job("keep_hosted_fallback") is None  # the simulator: nothing to do
    hotline.telephony = rest[0]
    scheduler = build_scheduler(hotline)
    job = scheduler.get_job("keep_hosted_fallback")
    assert job is not None and job.trigger.interval.total_seconds() == 60
    assert job.next_run_time is not None and job.next_run_time.replace(tzinfo=None) <= datetime.now()
    assert keep_hosted_fallback(*job.args) == 1  # the first run publishes
    assert sim.numbers.find(HOTLINE).voice_fallback_url.startswith(ECHO_URL)
    assert keep_hosted_fallback(*job.args) == 0  # the same keeper: nothing changed, nothing sent
