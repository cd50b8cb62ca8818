"""Day one in a browser: after `init-db --demo` and `run.py serve` (as `make run` starts them), the quality
staff open the review queue, yesterday's sample drawn at start, and a demo recording PLAYS: the audio comes
from the built-in simulator, the player's time runs, and the playback is logged."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from ivr.config import Settings
from ivr.db.models import AuditSample, PlaybackLog
from ivr.db.session import unit_of_work
from ivr.hotline import Hotline
from ivr.people.user_admin import create_user
from tests.browser.conftest import screenshot
from tests.server_process import ROOT, Server

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def day_one(tmp_path):  # type: ignore[no-untyped-def]
    """`init-db --demo` on a fresh SQLite database, a quality user, then `run.py serve` with its scheduler."""
    database = f"sqlite:///{tmp_path / 'hotline.db'}"
    # No public address, as `make run` has none (the demo users' published password is for loopback only).
    env = {"DATABASE_URL": database, "IVR_INSTANCE_DIR": str(tmp_path / "instance")}
    env["IVR_PUBLIC_BASE_URL"] = ""
    init = [sys.executable, "run.py", "init-db", "--demo"]
    subprocess.run(init, cwd=ROOT, env=os.environ | env, check=True, capture_output=True)
    hotline = Hotline.build(Settings(database_url=database))
    with unit_of_work(hotline.sessions) as session:
        create_user(session, username="qa", role="quality", password=PASSWORD)
    log = tmp_path / "serve.log"
    server = Server(database, tmp_path, log, serve=True, IVR_SCHEDULER_IN_PROCESS="1", **env)
    try:
        yesterday = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with hotline.sessions() as session:
                if session.scalar(select(AuditSample.id).where(AuditSample.day == yesterday)):
                    break
            time.sleep(0.5)
        else:
            raise AssertionError("no sample of yesterday drawn at start:\n" + server.log.read_text()[-3000:])
        yield f"http://127.0.0.1:{server.port}", hotline, yesterday
    finally:
        server.stop()
        hotline.engine.dispose()


def test_quality_staff_play_a_recording_of_yesterdays_sample(browser, day_one):  # type: ignore[no-untyped-def]
    base, hotline, yesterday = day_one
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(base + "/login")
        page.fill("input[name=username]", "qa")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()

        # The review queue opens on yesterday's sample, with calls waiting for a score.
        page.goto(base + "/quality")
        expect(page.locator("p.summary")).to_contain_text(yesterday.isoformat())
        rows = page.locator("tr.sampled-call")
        expect(rows.first).to_be_visible()
        assert rows.count() >= 3
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, "day-one-1-review-queue")

        # A call's page: press play, and the recording plays.
        rows.first.get_by_role("link", name="评分 / Score").click()
        audio = page.locator("audio.recording")
        expect(audio).to_be_visible()
        audio.evaluate("element => element.play()")
        deadline = time.monotonic() + 10  # polled from here: the pages' CSP allows no string evaluation
        while audio.evaluate("element => element.currentTime") <= 0.5 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert audio.evaluate("element => element.currentTime") > 0.5  # it plays: its time runs
        assert audio.evaluate("element => element.error") is None
        assert audio.evaluate("element => element.duration") > 10  # a demo call: a minute or more of talk
        assert not audio.evaluate("element => element.paused")
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, "day-one-2-playing")
        with hotline.sessions() as session:
            assert session.scalars(select(PlaybackLog.call_sid)).all()  # the endpoint logged who listened
    finally:
        context.close()
