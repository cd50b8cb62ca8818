"""The menu as a flow diagram's data; ivr/web/static/menu_diagram.js lays it out and draws it as SVG.

Each node with what it does in words, each way on (key, phrases, then, back) and where it leads, the gas-leak
path marked. Built from the raw document, so a draft that does not validate is still drawn."""

from __future__ import annotations

from collections import deque
from typing import Any

# What each kind of node does, bilingual like every page; actions by name.
_DOES = {
    "menu": "子菜单 / Menu",
    "info": "自助答复 / Self-service answer",
    "queue": "转人工 / To an agent",
    "dial": "转外线 / Transfer out",
}
_ACTIONS = {
    "caller_balance": "查余额（按来电号码） / Balance by caller number",
    "report_fault": "报修登记 / Report a fault",
    "account_balance": "按户号查余额 / Balance by account number",
    "work_order_status": "工单进度 / Work-order status",
}
_LINKS = (
    ("next", "", "然后 / then"),
    ("on_missing", "", "找不到时 / if not found"),
    ("back", "*", "返回 / back"),
)


def menu_diagram(document: dict[str, Any]) -> dict[str, Any]:
    """Nodes in layout order (breadth-first from the root) and every edge, JSON-ready."""
    nodes = _table(document.get("nodes"))
    root = str(document.get("root", ""))
    fallback = str(document.get("fallback", ""))
    emergency = _table(document.get("emergency"))
    emergency_target = str(emergency.get("target", ""))

    edges = [edge for node_id in nodes for edge in _edges_of(node_id, _table(nodes[node_id]))]
    starts = [root, emergency_target, fallback]
    parent_edge = _first_reached(nodes, edges, starts)
    on_gas_path = set(_tree_path(emergency_target, parent_edge, edges))
    for position, edge in enumerate(edges):
        edge["tree"] = parent_edge.get(edge["target"]) == position
        edge["relation"] = _relation(edge, nodes, parent_edge, edges)
        edge["gas_leak"] = edge["target"] == emergency_target or position in on_gas_path

    layered = _layers(parent_edge, edges, starts, nodes)
    shown = []
    for node_id in layered + [node_id for node_id in nodes if node_id not in layered]:
        raw = _table(nodes[node_id])
        roles = [
            role
            for role, holder in (("root", root), ("fallback", fallback), ("emergency", emergency_target))
            if holder == node_id
        ]
        shown.append(
            {
                "id": node_id,
                "type": str(raw.get("type", "?")),
                "does": _does(raw, node_id == root),
                "detail": _detail(raw),
                "roles": roles,
                "gas_leak": node_id == emergency_target or raw.get("emergency") is True,
                "reachable": node_id in layered,
            }
        )
    phrases = _table(emergency.get("phrases"))
    return {
        "name": str(document.get("name", "")),
        "root": root,
        "nodes": shown,
        "edges": edges,
        "emergency": {
            "target": emergency_target,
            "phrases": " / ".join(_joined(listed) for listed in phrases.values() if listed),
        },
    }


def _edges_of(node_id: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """A node's ways on in the order the caller hears them: its options, then next, on_missing, back."""
    found = []
    options = raw.get("options") if raw.get("type") == "menu" else None
    for option in options if isinstance(options, list) else []:
        if not isinstance(option, dict):
            continue
        phrases = _table(option.get("phrases"))
        found.append(
            {
                "source": node_id,
                "target": str(option.get("target", "")),
                "kind": "option",
                "key": str(option.get("key", "")),
                "phrases": " / ".join(_joined(listed) for listed in phrases.values() if listed),
                "language": str(option.get("language", "") or ""),
                "label": "",
            }
        )
    for name, key, label in _LINKS:
        if raw.get(name):
            found.append(
                {
                    "source": node_id,
                    "target": str(raw[name]),
                    "kind": name,
                    "key": key,
                    "phrases": "",
                    "language": "",
                    "label": label,
                }
            )
    return found


def _first_reached(nodes: dict[str, Any], edges: list[dict[str, Any]], starts: list[str]) -> dict[str, int]:
    """Breadth-first from each start in turn: for each node reached, the position of the edge that first
    reached it (the layout's tree; every other edge is drawn as a reference to a node placed elsewhere)."""
    out: dict[str, list[int]] = {}
    for position, edge in enumerate(edges):
        out.setdefault(edge["source"], []).append(position)
    seen: set[str] = set()
    parent_edge: dict[str, int] = {}
    for start in starts:
        if start not in nodes or start in seen:
            continue
        seen.add(start)
        parent_edge[start] = -1  # a start of the layout: no edge reached it first
        waiting = deque([start])
        while waiting:
            current = waiting.popleft()
            for position in out.get(current, []):
                target = edges[position]["target"]
                if target in nodes and target not in seen:
                    seen.add(target)
                    parent_edge[target] = position
                    waiting.append(target)
    return parent_edge


def _layers(
    parent_edge: dict[str, int], edges: list[dict[str, Any]], starts: list[str], nodes: dict[str, Any]
) -> list[str]:
    """Every reached node, parents before children, children in their edges' order."""
    children: dict[str, list[str]] = {}
    for position, edge in enumerate(edges):
        if parent_edge.get(edge["target"]) == position:
            children.setdefault(edge["source"], []).append(edge["target"])
    order: list[str] = []
    for start in starts:
        if start not in nodes or start in order or parent_edge.get(start) != -1:
            continue
        waiting = deque([start])
        while waiting:
            current = waiting.popleft()
            order.append(current)
            waiting.extend(children.get(current, []))
    return order


def _tree_path(node_id: str, parent_edge: dict[str, int], edges: list[dict[str, Any]]) -> list[int]:
    """The layout tree's edges from a start down to `node_id` (none when it is a start or unreached)."""
    path: list[int] = []
    while parent_edge.get(node_id, -1) >= 0 and len(path) <= len(parent_edge):
        position = parent_edge[node_id]
        path.append(position)
        node_id = edges[position]["source"]
    return path


def _relation(
    edge: dict[str, Any], nodes: dict[str, Any], parent_edge: dict[str, int], edges: list[dict[str, Any]]
) -> str:
    """child (drawn as the tree), self (repeat), back (to a node above), jump (elsewhere), missing."""
    if edge["target"] not in nodes:
        return "missing"
    if edge["tree"]:
        return "child"
    if edge["target"] == edge["source"]:
        return "self"
    above = {edges[position]["source"] for position in _tree_path(edge["source"], parent_edge, edges)}
    return "back" if edge["target"] in above else "jump"


def _does(raw: dict[str, Any], is_root: bool) -> str:
    kind = str(raw.get("type", ""))
    if kind in ("action", "input"):
        return _ACTIONS.get(str(raw.get("action", "")), f"动作 / Action {raw.get('action', '?')}")
    if kind == "menu" and is_root:
        return "主菜单 / Main menu"
    return _DOES.get(kind, f"? {kind}")


def _detail(raw: dict[str, Any]) -> str:
    kind = raw.get("type")
    if kind == "queue":
        parts = [f"{raw.get('queue', '?')} · 优先级 / priority {raw.get('priority', 5)}"]
        if raw.get("complaint_class"):
            parts.append(f"{raw['complaint_class']} · {raw.get('reply_within_hours', '?')} h")
        return " · ".join(parts)
    if kind == "dial":
        return str(raw.get("number", "?"))
    if kind == "info":
        return ", ".join(str(key) for key in raw["prompts"]) if isinstance(raw.get("prompts"), list) else ""
    return ""


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _joined(value: Any) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value or "")
