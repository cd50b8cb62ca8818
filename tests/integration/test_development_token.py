"""The development auth token is public: no server Twilio could reach starts with it (issue 13, point 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.app import UnsafeSettings, create_app
from ivr.config import DEV_AUTH_TOKEN, Settings, development_token_problems
from run import cli

ROOT = Path(__file__).resolve().parents[2]
SID = "AC" + "0" * 32


@pytest.fixture
def env(monkeypatch, settings, hotline):
    """The CLI's environment as an operator leaves it: a database, and no TWILIO_AUTH_TOKEN."""
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "IVR_TELEPHONY", "IVR_PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IVR_SPOOL_DIR", str(settings.spool_dir))
    return hotline


def _twilio_without_token(monkeypatch) -> None:
    monkeypatch.setenv("IVR_TELEPHONY", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("IVR_PUBLIC_BASE_URL", "https://hotline.example.com")


def test_check_config_fails_naming_the_token_when_twilio_could_call(env, monkeypatch):
    _twilio_without_token(monkeypatch)
    result = CliRunner().invoke(cli, ["check-config"])
    assert result.exit_code == 1, result.output
    assert "configuration ok" not in result.output
    assert "problem: TWILIO_AUTH_TOKEN is not set (IVR_TELEPHONY=twilio" in result.output
    # --no-db checks the settings all the same
    assert CliRunner().invoke(cli, ["check-config", "--no-db"]).exit_code == 1


def test_serve_and_scheduler_refuse_to_start(env, monkeypatch):
    _twilio_without_token(monkeypatch)
    for command in (["serve", "--port", "0", "--no-scheduler"], ["scheduler"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 1, result.output
        assert "refusing to start: TWILIO_AUTH_TOKEN is not set" in result.output


def test_the_development_token_given_by_name_is_refused_too(env, monkeypatch):
    _twilio_without_token(monkeypatch)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", DEV_AUTH_TOKEN)
    assert CliRunner().invoke(cli, ["check-config"]).exit_code == 1


def test_serve_refuses_to_listen_beyond_this_machine_with_the_development_token(env):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "0", "--no-scheduler"])
    assert result.exit_code == 1
    assert "TWILIO_AUTH_TOKEN is not set (it listens on 0.0.0.0)" in result.output


def test_make_run_needs_no_settings(env):
    """The simulator on this machine: the development token is fine."""
    result = CliRunner().invoke(cli, ["check-config"])
    assert result.exit_code == 0, result.output
    assert "configuration ok" in result.output
    assert development_token_problems(Settings(), listen_host="127.0.0.1") == []
    local = Settings(public_base_url="http://127.0.0.1:5000")
    assert development_token_problems(local) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"telephony": "twilio"},
        {"twilio_account_sid": SID},
        {"public_base_url": "https://hotline.example.com"},
        {"public_base_url": "http://203.0.113.7:5000"},
    ],
)
def test_create_app_refuses_each_way_twilio_could_reach_it(changes, tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'h.db'}", **changes)
    with pytest.raises(UnsafeSettings, match="TWILIO_AUTH_TOKEN is not set"):
        create_app(settings)
    assert create_app(settings.with_overrides(twilio_auth_token="a-real-token-0123456789")) is not None


def test_gunicorn_workers_do_not_boot(tmp_path):
    """gunicorn's create_app path: the master exits, naming the setting, and answers nobody."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_", "DATABASE_URL"))},
        "IVR_TELEPHONY": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "IVR_PUBLIC_BASE_URL": "https://hotline.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
        "IVR_INSTANCE_DIR": str(tmp_path),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    done = subprocess.run(
        [str(gunicorn), "-w", "1", "-b", "127.0.0.1:0", "ivr.app:create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in done.stderr
