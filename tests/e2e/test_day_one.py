"""Day one, as `make run` gives it: `init-db --demo`, then `run.py serve` (gunicorn and the scheduler process,
IVR_TELEPHONY=simulator). Yesterday's audit sample is drawn at start, a sampled recording plays (a WAV the
built-in simulator makes, the playback logged), and the demo satisfaction call-backs are placed by the
server's simulator, answered, and their answers kept."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import wave
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from ivr.config import Settings
from ivr.db.models import AuditItem, AuditSample, CallbackJob, PlaybackLog, Recording, SurveyResponse
from ivr.db.session import unit_of_work
from ivr.hotline import Hotline
from ivr.people.user_admin import create_user
from tests.server_process import ROOT, Server

PASSWORD = "correct horse battery"


def _wait_for(check, seconds: float, what: str, server: Server):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what} within {seconds} s; the server said:\n" + server.log.read_text()[-4000:])


def _log_in(base: str, username: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert token, form
    answer = browser.post(
        f"{base}/login",
        data={"csrf_token": token.group(1), "username": username, "password": PASSWORD},
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return browser


def test_make_run_draws_yesterdays_sample_plays_a_recording_and_places_the_call_backs(database_url, tmp_path):
    env = {
        "DATABASE_URL": database_url,
        "IVR_INSTANCE_DIR": str(tmp_path / "instance"),
        # The demo call-backs are due on the 3rd day after their completion, in the calling window: open
        # all day here, so the test does not depend on the hour it runs at.
        "IVR_CALLBACK_WINDOW": "00:00-23:59",
        # No public address, as under `make run`: the call-backs' URLs name 127.0.0.1:5000, and the simulator
        # takes them to the port the server listens on (the demo users' password is for loopback only).
        "IVR_PUBLIC_BASE_URL": "",
        "IVR_SIMULATOR_PHONES": "1",  # as `make run` starts the server: terminal phones may attach
    }
    init = [sys.executable, "run.py", "init-db", "--demo"]
    done = subprocess.run(init, cwd=ROOT, env=os.environ | env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "demo calls:" in done.stdout
    hotline = Hotline.build(Settings(database_url=database_url))
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="qa", role="quality", password=PASSWORD)
    server = Server(
        database_url,
        tmp_path,
        tmp_path / "serve.log",
        serve=True,
        IVR_SCHEDULER_IN_PROCESS="1",
        IVR_OUTBOUND_CPS="20",
        IVR_RECORDINGS_DIR=str(tmp_path / "recordings"),
        **env,
    )
    base = f"http://127.0.0.1:{server.port}"
    try:
        yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()

        def sample_items() -> list[int]:
            with hotline.sessions() as session:
                return list(
                    session.scalars(
                        select(AuditItem.recording_id)
                        .join(AuditSample, AuditSample.id == AuditItem.sample_id)
                        .where(AuditSample.day == yesterday)
                    )
                )

        items = _wait_for(sample_items, 30, "yesterday's audit sample drawn at start", server)
        assert len(items) >= 3

        # A sampled recording plays: the simulator makes its audio, as long as the call (capped at 90 s).
        reviewer = _log_in(base, "qa")
        heard = reviewer.get(f"{base}/recordings/{items[0]}/audio", timeout=30)
        assert heard.status_code == 200, heard.text[:500]
        assert heard.headers["Content-Type"].startswith("audio/wav")
        with wave.open(io.BytesIO(heard.content)) as audio:
            seconds = audio.getnframes() / audio.getframerate()
            assert audio.getnchannels() == 2  # an agent call: caller and agent each on a channel
        with hotline.sessions() as session:
            recording = session.get(Recording, items[0])
            assert recording is not None and recording.duration_seconds
            assert recording.recording_sid.startswith("REdemo")
            assert seconds == min(recording.duration_seconds, 90)
            logged = session.scalars(select(PlaybackLog.recording_id)).all()
        assert logged == [items[0]]

        # The three demo call-backs are placed by the server's simulator; the customers answer.
        def surveyed() -> int:
            with hotline.sessions() as session:
                done = session.scalar(
                    select(func.count()).select_from(CallbackJob).where(CallbackJob.status == "completed")
                )
                return done if done == 3 else 0

        _wait_for(surveyed, 60, "the 3 demo call-backs completed", server)
        with hotline.sessions() as session:
            answers = session.scalars(select(SurveyResponse)).all()
        assert len(answers) == 3
        assert all(a.attitude and a.ability and a.finished_at for a in answers)
        assert all(a.called_at <= datetime.now(UTC).replace(tzinfo=None) for a in answers)
        assert "call-backs not placed" not in server.log.read_text()
    finally:
        server.stop()
        hotline.engine.dispose()
