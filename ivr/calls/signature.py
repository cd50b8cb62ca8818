"""X-Twilio-Signature checking against the public URL Twilio called."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from flask import Request
from twilio.request_validator import RequestValidator, compare
from werkzeug.datastructures import MultiDict


def public_url(request: Request, public_base_url: str) -> str:
    """The URL as Twilio saw it: the configured public base, or the URL the request came to."""
    # The raw query string, not Werkzeug's decoded one: Twilio signs the URL exactly as it sent it.
    base = public_base_url or request.host_url.rstrip("/")
    query = request.query_string.decode("latin-1")
    return base + request.path + (f"?{query}" if query else "")


def is_signed_by_twilio(request: Request, auth_token: str, public_base_url: str) -> bool:
    """True when the signature matches the URL and the form parameters."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    validator = _validator(auth_token)
    url, params = public_url(request, public_base_url), _FormValues(request.form)
    # Fast path: the URL exactly as built. validate() also tries it with and without the port,
    # which costs two HMACs and URL parsing on every webhook; it remains the fallback.
    if compare(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


class _FormValues:
    """The form as RequestValidator reads it: every value of each parameter, as Twilio signs them.

    The validator asks each parameter's values of `getall()`, then of `getlist()`, then of `[]`, going on
    at each AttributeError; offering `getall` spares it two exceptions per parameter (~40% of the check)."""

    __slots__ = ("form",)

    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form

    def __iter__(self) -> Iterator[str]:
        return iter(self.form)

    def getall(self, name: str) -> list[str]:
        return self.form.getlist(name)


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)
