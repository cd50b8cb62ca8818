"""The menu as a picture, at 1366x900: the flow diagram beside the tree (one SVG node per menu node, edges
labelled with keys, the gas-leak path marked in red AND in words), the draft/published toggle showing the
draft's change, a node clicked opens its card, and the test call's transcript stays in view while keys are
pressed, at the top of the page and scrolled down. Screenshots kept, none with a horizontal scroll."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from ivr.configuration.menus.store import live_version
from tests.browser.conftest import SCREENSHOTS, Site, screenshot
from tests.browser.test_console_editor_browser import saved, sign_in

pytestmark = pytest.mark.browser

NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
GAS_RED = "rgb(198, 40, 40)"


def live_document(site: Site) -> dict[str, Any]:
    with site.hotline.sessions() as session:
        row = live_version(session)
        assert row is not None
        return dict(row.document)


def diagram_edge(page, source: str, key: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#menu-diagram svg g.edge[data-from='{source}'][data-key='{key}']")


def fits_the_window(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate(NO_HORIZONTAL_SCROLL), "the page scrolls sideways at 1366 wide"


def last_line_in_view(page) -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#transcript p").last.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= 900, box


def test_the_menu_as_a_diagram_beside_the_tree_with_the_test_call_in_view(page, site: Site) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    document = live_document(site)
    sign_in(page, site)

    # The live menu: one SVG node per menu node, each option an edge labelled with its key.
    page.goto(site.url + "/console/menu")
    nodes = page.locator("#menu-diagram svg g.diagram-node")
    expect(nodes).to_have_count(len(document["nodes"]))
    assert sorted(nodes.evaluate_all("els => els.map(e => e.dataset.node)")) == sorted(document["nodes"])
    for node_id, node in document["nodes"].items():
        for option in node.get("options", []):
            edge = diagram_edge(page, node_id, option["key"])
            expect(edge).to_have_count(1)
            expect(edge.locator(".key")).to_have_text(option["key"])
            assert edge.get_attribute("data-to") == option["target"]
    # Spoken phrases ride on their edge (all of them in its tooltip).
    expect(diagram_edge(page, "main", "1").locator("title")).to_contain_text("账单")

    # The gas-leak path: red, and said in words on the node and on every way to it.
    target = document["emergency"]["target"]
    gas_node = page.locator(f"#menu-diagram g.diagram-node[data-node='{target}']")
    expect(gas_node).to_have_class("diagram-node type-queue gas-leak")
    expect(gas_node).to_contain_text("燃气泄漏 / Gas leak")
    to_gas = page.locator(f"#menu-diagram svg g.edge[data-to='{target}']")
    expect(to_gas).to_have_count(2)  # key 2 of the main menu, key 3 of the complaint menu
    for index in range(2):
        expect(to_gas.nth(index)).to_have_class(re.compile(r"\bgas-leak\b"))
    stroke = "p => getComputedStyle(p).stroke"
    assert diagram_edge(page, "main", "2").locator("path").evaluate(stroke) == GAS_RED
    assert diagram_edge(page, "main", "1").locator("path").evaluate(stroke) != GAS_RED
    expect(diagram_edge(page, "main", "2").locator("title")).to_contain_text("燃气泄漏路径 / gas-leak path")
    expect(page.locator("#menu-diagram .ref.gas-leak[data-from='complaint']")).to_contain_text("⚠")
    expect(page.locator("#node-emergency > summary")).to_contain_text("燃气泄漏 / gas leak")
    fits_the_window(page)
    expect(page.locator("#menu-diagram g.diagram-node[data-node='main']")).to_be_in_viewport()
    page.locator("#menu-diagram").screenshot(path=str(SCREENSHOTS / "menu-diagram-card.png"))
    screenshot(page, "menu-diagram-live")

    # Clicking a node in the diagram opens its card in the tree.
    expect(page.locator("#node-billing")).not_to_have_attribute("open", "")
    page.locator("#menu-diagram g.diagram-node[data-node='billing']").click()
    expect(page.locator("#node-billing")).to_have_attribute("open", "")
    expect(page.locator("#node-billing form, #node-billing .option").first).to_be_in_viewport()

    # The draft: complaints move to key 5; the diagram redraws; the toggle shows the published one unchanged.
    page.goto(site.url + "/console/menu/draft")
    expect(diagram_edge(page, "main", "4")).to_have_count(1)
    fits_the_window(page)
    expect(page.locator("#menu-diagram g.diagram-node[data-node='main']")).to_be_in_viewport()
    box = page.locator("#menu-diagram .diagram-box")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")  # scaled to its column
    # At full size, beside the test call, the diagram scrolls inside its own box, never the page.
    page.locator("#menu-diagram button[data-zoom='full']").click()
    assert box.evaluate("b => b.scrollWidth > b.clientWidth")
    fits_the_window(page)
    page.locator("#menu-diagram button[data-zoom='fit']").click()
    page.locator("#node-main > summary").click()
    option = page.locator("#node-main form.option[data-key='4']")
    option.locator("input[name=key]").fill("5")
    option.get_by_role("button", name="保存 / Save").click()
    saved(page, "key '4' → '5'")
    expect(page.locator("#node-main form.option[data-key='5']")).to_be_visible()  # the card stayed open
    expect(diagram_edge(page, "main", "5")).to_have_attribute("data-to", "complaint")
    expect(diagram_edge(page, "main", "4")).to_have_count(0)
    page.locator("#menu-diagram button[data-of='live']").click()
    expect(page.locator("#menu-diagram svg")).to_have_attribute("data-of", "live")
    expect(diagram_edge(page, "main", "4")).to_have_attribute("data-to", "complaint")
    expect(diagram_edge(page, "main", "5")).to_have_count(0)
    expect(page.locator("#menu-diagram .diagram-caption")).to_contain_text("Version 1 (live)")
    page.locator("#menu-diagram button[data-of='draft']").click()
    expect(diagram_edge(page, "main", "5")).to_have_count(1)

    # The test call beside the diagram: its last line stays in view, and the diagram marks where it is.
    call = page.locator("#test-call")
    call.get_by_role("button", name="拨打 / Call").click()
    expect(call.locator("#transcript p[data-key='main_menu']")).to_have_count(1)
    last_line_in_view(page)
    call.locator("button[data-key='1']").click()
    expect(call.locator("#transcript p[data-key='billing_menu']")).to_have_count(1)
    expect(page.locator("#menu-diagram g.diagram-node.here")).to_have_attribute("data-node", "billing")
    last_line_in_view(page)
    call.locator("button[data-key='1']").click()
    expect(call.locator("#transcript p[data-key='billing_prices']")).to_have_count(1)
    last_line_in_view(page)
    fits_the_window(page)
    screenshot(page, "menu-diagram-draft-test-call")

    # Scrolled down to the last card of the tree, the panel is still beside it and the transcript in view.
    page.locator("#tree details.node").last.scroll_into_view_if_needed()
    page.mouse.wheel(0, 3000)
    page.wait_for_function("window.scrollY > 600")
    call.locator("button[data-key='0']").click()
    expect(call.locator("#transcript p[data-end='queue']")).to_contain_text("billing")
    last_line_in_view(page)
    expect(call.locator("button[data-key='1']")).to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "menu-diagram-draft-scrolled.png"))  # the window as it is
    fits_the_window(page)

