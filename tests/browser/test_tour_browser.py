"""Day one, page by page: `init-db --demo` and `run.py serve` (as `make run` starts them), then each demo
role logs in and opens every page its navigation bar offers, at 1366x900.

Every link opens (no 403, no 500), no page scrolls sideways or has a box sticking out of the window, no
text spills out of its box, and a recording player on a page has audio behind it (no 503). The
screenshots are kept (tests/browser/screenshots/tour-*.png); with IVR_DOCS_SCREENSHOTS set to a folder
(`make screenshots`), a copy of each goes there for docs/users.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.people.demo_users import DEMO_PASSWORD, DEMO_USERS
from tests.browser.conftest import docs_screenshot, screenshot
from tests.server_process import ROOT, Server

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# Boxes whose right edge is beyond the window, unless a scrolling (or clipping) box inside the window
# holds them: a wide table in its own scroll box is fine, one that pushes past the window is not.
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth, found = [];
  for (const el of document.querySelectorAll('body *')) {
    const box = el.getBoundingClientRect();
    if (!box.width || box.right <= width + 1 || !el.checkVisibility()) continue;
    let held = false;
    for (let up = el.parentElement; up && !held; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      held = overflow !== 'visible' && up.getBoundingClientRect().right <= width + 1;
    }
    if (!held) found.push(`${el.tagName.toLowerCase()}.${el.className} (right ${Math.round(box.right)})`);
  }
  return found.slice(0, 5);
}"""
# Text wider than the box that holds it, drawn over its neighbours (a box that clips or scrolls is fine).
SPILLING_TEXT = """() => {
  const found = [];
  for (const el of document.querySelectorAll('main *')) {
    const style = getComputedStyle(el);
    if (el.closest('svg') || style.display === 'inline' || style.overflowX !== 'visible') continue;
    if (!el.clientWidth || !el.checkVisibility()) continue;
    const hasText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (hasText && el.scrollWidth > el.clientWidth + 2) {
      found.push(`${el.tagName.toLowerCase()}.${el.className}: "${el.textContent.trim().slice(0, 40)}"`);
    }
  }
  return found.slice(0, 5);
}"""


@pytest.fixture(scope="module")
def made_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`init-db --demo` on a fresh SQLite database, then `run.py serve` with its scheduler: `make run`."""
    folder = tmp_path_factory.mktemp("made-run")
    database = f"sqlite:///{folder / 'hotline.db'}"
    env = {"DATABASE_URL": database, "IVR_INSTANCE_DIR": str(folder / "instance"), "IVR_PUBLIC_BASE_URL": ""}
    init = [sys.executable, "run.py", "init-db", "--demo"]
    subprocess.run(init, cwd=ROOT, env=os.environ | env, check=True, capture_output=True)
    server = Server(database, folder, folder / "serve.log", serve=True, IVR_SCHEDULER_IN_PROCESS="1", **env)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


# The guide shows the wallboard at 1920 (its own test) and the agents' list through the shift lead's eyes.
_NOT_IN_THE_GUIDE = {"page-wallboard", "page-agent-admin", "page-agent-supervisor"}


def _keep(page: Any, role: str, path: str) -> None:
    """The test's screenshot, and one picture of each page for the user guide (a home and the agent page
    are each role's own; the other pages are the same for every role that opens them)."""
    screenshot(page, f"tour-{role}-{_slug(path)}")
    name = f"page-{_slug(path)}" + (f"-{role}" if path in ("/home", "/agent") else "")
    folder = os.environ.get("IVR_DOCS_SCREENSHOTS")
    if folder and name not in _NOT_IN_THE_GUIDE and not (Path(folder) / f"{name}.jpg").exists():
        docs_screenshot(page, name)


# One user of each role (the second agent, zhao, sees what chen sees).
ROLES = [(name, role) for name, role, _ in DEMO_USERS if name != "zhao"]


@pytest.mark.parametrize(("username", "role"), ROLES)
def test_every_page_of_the_bar_opens_and_fits_1366(browser, made_run, username, role):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    try:
        page.goto(made_run + "/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        links = page.eval_on_selector_all(
            "nav.main-nav a[href]", "links => [...new Set(links.map(a => a.getAttribute('href')))]"
        )
        assert len(links) >= 3, f"{username} sees a bar of {links}"
        for path in links:
            answer = page.goto(made_run + path)
            page.wait_for_load_state("networkidle")
            status = answer.status if answer else 0
            if status != 200:
                problems.append(f"{path}: HTTP {status}")
                continue
            _keep(page, role, path)
            if not page.evaluate(NO_SIDEWAYS_SCROLL):
                problems.append(f"{path}: scrolls sideways at 1366")
            if out := page.evaluate(STICKING_OUT):
                problems.append(f"{path}: sticking out of the window: {out}")
            if spilled := page.evaluate(SPILLING_TEXT):
                problems.append(f"{path}: text spilling out of its box: {spilled}")
            # What a fold (<details>) holds must fit too, once opened.
            if page.evaluate("[...document.querySelectorAll('main details')].map(d => d.open = true).length"):
                if not page.evaluate(NO_SIDEWAYS_SCROLL):
                    problems.append(f"{path}: scrolls sideways at 1366 with its folds open")
                if out := page.evaluate(STICKING_OUT):
                    problems.append(f"{path}: sticking out of the window with its folds open: {out}")
            players = page.eval_on_selector_all("audio[src], audio source[src]", "a => a.map(e => e.src)")
            for source in players[:2]:
                played = page.request.get(source)
                if played.status != 200:
                    problems.append(f"{path}: the player's audio {source} answers {played.status}")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
