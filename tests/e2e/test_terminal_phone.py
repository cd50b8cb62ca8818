"""`run.py call --url` against a running server (`run.py serve`, as `make run` starts it): the caller lives
in real time, so the server's waits are the caller's waits, and the server's dispatcher reaches the call
through the phone's attached REST API (issue 17: a gas-leak caller was dialled to the duty engineer in
0.3 s while six agents were idle). `run.py why` then tells where each call went."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from ivr.cli.phone import call_server
from ivr.config import Settings
from ivr.db.models import Agent
from ivr.queueing.agent_states import set_state
from ivr.telephony.callers import ScriptedCaller
from tests.e2e.test_app_killed import ToServer
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN
from tests.server_process import ROOT, Server, init_demo_without_logins

DUTY = "+8613900000000"
SAFETY_WAIT = 12  # IVR_SAFETY_QUEUE_MAX_WAIT for this server: seconds from pressing 2 to the duty engineer


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    database_url = f"sqlite:///{tmp_path}/hotline.db"
    env = os.environ | {"DATABASE_URL": database_url, "IVR_INSTANCE_DIR": str(tmp_path / "instance")}
    init_demo_without_logins(env)
    server = Server(
        database_url,
        tmp_path,
        tmp_path / "serve.log",
        serve=True,
        IVR_SCHEDULER_IN_PROCESS="1",
        IVR_SIMULATOR_PHONES="1",
        IVR_SAFETY_QUEUE_MAX_WAIT=str(SAFETY_WAIT),
    )
    try:
        yield server, database_url
    finally:
        server.stop()


def _why(database_url: str, call_sid: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "run.py", "why", call_sid],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _phone(server: Server, *keys: str, wait_loops: int = 3):  # type: ignore[no-untyped-def]
    settings = Settings(twilio_auth_token=TEST_AUTH_TOKEN)
    caller = ScriptedCaller(list(keys), max_queue_loops=wait_loops)
    began = time.monotonic()
    result = call_server(
        PUBLIC_BASE_URL,
        settings,
        "+8613800000004",
        "+864008888888",
        caller,
        transport=ToServer(server.port),
        talk_seconds=1,
    )
    return result, time.monotonic() - began


def test_a_gas_leak_caller_reaches_an_idle_agent_then_waits_the_real_time_when_none_is_free(served) -> None:  # type: ignore[no-untyped-def]
    server, database_url = served
    result, wall = _phone(server, "2")
    agents = [entry.text for entry in result.transcript if entry.kind == "dial"]
    assert agents and agents[0].startswith("client:agent-"), result.transcript
    assert DUTY not in " ".join(agents)
    # The call's own clock ran with the wall clock (real time), not ahead of it.
    assert result.duration <= wall + 1
    story = _why(database_url, result.call_sid)
    assert story.returncode == 0 and "reached agent" in story.stdout, story.stdout + story.stderr

    with Session(create_engine(database_url)) as session, session.begin():
        for agent in session.scalars(select(Agent)):
            set_state(session, agent, "break", reason="meeting")  # nobody free now
    result, wall = _phone(server, "2", wait_loops=10)
    pressed = next(e.at for e in result.entries("input") if e.detail.get("type") == "digits")
    dial = next(e for e in result.transcript if e.kind == "dial")
    assert DUTY in dial.text
    # The safety wait lasted as long on the caller's side as the server promised: not 0.3 s.
    assert dial.at is not None and dial.at - pressed >= SAFETY_WAIT - 1
    assert wall >= SAFETY_WAIT
    story = _why(database_url, result.call_sid)
    assert story.returncode == 0, story.stderr
    assert "the duty engineer was dialled" in story.stdout
    assert "agents when the caller was queued: 6 break" in story.stdout, story.stdout
