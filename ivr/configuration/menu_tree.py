"""The menu as a tree for the pages.

Each node with its prompt texts in every language, its keys and phrases, where each leads, and the problems
that name it. Built from the raw document, so a draft that does not validate is still shown (what cannot be
read is shown as missing)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import prompts as prompt_catalogues
from ivr.configuration.menus.texts import MENU_FLOW_PROMPTS
from ivr.configuration.menus.validation import Problem

_LINK_FIELDS = (("next", "then / 然后"), ("on_missing", "if not found / 找不到时"), ("back", "* back / 返回"))


@dataclass
class PromptView:
    """One prompt key: its text per language (the document's own, else the catalogue's)."""

    key: str
    texts: dict[str, str]
    own: list[str]  # languages whose text comes from the menu document
    missing: list[str]  # languages with no text at all


@dataclass
class OptionView:
    """One menu option: key, target, phrases per language, language switch."""

    index: int
    key: str
    target: str
    phrases: dict[str, str]
    language: str
    target_exists: bool


@dataclass
class NodeView:
    """One node in tree order: depth below the root, the node it was first reached from, its parts."""

    id: str
    type: str
    depth: int
    parent: str | None
    reachable: bool
    fields: dict[str, Any]
    prompts: list[PromptView]
    intro: list[PromptView]
    options: list[OptionView]
    links: list[tuple[str, str, bool]]  # (label, target, exists)
    link_fields: dict[str, str]  # next, on_missing, back as written
    problems: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)  # root, fallback, emergency


@dataclass
class MenuTree:
    """The whole menu for a page (or the editor's JSON answer)."""

    name: str
    root: str
    fallback: str
    languages: list[str]
    default_language: str
    emergency_target: str
    emergency_phrases: dict[str, str]
    defaults: dict[str, Any]
    nodes: list[NodeView]
    node_ids: list[str]
    menu_problems: list[str]  # problems not about one node
    flow_prompts: list[PromptView]

    def as_json(self) -> dict[str, Any]:
        """Plain data for the JSON answer."""
        return asdict(self)


def menu_tree(document: dict[str, Any], problems: list[Problem]) -> MenuTree:
    """The tree of a (possibly invalid) menu document with its problems attached to the nodes they name."""
    nodes = _table(document.get("nodes"))
    languages = [str(x) for x in _items(document.get("languages"))]
    texts = _table(document.get("prompts"))
    catalogues = prompt_catalogues.load_catalogues()
    root = str(document.get("root", ""))
    fallback = str(document.get("fallback", ""))
    emergency = _table(document.get("emergency"))
    emergency_target = str(emergency.get("target", ""))

    def prompt_view(key: Any) -> PromptView:
        key = str(key)
        own_texts = _table(texts.get(key))
        shown, own, missing = {}, [], []
        for language in languages:
            if isinstance(own_texts.get(language), str):
                shown[language] = own_texts[language]
                own.append(language)
            elif language in catalogues and key in catalogues[language].prompts:
                shown[language] = catalogues[language].prompts[key].text
            else:
                missing.append(language)
        return PromptView(key, shown, own, missing)

    by_node: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        parts = problem.where.split(".")
        if parts[0] == "nodes" and len(parts) > 1 and parts[1] in nodes:
            by_node.setdefault(parts[1], []).append(_described(problem, parts))
        else:
            general.append(str(problem))

    order = _tree_order(nodes, [root, fallback, emergency_target])
    views = []
    for node_id, depth, parent, reachable in order:
        raw = _table(nodes[node_id])
        views.append(_node_view(node_id, raw, depth, parent, reachable, nodes, prompt_view))
        views[-1].problems = by_node.get(node_id, [])
        views[-1].roles = [
            role
            for role, holder in (("root", root), ("fallback", fallback), ("emergency", emergency_target))
            if holder == node_id
        ]
    phrases = _table(emergency.get("phrases"))
    return MenuTree(
        name=str(document.get("name", "")),
        root=root,
        fallback=fallback,
        languages=languages,
        default_language=str(document.get("default_language", "")),
        emergency_target=emergency_target,
        emergency_phrases={str(k): _joined(v) for k, v in phrases.items()},
        defaults=_table(document.get("defaults")),
        nodes=views,
        node_ids=sorted(nodes),
        menu_problems=general,
        flow_prompts=[prompt_view(key) for key in MENU_FLOW_PROMPTS],
    )


def _described(problem: Problem, parts: list[str]) -> str:
    # "nodes.main.menu.options.0.key: ..." reads better on the node's card as "options.0.key: ..."
    rest = [part for part in parts[2:] if part not in ("menu", "info", "action", "input", "queue", "dial")]
    return f"{'.'.join(rest)}: {problem.message}" if rest else problem.message


def _targets(raw: Any) -> list[str]:
    if not isinstance(raw, dict):
        return []
    found = []
    if isinstance(raw.get("options"), list):
        found += [str(o.get("target")) for o in raw["options"] if isinstance(o, dict) and o.get("target")]
    found += [str(raw[name]) for name, _ in _LINK_FIELDS if raw.get(name)]
    return found


def _tree_order(nodes: dict[str, Any], starts: list[str]) -> list[tuple[str, int, str | None, bool]]:
    """Depth-first from the root (then the fallback and emergency nodes), each node where first reached;
    nodes nothing reaches come last."""
    seen: set[str] = set()
    order: list[tuple[str, int, str | None, bool]] = []

    def visit(node_id: str, depth: int, parent: str | None) -> None:
        stack = [(node_id, depth, parent)]
        while stack:
            current, level, came_from = stack.pop()
            if current in seen or current not in nodes:
                continue
            seen.add(current)
            order.append((current, level, came_from, True))
            for target in reversed(_targets(nodes[current])):
                if target not in seen:
                    stack.append((target, level + 1, current))

    for start in starts:
        visit(start, 0, None)
    order += [(node_id, 0, None, False) for node_id in nodes if node_id not in seen]
    return order


def _node_view(
    node_id: str,
    raw: dict[str, Any],
    depth: int,
    parent: str | None,
    reachable: bool,
    nodes: dict[str, Any],
    prompt_view: Any,
) -> NodeView:
    options = []
    for position, option in enumerate(_items(raw.get("options"))):
        if not isinstance(option, dict):
            continue
        phrases = _table(option.get("phrases"))
        target = str(option.get("target", ""))
        options.append(
            OptionView(
                index=position,
                key=str(option.get("key", "")),
                target=target,
                phrases={str(lang): _joined(listed) for lang, listed in phrases.items()},
                language=str(option.get("language", "") or ""),
                target_exists=target in nodes,
            )
        )
    links = [
        (label, str(raw[name]), str(raw[name]) in nodes) for name, label in _LINK_FIELDS if raw.get(name)
    ]
    skip = {"type", "prompts", "intro", "options", "next", "on_missing", "back"}
    fields = {name: value for name, value in raw.items() if name not in skip}
    return NodeView(
        id=node_id,
        type=str(raw.get("type", "?")),
        depth=depth,
        parent=parent,
        reachable=reachable,
        fields=fields,
        prompts=[prompt_view(key) for key in _listed(raw.get("prompts"))],
        intro=[prompt_view(key) for key in _listed(raw.get("intro"))],
        options=options,
        links=links,
        link_fields={name: str(raw[name]) for name, _ in _LINK_FIELDS if raw.get(name)},
    )


def _table(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _listed(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _joined(value: Any) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else str(value or "")
