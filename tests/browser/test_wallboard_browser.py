"""The wallboard on a 1920x1080 screen: very large figures, no scroll bar, no navigation; a gas-leak caller
(the simulator, over HTTP) appears at the top and in the safety queue without a reload; a supervisor lowers
the safety queue's limits on the form (1366x900) and the waiting figure turns amber, then red, with words.
Also the live board at 1920 and 1366 wide: two-line queue headings, no sideways scroll.
Screenshots: tests/browser/screenshots/wallboard-*.png, floor-board-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ivr.config import DEV_AUTH_TOKEN
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.telephony.callers import ScriptedCaller
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from tests.browser.conftest import Site, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
REFRESH_WAIT_MS = 8_000  # the wallboard polls every 3 s
WALL = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 900}
FIGURE_PX = 96  # "figures of about 100 px": readable from five metres
NO_SCROLL = (
    "[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
    " document.body.scrollWidth, document.body.scrollHeight]"
)
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# WCAG contrast of a box's text against its own background, computed in the page.
CONTRASTS = """boxes => boxes.map(box => {
  const rgb = text => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const linear = v => { v /= 255; return v <= .03928 ? v / 12.92 : ((v + .055) / 1.055) ** 2.4; };
  const lum = c => { const [r, g, b] = c.map(linear); return .2126 * r + .7152 * g + .0722 * b; };
  const fig = box.querySelector('.figure'), word = box.querySelector('.level');
  const back = lum(rgb(getComputedStyle(box).backgroundColor));
  const ratio = node => { const l = lum(rgb(getComputedStyle(node).color));
                          return (Math.max(l, back) + .05) / (Math.min(l, back) + .05); };
  return Math.min(ratio(fig), ratio(word));
})"""

# How many lines of text each cell holds (its content height over its line height).
LINES = """cells => cells.map(c => { const style = getComputedStyle(c);
  const inner = c.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return Math.round(inner / parseFloat(style.lineHeight)); })"""


@pytest.fixture
def supervisor(site: Site) -> str:
    with unit_of_work(site.hotline.sessions) as session:
        create_user(session, username="sup", role="supervisor", password=PASSWORD)
    return "sup"


def _signed_in(browser, site: Site, viewport: dict[str, int]):
    context = browser.new_context(locale="zh-CN", viewport=viewport)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(site.url + "/login")
    page.fill("input[name=username]", "sup")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def _gas_leak_caller_waiting(site: Site):
    """A caller presses 2 (gas leak) and holds in the safety queue: Twilio's side played by the simulator."""
    simulator = Simulator(
        HttpTransport(),
        auth_token=DEV_AUTH_TOKEN,
        voice_url=f"{site.url}/voice/incoming",
        status_callback_url=f"{site.url}/voice/status",
        fallback_url=f"{site.url}/voice/fallback",
    )
    call = simulator.start_call("+8613800000002", "+864008888888", ScriptedCaller(["2"], max_queue_loops=50))
    assert call.run_until_waiting(), "the gas-leak caller should be holding in the safety queue"
    return call


def _assert_fits_the_wall(page) -> None:
    page_width, page_height, body_width, body_height = extent = page.evaluate(NO_SCROLL)
    assert max(page_width, body_width) <= WALL["width"], extent
    assert max(page_height, body_height) <= WALL["height"], extent
    sizes = page.eval_on_selector_all(
        "#wall-queues .figure", "nodes => nodes.map(n => parseFloat(getComputedStyle(n).fontSize))"
    )
    assert len(sizes) == 15 and min(sizes) >= FIGURE_PX, sizes  # 5 queues x 3 figures
    clipped = page.eval_on_selector_all(
        "#wall-queues .figure-box",
        "boxes => boxes.filter(b => b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1)"
        ".map(b => b.closest('.queue').dataset.queue + ':' + b.dataset.figure)",
    )
    assert clipped == []  # nothing spills out of (or is cut off by) its box
    cut = page.eval_on_selector_all(
        "#wall-queues .what, #wall-queues .level, #wall-queues h2, #wall-agents .what span",
        "nodes => nodes.filter(n => n.scrollWidth > n.clientWidth + 1).map(n => n.textContent)",
    )
    assert cut == []  # no word cut short with an ellipsis
    contrasts = page.eval_on_selector_all("#wall-queues .figure-box", CONTRASTS)
    assert min(contrasts) >= 4.5, contrasts


def test_the_wallboard_on_a_wall_screen(browser, site, supervisor):
    wall_context, wall = _signed_in(browser, site, WALL)
    try:
        wall.goto(site.url + "/wallboard")
        queues = wall.locator("#wall-queues .queue")
        expect(queues).to_have_count(5)
        expect(wall.locator("header.top, nav")).to_have_count(0)  # no navigation on the wall
        safety = wall.locator('#wall-queues .queue[data-queue="safety"]')
        waiting = safety.locator('[data-figure="waiting"]')
        expect(waiting.locator(".figure")).to_have_text("0")
        expect(waiting).to_have_attribute("data-level", "ok")
        expect(waiting.locator(".level")).to_have_text("✓ 正常 / OK")
        expect(wall.locator("#wall-emergencies .none")).to_be_visible()
        expect(wall.locator('#wall-agents [data-state="available"] .count')).to_have_text("6")
        _assert_fits_the_wall(wall)
        wall.evaluate("window.wallMarker = 'not reloaded'")  # gone if the page were loaded again

        # A gas-leak caller phones in and waits in the safety queue (no dispatcher runs in this test).
        call = _gas_leak_caller_waiting(site)
        expect(waiting.locator(".figure")).to_have_text("1", timeout=REFRESH_WAIT_MS)
        emergency = wall.locator(f'#wall-emergencies li[data-call="{call.sid}"]')
        # The caller's last digits only, on a wall; the wait as a clock.
        expect(emergency).to_have_text(re.compile(r"^⚠ \d\d:\d\d:\d\d · …0002 · 等待中 / waiting \d+:\d\d$"))
        expect(wall.locator("#wall-emergencies")).to_have_class(re.compile(r"\blive\b"))
        expect(wall.locator("#wall-emergency-count")).to_have_text("1")
        expect(waiting.locator(".what")).to_have_text("等待 / Waiting ⚠1 燃气/gas")
        expect(waiting).to_have_attribute("data-level", "ok")  # 1 waiting: under the built-in amber of 3
        expect(safety.locator('[data-figure="longest_wait"] .figure')).not_to_have_text(
            "0:00", timeout=REFRESH_WAIT_MS
        )
        _assert_fits_the_wall(wall)
        screenshot(wall, "wallboard-1920")

        # The supervisor lowers the safety queue's limits on the form, on a laptop.
        form_context, form = _signed_in(browser, site, LAPTOP)
        try:
            form.goto(site.url + "/wallboard/thresholds")
            form.fill('input[name="safety.waiting_amber"]', "1")
            form.fill('input[name="safety.waiting_red"]', "3")
            form.get_by_role("button", name="保存 / Save").click()
            expect(form.locator("p.flash.ok")).to_contain_text("已保存 / Saved: safety")
            expect(form.locator('input[name="safety.waiting_amber"]')).to_have_value("1")
            assert form.evaluate(NO_SIDEWAYS_SCROLL)
            screenshot(form, "wallboard-thresholds-1366")

            expect(waiting).to_have_attribute("data-level", "amber", timeout=REFRESH_WAIT_MS)
            expect(waiting.locator(".level")).to_have_text("▲ 注意 / Watch")
            assert waiting.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 193, 7)"
            expect(wall.locator('.queue[data-queue="billing"] [data-figure="waiting"]')).to_have_attribute(
                "data-level", "ok"
            )  # the other queues keep every queue's limits

            form.fill('input[name="safety.waiting_red"]', "1")
            form.get_by_role("button", name="保存 / Save").click()
            expect(form.locator("p.flash.ok")).to_contain_text("已保存 / Saved: safety")
            expect(waiting).to_have_attribute("data-level", "red", timeout=REFRESH_WAIT_MS)
            expect(waiting.locator(".level")).to_have_text("■ 超限 / Over limit")
            assert waiting.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(183, 28, 28)"

            form.fill('input[name="safety.waiting_red"]', "0")  # refused, with the reason, nothing saved
            form.get_by_role("button", name="保存 / Save").click()
            expect(form.locator("#limit-problems")).to_contain_text("至少为 1 / must be at least 1")
        finally:
            form_context.close()
        _assert_fits_the_wall(wall)
        screenshot(wall, "wallboard-1920-red")
        assert wall.evaluate("window.wallMarker") == "not reloaded"  # all of it without reloading the page
    finally:
        wall_context.close()


def test_the_live_board_reads_at_1920_and_fits_1366(browser, site, supervisor):
    for viewport, name in ((WALL, "floor-board-1920"), (LAPTOP, "floor-board-1366")):
        context, page = _signed_in(browser, site, viewport)
        try:
            page.goto(site.url + "/console/board")
            expect(page.locator("#board-queues tbody tr")).to_have_count(5)
            assert page.evaluate(NO_SIDEWAYS_SCROLL)
            table = page.locator("#board-queues")
            assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")  # no scroll in its box
            headings = page.eval_on_selector_all("#board-queues thead tr:last-child th", LINES)
            assert max(headings) == 2, headings  # Chinese over English: never a four-line stack
            names = page.eval_on_selector_all("#board-queues tbody td:first-child", LINES)
            assert names == [1] * 5, names  # "燃气安全 / Safety" on one line
            if viewport is WALL:
                cell = page.locator("#board-queues tbody td").first
                size = cell.evaluate("td => parseFloat(getComputedStyle(td).fontSize)")
                assert size >= 17, size  # larger print on a wide screen
                width = page.eval_on_selector("main", "m => m.getBoundingClientRect().width")
                assert width >= 1700, width  # the board uses the wide screen
            screenshot(page, name)
        finally:
            context.close()
