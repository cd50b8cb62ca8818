"""Web pages and JSON API for people: login, roles, the agent page (filled in by the users work)."""

from __future__ import annotations

from flask import Flask


def init_admin(app: Flask) -> None:
    """Register login, the agent page and the agent API on `app`."""
    return None
