"""HTTP errors in plain words, for API users and operators (callers always get TwiML)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from psycopg.errors import NumericValueOutOfRange
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, Map


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


# A path integer past what any id column holds is no page: the <int:> converter refuses it (a 404).
LARGEST_ID = 2**63 - 1


class BoundedIntConverter(IntegerConverter):
    """Werkzeug's <int:> with an upper bound, so a huge number in a page URL is a 404, never a 500."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def number_out_of_range(error: Exception) -> Response:
    """400 for a number too large for the database (a query argument or form field of a page or the API).

    SQLite's driver raises OverflowError binding it; PostgreSQL answers numeric_value_out_of_range.
    Anything else is a real fault and goes on to the 500 handler.
    """
    cause = getattr(error, "orig", error)
    if not isinstance(cause, OverflowError | NumericValueOutOfRange):
        raise error
    message = "a number in the request is out of range / 请求中的数字超出范围"
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return Response(json.dumps({"error": message}), status=400, content_type="application/json")
    return Response(f"400 Bad Request: {message}\n", status=400, content_type="text/plain; charset=utf-8")


_JSON_KINDS = {list: "array", int: "number", float: "number", str: "string", bool: "true/false"}


def refuse_json_that_is_not_an_object() -> Response | None:
    """Before any page or API view: a JSON body must be an object (the API's lists excepted), or 400.

    The forms never read JSON (ivr/people/forms.py); this guard keeps a JSON array, number or string, or
    unreadable JSON, from reaching any view that expects an object. A page's form is not JSON at all, but
    the editors post JSON objects, so an object is let through to the view.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return None
    body = request.get_json(silent=True)
    api = request.path.startswith("/api/")
    if isinstance(body, dict) or (isinstance(body, list) and api):
        return None
    what = "JSON that cannot be read" if body is None else f"a JSON {_JSON_KINDS.get(type(body), 'value')}"
    wanted = "a JSON object (or, to the completions API, a list of them)" if api else "the page's form fields"
    message = f"the body is {what}: send {wanted}"
    return Response(json.dumps({"error": message}), status=400, content_type="application/json")
