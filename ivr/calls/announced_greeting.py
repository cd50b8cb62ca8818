"""The greeting turn with the caller's announcements spoken in it; in storm mode, the gas-leak key first.

The gas-leak path never loses by it: in storm mode the first thing any caller hears stays the gas-leak
instruction, and the announcements are inside the greeting's Gather, so the caller can press at once.
Storm mode's state and rules are queueing's (ivr/queueing/storm.py); this is how a call speaks them.
"""

from __future__ import annotations

from dataclasses import replace

from ivr.calls.flow import Ask, Said, Turn
from ivr.calls.twiml import SaidText
from ivr.configuration.announcements import Live
from ivr.configuration.menus.schema import MenuDocument, MenuNode


def starts_the_menu(menu: MenuDocument, turn: Turn) -> bool:
    """True for the turn that greets the caller: the call's start, or a change of language, at the root."""
    return (
        isinstance(turn.then, Ask)
        and turn.reason in ("start", "language")
        and turn.visited == (menu.root,)
        and turn.then.state.node == menu.root
    )


def with_announcements(
    menu: MenuDocument, turn: Turn, announcements: list[Live], storm: bool
) -> tuple[Turn, list[int]]:
    """The greeting turn with the announcements spoken inside its Gather (the caller can press 2 at once),
    and the ids of those spoken (those with a text in the call's language).

    Normally: after the greeting (and the offers of other languages), before the menu. In storm mode:
    first, but after one sentence telling a caller who smells gas which key to press."""
    language = turn.then.state.language
    chosen = [a for a in announcements if a.texts.get(language)]
    if not chosen:
        return turn, []
    spoken = tuple(SaidText(f"announcement:{a.id}", language, text=a.texts[language]) for a in chosen)
    ids = [a.id for a in chosen]
    root = menu.nodes[menu.root]
    assert isinstance(root, MenuNode)
    emergency_key = next((o.key for o in root.options if o.target == menu.emergency.target), None)
    if storm and emergency_key is not None:
        gas_first = Said("storm_gas_first", language, (("key", emergency_key),))
        return replace(turn, said=(gas_first, *spoken, *turn.said)), ids
    # The intro (with the language offers after its first prompt) comes first, the node's prompts last.
    at = len(turn.said) - len(root.prompts) if root.intro else 0
    return replace(turn, said=(*turn.said[:at], *spoken, *turn.said[at:])), ids
