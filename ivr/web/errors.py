"""HTTP errors in plain words, for API users and operators (callers always get TwiML)."""

from __future__ import annotations

from flask import Response
from werkzeug.exceptions import HTTPException


def plain_http_error(error: HTTPException) -> Response:
    """A 4xx/5xx as one line of text that says what was wrong."""
    description = error.description
    allowed = getattr(error, "valid_methods", None)
    if error.code == 405 and allowed:
        description = (
            f"this URL accepts {', '.join(sorted(allowed))} only (Twilio webhooks are POST requests)."
        )
    response = Response(
        f"{error.code} {error.name}: {description}\n",
        status=error.code or 500,
        content_type="text/plain; charset=utf-8",
    )
    if allowed:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response
