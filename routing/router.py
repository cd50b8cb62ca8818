"""Skill-based routing, pure: pair waiting calls with available agents. (Implemented by the routing work.)"""

from __future__ import annotations

from collections.abc import Sequence

from routing.model import Agent, Pairing, Placement, Rules, WaitingCall


def pair(rules: Rules, calls: Sequence[WaitingCall], agents: Sequence[Agent], now: float) -> list[Pairing]:
    """Pairings for this moment: safety first, then priority, then longest waiting; best agent for each."""
    raise NotImplementedError


def place(rules: Rules, call: WaitingCall, now: float) -> Placement:
    """The filter and step a waiting call is at now, and whether its group is open."""
    raise NotImplementedError
