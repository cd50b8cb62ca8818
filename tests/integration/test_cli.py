"""The command line: init-db, check-config, serve's start-up check, calls."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from ivr.cli.main import cli
from ivr.configuration.menus.validation import load_menu_file
from ivr.db.models import MenuVersion
from ivr.db.session import unit_of_work
from tests.helpers import new_call_sid, twiml


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """The CLI reads its settings from the environment: point it at the test database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)
    monkeypatch.setenv("IVR_TELEPHONY", "simulator")
    return hotline


def test_check_config_passes_on_the_shipped_configuration(env):
    result = CliRunner().invoke(cli, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "configuration ok" in result.output


def test_check_config_names_node_and_problem_of_a_bad_menu_file(env, tmp_path):
    document = copy.deepcopy(load_menu_file())
    document["nodes"]["billing"]["options"][0]["target"] = "billing_faq"
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check-config", "--menu", str(path)])
    assert result.exit_code == 1
    assert "nodes.billing: leads to 'billing_faq', which does not exist" in result.output


def test_serve_refuses_an_invalid_live_menu(env):
    document = copy.deepcopy(load_menu_file())
    del document["nodes"]["main"]["options"][1]  # the gas-leak key
    with unit_of_work(env.sessions) as session:  # stored behind validation's back, as a broken database might
        session.add(MenuVersion(version=2, schema_version=1, name="broken", document=document, checksum="x"))
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 1
    assert (
        "refusing to start: live menu version 2: nodes.main: "
        "the gas-leak choice must be one key from the root" in result.output
    )


def test_calls_lists_records_with_filters(env, twilio):
    sid = new_call_sid()
    twiml(twilio.post("/voice/incoming", call_sid=sid, caller="+8613800000005"))
    result = CliRunner().invoke(cli, ["calls", "--number", "0000005"])
    assert result.exit_code == 0 and sid[:14] in result.output and "+8613800000005" in result.output
    none = CliRunner().invoke(cli, ["calls", "--intent", "safety"])
    assert "no calls" in none.output


def test_call_command_phones_the_hotline_with_a_script(env):
    result = CliRunner().invoke(
        cli, ["call", "--keys", "9,s:I smell gas", "--from", "+8613800000004", "--wait-loops", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "[say en-US/Polly.Joanna-Neural] Close the gas valve now." in result.output
    # in-process, the phone runs the dispatcher too: the safety agent takes the call
    assert "dialled client:agent-zhaolei (completed)" in result.output
    listed = CliRunner().invoke(cli, ["calls", "--intent", "safety"])
    assert "+8613800000004" in listed.output and "EMERGENCY" in listed.output


def test_call_command_interactive_reads_keys_from_the_terminal(env):
    result = CliRunner().invoke(cli, ["call"], input="1\n1\nq\n")
    assert result.exit_code == 0, result.output
    assert "居民用气价格" in result.output and "caller hung up" in result.output


def test_check_config_names_missing_twilio_account(env, monkeypatch):
    monkeypatch.setenv("IVR_TELEPHONY", "twilio")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    result = CliRunner().invoke(cli, ["check-config"])
    assert result.exit_code == 1
    assert "IVR_TELEPHONY=twilio needs TWILIO_ACCOUNT_SID" in result.output


def test_publish_makes_a_valid_file_live_and_refuses_a_broken_one(env, tmp_path):
    from ivr.configuration.menus.store import live_version
    from ivr.configuration.rules.store import live_rules_row
    from ivr.configuration.rules.validation import DEFAULT_RULES_FILE

    good = CliRunner().invoke(
        cli, ["publish", "rules", str(DEFAULT_RULES_FILE), "--by", "lead", "--note", "n"]
    )
    assert good.exit_code == 0, good.output
    assert "rules version 2 is live" in good.output
    document = copy.deepcopy(load_menu_file())
    document["root"] = "nowhere"
    broken = tmp_path / "menu.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    refused = CliRunner().invoke(cli, ["publish", "menu", str(broken)])
    assert refused.exit_code == 1 and "root: node 'nowhere' does not exist" in refused.output
    with env.sessions() as session:
        assert live_version(session).version == 1, "nothing half-published"
        row = live_rules_row(session)
        assert row.version == 2 and row.created_by == "lead"


def test_demo_call_backs_can_be_tried_from_the_command_line(env, settings):
    from ivr.db.demo import load_demo_callbacks

    with unit_of_work(env.sessions) as session:
        assert load_demo_callbacks(session, settings) == 3  # the demo completions, drawn, with their jobs
        assert load_demo_callbacks(session, settings) == 0  # once
    done = CliRunner().invoke(cli, ["callbacks", "try", "1", "--keys", "1,8,10,1,2,#"])
    assert done.exit_code == 0, done.output
    assert "job 1: completed" in done.output
    assert "answers: attitude=8 ability=10 on_time=True charged=False" in done.output
    again = CliRunner().invoke(cli, ["callbacks", "try", "1"])
    assert again.exit_code == 1 and "its status is completed" in again.output
    machine = CliRunner().invoke(cli, ["callbacks", "try", "2", "--answered-by", "machine_start"])
    assert machine.exit_code == 0 and "job 2: queued (no-answer (machine_start))" in machine.output
