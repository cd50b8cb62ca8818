"""How the report pages write a figure: a percentage or a number with one decimal, "—" when there is none."""

from __future__ import annotations


def percent(value: float | None) -> str:
    """0.805 -> "80.5 %"; no figure -> "—"."""
    return "—" if value is None else f"{value * 100:.1f} %"


def number(value: float | None, unit: str = "") -> str:
    """A figure with one decimal (and a unit); no figure -> "—"."""
    return "—" if value is None else f"{value:.1f}{unit}"
