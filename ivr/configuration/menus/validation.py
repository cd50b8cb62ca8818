"""Menu validation: structure (schema) then references, each problem named in words."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import prompts as prompt_catalogues
from ivr.configuration.menus.schema import (
    ActionNode,
    DialNode,
    InfoNode,
    InputNode,
    MenuDocument,
    MenuNode,
    Node,
    QueueNode,
)
from ivr.configuration.menus.texts import MENU_FLOW_PROMPTS, with_document_prompts

DEFAULT_MENU_FILE = Path(__file__).with_name("default_menu.toml")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document (a menu, routing rules, deadline rules), and where."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def structure_problems(error: ValidationError, root: str) -> list[Problem]:
    """pydantic's complaints as Problems, each where the dotted path says (the root when it names none)."""
    return [Problem(".".join(str(part) for part in err["loc"]) or root, err["msg"]) for err in error.errors()]


class InvalidMenu(ValueError):
    """A menu document that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def targets_of(node: Node) -> list[str]:
    """The nodes a node can lead to."""
    if isinstance(node, MenuNode):
        return [option.target for option in node.options]
    if isinstance(node, ActionNode):
        return [node.next] + ([node.on_missing] if node.on_missing else [])
    if isinstance(node, InputNode):
        return [node.next] + ([node.back] if node.back else [])
    if isinstance(node, InfoNode):
        return [node.next]
    return []


def prompt_keys_of(node: Node) -> list[str]:
    """The prompt keys a node may speak, beyond its own list (action results, notices)."""
    extra = {
        "caller_balance": ["balance", "balance_arrears"],
        # ask_id_last4 and account_check_failed: the second factor every account_balance input asks
        # (ivr/calls/flow.py); account_not_found is no longer spoken but stays valid in stored documents.
        "account_balance": [
            "balance",
            "balance_arrears",
            "account_not_found",
            "ask_account",
            "ask_id_last4",
            "account_check_failed",
        ],
        "report_fault": ["fault_reported"],
        # work_order_open and work_order_dispatched are no longer spoken (the live stage is) but stay valid.
        "work_order_status": [
            "work_order_open",
            "work_order_dispatched",
            "work_order_completed",
            "work_order_not_found",
            "work_order_stage_opened",
            "work_order_stage_handed_over",
            "work_order_stage_accepted",
            "work_order_stage_in_progress",
            "work_order_stage_reopened",
            "work_order_stage_handled",
            "work_order_late",
            "work_order_in_work",
            "work_order_in_progress",
        ],
    }
    keys = list(node.prompts)
    if isinstance(node, MenuNode):
        keys = list(node.intro) + keys
    if isinstance(node, ActionNode | InputNode):
        keys += extra[node.action]
    if isinstance(node, MenuNode) and any(option.language for option in node.options):
        keys.append("language_offer")
    return keys


# Prompts the call flow itself speaks, whatever the menu says.
ENGINE_PROMPTS = [
    "invalid_choice",
    "no_input",
    "transfer_general",
    "queue_next",
    "queue_position",
    "queue_busy_callback",
    "emergency_connecting_duty",
    "emergency_still_connecting",
    "rescue",
]


def parse_document(raw: dict[str, Any]) -> MenuDocument:
    """Layer one: the structure. Raises InvalidMenu naming each field that is wrong."""
    try:
        return MenuDocument.model_validate(raw)
    except ValidationError as error:
        raise InvalidMenu(structure_problems(error, "menu")) from None


def reference_problems(menu: MenuDocument, catalogues: dict[str, Any] | None = None) -> list[Problem]:
    """Layer two: references between nodes, prompts and languages."""
    catalogues = catalogues if catalogues is not None else prompt_catalogues.load_catalogues()
    problems: list[Problem] = []
    nodes = menu.nodes

    for language in [menu.default_language, *menu.languages]:
        if language not in catalogues:
            problems.append(Problem("languages", f"no prompt catalogue for {language}"))
    if menu.default_language not in menu.languages:
        problems.append(Problem("default_language", f"{menu.default_language} is not in languages"))

    for name, node_id in (
        ("root", menu.root),
        ("fallback", menu.fallback),
        ("emergency.target", menu.emergency.target),
    ):
        if node_id not in nodes:
            problems.append(Problem(name, f"node {node_id!r} does not exist"))
    if problems:
        return problems

    problems += _document_prompt_problems(menu, catalogues)
    spoken = with_document_prompts(catalogues, menu.prompts)  # a key resolves via the document or catalogue
    for node_id, node in nodes.items():
        for target in targets_of(node):
            if target not in nodes:
                problems.append(
                    Problem(
                        f"nodes.{node_id}",
                        f"leads to {target!r}, which does not exist: a dead end for the caller",
                    )
                )
        for key in prompt_keys_of(node):
            for language in menu.languages:
                if language in spoken and key not in spoken[language].prompts:
                    problems.append(Problem(f"nodes.{node_id}", f"prompt {key!r} is missing in {language}"))
        if isinstance(node, MenuNode):
            for option in node.options:
                for language in list(option.phrases) + ([option.language] if option.language else []):
                    if language not in menu.languages:
                        problems.append(
                            Problem(
                                f"nodes.{node_id}",
                                f"option {option.key} uses language {language}, not offered",
                            )
                        )
        if not node.prompts and isinstance(node, MenuNode | InputNode):
            problems.append(Problem(f"nodes.{node_id}", "asks the caller something but has no prompt"))
    for key in ENGINE_PROMPTS:
        for language in menu.languages:
            if language in catalogues and key not in catalogues[language].prompts:
                problems.append(Problem("prompts", f"prompt {key!r} is missing in {language}"))
    if problems:
        return problems

    problems += _flow_problems(menu)
    return problems


def _document_prompt_problems(menu: MenuDocument, catalogues: dict[str, Any]) -> list[Problem]:
    """The document's own prompt texts: offered languages, sound placeholders, actually spoken."""
    problems: list[Problem] = []
    spoken_keys = {key for node in menu.nodes.values() for key in prompt_keys_of(node)}
    spoken_keys.update(MENU_FLOW_PROMPTS)
    for key, texts in menu.prompts.items():
        where = f"prompts.{key}"
        if key not in spoken_keys:
            problems.append(
                Problem(
                    where,
                    "is not spoken by any node of this menu (queue, voicemail and rescue prompts"
                    " come from prompts/*.toml)",
                )
            )
        for language, text in texts.items():
            if language not in menu.languages:
                problems.append(Problem(where, f"has a text in {language}, which the menu does not offer"))
                continue
            try:
                used = prompt_catalogues.placeholders(text)
            except ValueError:
                problems.append(
                    Problem(where, f"the {language} text has a lone '{{' or '}}' (write {{{{ or }}}})")
                )
                continue
            catalogue = catalogues.get(language)
            shipped = catalogue.prompts.get(key) if catalogue is not None else None
            expected = prompt_catalogues.placeholders(shipped.text) if shipped is not None else set()
            if used != expected:
                wanted = ", ".join(f"{{{name}}}" for name in sorted(expected)) or "no placeholder"
                problems.append(
                    Problem(
                        where,
                        f"the {language} text must use {wanted}, as the values the call fills in;"
                        f" it uses {', '.join(f'{{{n}}}' for n in sorted(used)) or 'none'}",
                    )
                )
    return problems


def _flow_problems(menu: MenuDocument) -> list[Problem]:
    nodes = menu.nodes
    problems: list[Problem] = []
    emergency = nodes[menu.emergency.target]
    if not (isinstance(emergency, QueueNode | DialNode) and getattr(emergency, "emergency", True)):
        problems.append(
            Problem("emergency.target", "must be an emergency queue (emergency = true) or a dial node")
        )
    for language in menu.languages:
        if not menu.emergency.phrases.get(language):
            problems.append(Problem("emergency.phrases", f"no gas-leak phrases for {language}"))
    top = max((n.priority for n in nodes.values() if isinstance(n, QueueNode)), default=0)
    if isinstance(emergency, QueueNode) and emergency.priority < top:
        problems.append(
            Problem("emergency.target", f"priority {emergency.priority} is below another queue's {top}")
        )
    if not isinstance(nodes[menu.fallback], QueueNode):
        problems.append(
            Problem("fallback", "must be a queue, so a caller who has not chosen reaches a person")
        )

    root = nodes[menu.root]
    if not isinstance(root, MenuNode):
        problems.append(Problem("root", "must be a menu"))
    elif menu.emergency.target not in [option.target for option in root.options]:
        problems.append(Problem(f"nodes.{menu.root}", "the gas-leak choice must be one key from the root"))

    reachable = _reachable(menu)
    for node_id in nodes:
        if node_id not in reachable:
            problems.append(Problem(f"nodes.{node_id}", "cannot be reached from the root"))

    # Nodes that never wait for the caller must not loop among themselves: the call would spin.
    automatic = {nid for nid, n in nodes.items() if isinstance(n, InfoNode | ActionNode)}
    for start in sorted(automatic):
        seen: set[str] = set()
        current: str | None = start
        while current in automatic and current not in seen:
            seen.add(current)
            node = nodes[current]
            current = node.next if isinstance(node, InfoNode | ActionNode) else None
        if current == start:
            problems.append(
                Problem(f"nodes.{start}", "loops through other nodes without ever waiting for the caller")
            )
    named = {problem.where for problem in problems}
    ends = _nodes_reaching_an_end(menu)
    for node_id in nodes:
        if node_id not in ends and f"nodes.{node_id}" not in named:
            problems.append(
                Problem(
                    f"nodes.{node_id}",
                    "is a dead end: no way on from here ever reaches an agent or an outside number"
                    " (a queue or dial node)",
                )
            )
    return problems


def _nodes_reaching_an_end(menu: MenuDocument) -> set[str]:
    """Nodes from which some path leads to a queue or a dial node (walking the links backwards)."""
    leads_here: dict[str, set[str]] = {}
    for node_id, node in menu.nodes.items():
        for target in targets_of(node):
            leads_here.setdefault(target, set()).add(node_id)
    pending = [nid for nid, node in menu.nodes.items() if isinstance(node, QueueNode | DialNode)]
    found: set[str] = set()
    while pending:
        node_id = pending.pop()
        if node_id in found:
            continue
        found.add(node_id)
        pending.extend(leads_here.get(node_id, ()))
    return found


def _reachable(menu: MenuDocument) -> set[str]:
    seen: set[str] = set()
    pending = [menu.root, menu.fallback, menu.emergency.target]
    while pending:
        node_id = pending.pop()
        if node_id in seen or node_id not in menu.nodes:
            continue
        seen.add(node_id)
        pending.extend(targets_of(menu.nodes[node_id]))
    return seen


def validate_document(raw: dict[str, Any], catalogues: dict[str, Any] | None = None) -> MenuDocument:
    """Both layers; returns the menu or raises InvalidMenu with every problem."""
    menu = parse_document(raw)
    problems = reference_problems(menu, catalogues)
    if problems:
        raise InvalidMenu(problems)
    return menu


def load_menu_file(path: Path = DEFAULT_MENU_FILE) -> dict[str, Any]:
    """Read a menu document from a TOML or JSON file."""
    if path.suffix == ".json":
        return dict(json.loads(path.read_text(encoding="utf-8")))
    with path.open("rb") as handle:
        return tomllib.load(handle)
