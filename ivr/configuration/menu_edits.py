"""The editor's small operations on a menu document (a plain dict): pure, each on a copy.

An operation only changes the document; whether the result is a usable menu is the validation's job
(ivr/configuration/menus/validation), which names every problem. An operation is refused only when it
cannot be applied at all (no such node, no such option, a value of the wrong kind).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import prompts as prompt_catalogues
from ivr.configuration.edit_values import (
    EditRefused,
    apply_operation,
    flag,
    index,
    name,
    text,
    whole_number,
    words,
)

Document = dict[str, Any]
NODE_TYPES = ("menu", "info", "action", "input", "queue", "dial")
_WHOLE = ("timeout_seconds", "max_tries", "max_digits", "priority", "reply_within_hours")
_LISTS = ("prompts", "intro")
# The fields the node form may set, by node type (others go through the raw document editor).
NODE_FIELDS = {
    "menu": ("prompts", "intro", "intent", "timeout_seconds", "max_tries"),
    "info": ("prompts", "intent", "next"),
    "action": ("prompts", "intent", "action", "next", "on_missing"),
    "input": ("prompts", "intent", "action", "next", "back", "max_digits", "timeout_seconds", "max_tries"),
    "queue": (
        "prompts",
        "intent",
        "queue",
        "priority",
        "emergency",
        "complaint_class",
        "reply_within_hours",
    ),
    "dial": ("prompts", "intent", "number"),
}


def apply_menu_edit(document: Document, op: dict[str, Any]) -> tuple[Document, str]:
    """Apply one operation to a copy of `document`; returns the new document and what was done, in words."""
    return apply_operation(document, op, _OPERATIONS)


def _nodes(document: Document) -> dict[str, Any]:
    nodes = document.get("nodes")
    if not isinstance(nodes, dict):
        raise EditRefused("the document has no nodes table: fix it in the raw document editor")
    return nodes


def _node(document: Document, op: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    node_id = text(op, "node")
    node = _nodes(document).get(node_id)
    if not isinstance(node, dict):
        raise EditRefused(f"there is no node {node_id!r}")
    return node_id, node


def _options(node_id: str, node: dict[str, Any]) -> list[Any]:
    options = node.get("options")
    if node.get("type") != "menu" or not isinstance(options, list):
        raise EditRefused(f"node {node_id!r} is not a menu: it has no options")
    return options


def _option_fields(option: dict[str, Any], op: dict[str, Any]) -> None:
    if "key" in op:
        option["key"] = text(op, "key")
    if "target" in op:
        option["target"] = text(op, "target")
    if "phrases" in op:
        given = op["phrases"]
        if not isinstance(given, dict):
            raise EditRefused("phrases must be a table: language -> phrases")
        phrases = {str(lang): words(value, f"phrases.{lang}") for lang, value in given.items()}
        phrases = {lang: listed for lang, listed in phrases.items() if listed}
        if phrases:
            option["phrases"] = phrases
        else:
            option.pop("phrases", None)
    if "language" in op:
        language = text(op, "language", required=False)
        if language:
            option["language"] = language
        else:
            option.pop("language", None)


def set_option(document: Document, op: dict[str, Any]) -> str:
    """Change an option's key, target, phrases or language switch."""
    node_id, node = _node(document, op)
    options = _options(node_id, node)
    position = index(op, "index", len(options))
    before = dict(options[position])
    _option_fields(options[position], op)
    after = options[position]
    said = [
        f"{field} {before.get(field)!r} → {after.get(field)!r}"
        for field in ("key", "target", "language", "phrases")
        if before.get(field) != after.get(field)
    ]
    return f"nodes.{node_id}: option {before.get('key')}: " + ("; ".join(said) or "no change")


def add_option(document: Document, op: dict[str, Any]) -> str:
    """Add an option at the end of a menu."""
    node_id, node = _node(document, op)
    options = _options(node_id, node)
    option: dict[str, Any] = {"key": text(op, "key"), "target": text(op, "target")}
    _option_fields(option, {k: v for k, v in op.items() if k in ("phrases", "language")})
    options.append(option)
    return f"nodes.{node_id}: added option {option['key']} → {option['target']}"


def remove_option(document: Document, op: dict[str, Any]) -> str:
    """Remove an option from a menu."""
    node_id, node = _node(document, op)
    options = _options(node_id, node)
    removed = options.pop(index(op, "index", len(options)))
    return f"nodes.{node_id}: removed option {removed.get('key')} → {removed.get('target')}"


def move_option(document: Document, op: dict[str, Any]) -> str:
    """Move an option one place up or down (the order is the order of speech matching ties)."""
    node_id, node = _node(document, op)
    options = _options(node_id, node)
    position = index(op, "index", len(options))
    direction = op.get("direction")
    if direction not in ("up", "down"):
        raise EditRefused("direction must be up or down")
    other = position - 1 if direction == "up" else position + 1
    if not 0 <= other < len(options):
        raise EditRefused(f"option {position} is already the {'first' if direction == 'up' else 'last'}")
    options[position], options[other] = options[other], options[position]
    return f"nodes.{node_id}: moved option {options[other].get('key')} {direction}"


def set_node(document: Document, op: dict[str, Any]) -> str:
    """Set fields of a node (its prompts, intent, where it goes, queue, priority, number, timeouts)."""
    node_id, node = _node(document, op)
    fields = op.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise EditRefused("fields must be a table of the node's fields to set")
    allowed = NODE_FIELDS.get(str(node.get("type")), ())
    said = []
    for field, value in fields.items():
        if field not in allowed:
            raise EditRefused(
                f"a {node.get('type')} node's form sets {', '.join(allowed)};"
                f" {field!r} needs the raw document"
            )
        new = _field_value(field, value)
        old = node.get(field)
        if new is None or new == [] or (field == "emergency" and new is False):
            node.pop(field, None)  # the schema's default: keep the document as people write it
            new = None
        else:
            node[field] = new
        if old != new:
            said.append(f"{field} {old!r} → {new!r}")
    return f"nodes.{node_id}: " + ("; ".join(said) or "no change")


def _field_value(field: str, value: Any) -> Any:
    if field in _WHOLE:
        return whole_number(value, field)
    if field in _LISTS:
        return words(value, field)
    if field == "emergency":
        return flag(value, field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EditRefused(f"{field} must be text")
    return value.strip()


def add_node(document: Document, op: dict[str, Any]) -> str:
    """A new node of a type, with the fields it needs; with `parent` and `key`, an option leads to it."""
    nodes = _nodes(document)
    node_id = name(op, "node")
    if node_id in nodes:
        raise EditRefused(f"node {node_id!r} exists already")
    node_type = op.get("type")
    if node_type not in NODE_TYPES:
        raise EditRefused(f"type must be one of {', '.join(NODE_TYPES)}")
    root = str(document.get("root", ""))
    fallback = str(document.get("fallback", ""))
    parent_id = text(op, "parent", required=False)
    node = _new_node(node_type, node_id, op, back=parent_id or root, fallback=fallback)
    said = f"added {node_type} node {node_id}"
    if parent_id:
        _, parent = _node(document, {"node": parent_id})
        key = text(op, "key")
        _options(parent_id, parent).append({"key": key, "target": node_id})
        said += f", reached by key {key} of {parent_id}"
    nodes[node_id] = node
    return said


def _new_node(
    node_type: str, node_id: str, op: dict[str, Any], *, back: str, fallback: str
) -> dict[str, Any]:
    prompts = words(op.get("prompts"), "prompts")
    next_node = text(op, "next", required=False) or back
    if node_type == "menu":
        # A menu needs an option: the first one reaches a person, so the new menu is never a dead end.
        first_key = text(op, "first_key", required=False) or "0"
        first_target = text(op, "first_target", required=False) or fallback
        return {"type": "menu", "prompts": prompts, "options": [{"key": first_key, "target": first_target}]}
    if node_type == "info":
        return {"type": "info", "prompts": prompts, "next": next_node}
    if node_type == "action":
        action = text(op, "action", required=False) or "caller_balance"
        return {"type": "action", "action": action, "prompts": prompts, "next": next_node}
    if node_type == "input":
        action = text(op, "action", required=False) or "account_balance"
        return {"type": "input", "action": action, "prompts": prompts, "next": next_node, "back": back}
    if node_type == "queue":
        priority = whole_number(op.get("priority"), "priority")
        return {
            "type": "queue",
            "queue": text(op, "queue", required=False) or node_id,
            "intent": text(op, "intent", required=False) or "agent",
            "priority": 5 if priority is None else priority,
            "prompts": prompts or ["queue_connecting"],
        }
    return {"type": "dial", "number": text(op, "number"), "prompts": prompts}


def remove_node(document: Document, op: dict[str, Any]) -> str:
    """Remove a node; options that led to it are left for validation to name (they become dead ends)."""
    node_id, _ = _node(document, op)
    del _nodes(document)[node_id]
    return f"removed node {node_id}"


def set_prompt_text(document: Document, op: dict[str, Any]) -> str:
    """A prompt's text in one language, kept in the document; blank (or the catalogue's text) removes it."""
    key = name(op, "key")
    language = text(op, "language")
    value = op.get("text", "")
    if not isinstance(value, str):
        raise EditRefused("text must be text")
    value = value.strip()
    catalogue = prompt_catalogues.load_catalogues().get(language)
    shipped = catalogue.prompts.get(key) if catalogue is not None else None
    texts = document.get("prompts")
    if texts is not None and not isinstance(texts, dict):
        raise EditRefused("the document's prompts is not a table: fix it in the raw document editor")
    texts = texts if texts is not None else {}
    by_language = dict(texts.get(key) or {})
    if not value or (shipped is not None and value == shipped.text):
        by_language.pop(language, None)
        said = f"prompts.{key}: {language} text back to the catalogue's"
    else:
        by_language[language] = value
        said = f"prompts.{key}: {language} text set"
    if by_language:
        texts[key] = by_language
    else:
        texts.pop(key, None)
    if texts:
        document["prompts"] = texts
    else:
        document.pop("prompts", None)
    return said


def set_defaults(document: Document, op: dict[str, Any]) -> str:
    """The menu's default timeout and tries (for nodes that do not set their own)."""
    defaults = document.get("defaults")
    defaults = dict(defaults) if isinstance(defaults, dict) else {}
    said = []
    for field in ("timeout_seconds", "max_tries"):
        if field in op:
            value = whole_number(op[field], field)
            if value is None:
                defaults.pop(field, None)
            else:
                defaults[field] = value
            said.append(f"{field} {value}")
    document["defaults"] = defaults
    return "defaults: " + ", ".join(said or ["no change"])


def set_emergency_phrases(document: Document, op: dict[str, Any]) -> str:
    """The gas-leak phrases of one language (heard at any level of the menu)."""
    emergency = document.get("emergency")
    if not isinstance(emergency, dict):
        raise EditRefused("the document has no emergency table: fix it in the raw document editor")
    language = text(op, "language")
    phrases = dict(emergency.get("phrases") or {})
    listed = words(op.get("phrases"), "phrases")
    if listed:
        phrases[language] = listed
    else:
        phrases.pop(language, None)  # validation then says the language has no gas-leak phrases
    emergency["phrases"] = phrases
    return f"emergency.phrases: {language}: {len(listed)} phrase(s)"


_OPERATIONS: dict[str, Callable[[Document, dict[str, Any]], str]] = {
    "set_option": set_option,
    "add_option": add_option,
    "remove_option": remove_option,
    "move_option": move_option,
    "set_node": set_node,
    "add_node": add_node,
    "remove_node": remove_node,
    "set_prompt_text": set_prompt_text,
    "set_defaults": set_defaults,
    "set_emergency_phrases": set_emergency_phrases,
}
