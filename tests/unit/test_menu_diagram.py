"""The flow diagram's data (ivr/configuration/menu_diagram.py): every node once, every way on as an edge with
its key and phrases, the layout's tree, references back/elsewhere, the gas-leak path, invalid drafts drawn."""

from __future__ import annotations

import copy
import tomllib

from ivr.configuration.menu_diagram import menu_diagram
from ivr.configuration.menus.validation import DEFAULT_MENU_FILE

DEFAULT = tomllib.loads(DEFAULT_MENU_FILE.read_text(encoding="utf-8"))


def edge(diagram, source: str, key: str = "", kind: str = "option"):  # type: ignore[no-untyped-def]
    found = [e for e in diagram["edges"] if e["source"] == source and e["key"] == key and e["kind"] == kind]
    assert len(found) == 1, found
    return found[0]


def test_every_node_once_and_every_option_an_edge_with_its_key_and_phrases() -> None:
    diagram = menu_diagram(DEFAULT)
    assert sorted(node["id"] for node in diagram["nodes"]) == sorted(DEFAULT["nodes"])
    assert diagram["nodes"][0]["id"] == "main" and diagram["nodes"][0]["roles"] == ["root"]
    nodes = DEFAULT["nodes"]
    options = [(n, o["key"], o["target"]) for n, raw in nodes.items() for o in raw.get("options", [])]
    drawn = [(e["source"], e["key"], e["target"]) for e in diagram["edges"] if e["kind"] == "option"]
    assert sorted(drawn) == sorted(options)
    billing = edge(diagram, "main", "1")
    assert "账单" in billing["phrases"] and "bill" in billing["phrases"]
    assert edge(diagram, "main", "9")["language"] == "en-US"


def test_what_each_node_does_in_words() -> None:
    nodes = {node["id"]: node for node in menu_diagram(DEFAULT)["nodes"]}
    assert nodes["billing_balance"]["does"] == "查余额（按来电号码） / Balance by caller number"
    assert nodes["repair_status"]["does"] == "工单进度 / Work-order status"
    assert nodes["billing_queue"]["detail"] == "billing · 优先级 / priority 5"
    assert "quality · 4 h" in nodes["complaint_quality"]["detail"]


def test_the_tree_and_the_references_back_repeat_and_elsewhere() -> None:
    diagram = menu_diagram(DEFAULT)
    assert edge(diagram, "main", "1")["relation"] == "child"  # billing is first reached from main
    assert edge(diagram, "main", "9")["relation"] == "self"  # the language switch repeats the menu
    assert edge(diagram, "billing", "*")["relation"] == "back"
    assert edge(diagram, "billing_account", "*", "back")["relation"] == "back"
    assert edge(diagram, "after_billing", "0")["relation"] == "jump"  # billing_queue is drawn under billing
    assert edge(diagram, "billing_balance", "", "on_missing")["label"] == "找不到时 / if not found"
    # Each reached node has exactly one edge of the tree into it; the starts have none.
    tree_targets = [e["target"] for e in diagram["edges"] if e["tree"]]
    assert sorted(tree_targets) == sorted(set(DEFAULT["nodes"]) - {"main"})


def test_the_gas_leak_path_is_marked() -> None:
    diagram = menu_diagram(DEFAULT)
    marked = {node["id"] for node in diagram["nodes"] if node["gas_leak"]}
    assert marked == {"emergency"}
    assert edge(diagram, "main", "2")["gas_leak"] and edge(diagram, "complaint", "3")["gas_leak"]
    assert not edge(diagram, "main", "1")["gas_leak"]
    assert "燃气泄漏" in diagram["emergency"]["phrases"] and diagram["emergency"]["target"] == "emergency"


def test_the_gas_leak_path_runs_down_the_tree_when_the_target_is_deeper() -> None:
    document = copy.deepcopy(DEFAULT)
    main = document["nodes"]["main"]
    main["options"] = [option for option in main["options"] if option["key"] != "2"]
    diagram = menu_diagram(document)
    # Reached only through complaint now: main -4-> complaint -3-> emergency, both edges marked.
    assert edge(diagram, "complaint", "3")["tree"] and edge(diagram, "complaint", "3")["gas_leak"]
    assert edge(diagram, "main", "4")["gas_leak"]
    assert not edge(diagram, "main", "1")["gas_leak"]


def test_an_invalid_draft_is_drawn_with_its_dead_ends_and_unreachable_nodes() -> None:
    document = copy.deepcopy(DEFAULT)
    del document["nodes"]["billing"]
    document["nodes"]["orphan"] = {"type": "info", "next": "main"}
    document["nodes"]["broken"] = "not a table"
    diagram = menu_diagram(document)
    assert edge(diagram, "main", "1")["relation"] == "missing"
    nodes = {node["id"]: node for node in diagram["nodes"]}
    assert not nodes["orphan"]["reachable"] and nodes["broken"]["type"] == "?"
    assert menu_diagram({}) == {
        "name": "", "root": "", "nodes": [], "edges": [], "emergency": {"target": "", "phrases": ""}
    }
