"""Browser tests: the real app served by werkzeug in a thread, driven by Playwright with Debian's chromium.

`make test` installs chromium with apt-get when /usr/bin/chromium is missing; where it cannot be
installed these tests are skipped, saying so. Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
import struct
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from ivr.app import create_app
from ivr.config import Settings
from ivr.configuration.menus.store import seed_default_menu
from ivr.configuration.rules.store import publish_rules
from ivr.db import migrate
from ivr.db.demo import load_demo_data
from ivr.db.session import make_engine, unit_of_work
from ivr.hotline import Hotline
from tests.helpers import open_all_day_rules

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # The test presses play from a script, not a click: let the recording start without a gesture.
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).with_name("screenshots")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the pages in chromium (tests/browser)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright, headless; skipped (with the reason) when it is not installed."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(
            f"{CHROMIUM} is not installed and could not be (`make test` runs `apt-get install -y chromium` "
            "as root): the browser tests need Debian's chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(10_000)
    opened = context.new_page()
    yield opened
    context.close()


@dataclass
class Site:
    """The running app: its base URL and the hotline behind it (for preparing and checking rows)."""

    url: str
    hotline: Hotline


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """The hotline on a fresh SQLite database, served on 127.0.0.1 at a free port."""
    database = tmp_path / "hotline.db"
    engine = make_engine(f"sqlite:///{database}")
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(
        database_url=f"sqlite:///{database}",
        spool_dir=tmp_path / "spool",
        recordings_dir=tmp_path / "recordings",
        scheduler_in_process=False,
    )
    hotline = Hotline.build(settings)
    with unit_of_work(hotline.sessions) as session:
        seed_default_menu(session)
        publish_rules(session, open_all_day_rules(), note="tests: the default rules, open all day")
        load_demo_data(session)
    app = create_app(hotline=hotline)
    app.config["SECRET_KEY"] = "browser-test-secret-key"  # not the instance dir's key file
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-server", daemon=True)
    thread.start()
    try:
        yield Site(url=f"http://127.0.0.1:{server.server_port}", hotline=hotline)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        hotline.engine.dispose()


def write_wav(path: Path, seconds: float = 1.0, rate: int = 8000) -> None:
    """A short mono 8 kHz PCM tone, like a telephone recording."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * rate)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        # A square wave at 400 Hz: plain integers, no maths library needed.
        samples = (8000 if (i * 400 * 2 // rate) % 2 else -8000 for i in range(frames))
        audio.writeframes(b"".join(struct.pack("<h", s) for s in samples))


# docs/users.md shows these moments of the tests besides one picture of each page (the tour's): with
# IVR_DOCS_SCREENSHOTS set to a folder (`make screenshots`), a small JPEG copy of each goes there.
DOCS_MOMENTS = {
    "agent-page-1-connected-caller",
    "agent-page-2-disposition-recorded",
    "2-scoring",
    "day-one-2-playing",
    "users-3-link",
    "agents_form",
    "agents_import_report",
    "customers_import_report",
    "customers_page",
    "callbacks-job",
    "callbacks-import-preview",
    "menu-diagram-draft-test-call",
    "console-menu-diff",
    "wallboard-1920",
    "desks-4-order-history",
    "console-announcements-2-storm-on",
}


def screenshot(page: Any, name: str) -> None:
    """Keep what the page looked like (tests/browser/screenshots/, git-ignored; docs/screenshots/ for the
    moments the user guide shows, when IVR_DOCS_SCREENSHOTS asks)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if name in DOCS_MOMENTS:
        docs_screenshot(page, name)


def docs_screenshot(page: Any, name: str) -> None:
    """A small JPEG of the page for the user guide, when IVR_DOCS_SCREENSHOTS names the folder."""
    folder = os.environ.get("IVR_DOCS_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.jpg"), type="jpeg", quality=60, full_page=True)
