"""X-Twilio-Signature checking against the public URL Twilio called."""

from __future__ import annotations

from functools import lru_cache

from flask import Request
from twilio.request_validator import RequestValidator, compare


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
    url, params = public_url(request, public_base_url), request.form.to_dict()
    # Fast path: the URL exactly as built. validate() also tries it with and without the port,
    # which costs two HMACs and URL parsing on every webhook; it remains the fallback.
    if compare(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


@lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    return RequestValidator(auth_token)
