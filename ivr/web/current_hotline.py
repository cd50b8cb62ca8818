"""The hotline of the Flask app serving the request: how views and pages reach the shared objects."""

from __future__ import annotations

from flask import current_app

from ivr.hotline import Hotline


def hotline() -> Hotline:
    """The hotline of the current Flask app (the app factory puts it in `app.extensions`)."""
    return current_app.extensions["hotline"]  # type: ignore[no-any-return]
