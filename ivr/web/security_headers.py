"""Headers on every page and the idle timeout of console logins (docs/users.md)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Response, request

from ivr.config import Settings

# 'unsafe-inline' for styles only: the pages carry <style> blocks and style attributes, and the charts
# are inline SVG with their own <style>. Scripts come only from this site's files (no inline script runs;
# the live board's <script type="application/json"> blocks are data, which CSP does not govern).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_STATIC = ("/admin/static/", "/static/")


def init_security(app: Flask, settings: Settings) -> None:
    """Security headers after every page and API answer; logins end after the idle timeout."""
    # A login cookie is made permanent at login and re-signed on each request (Flask's default
    # SESSION_REFRESH_EACH_REQUEST); Flask refuses a cookie signed longer ago than this, so the
    # timeout holds on the server even if a browser keeps the cookie.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=settings.session_idle_minutes)
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """No framing, no sniffing, a strict CSP, and nothing of the console kept in any cache."""
    if request.path.startswith("/voice/"):  # Twilio's webhooks: TwiML for Twilio, not pages for a browser
        return response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(_STATIC) and "no-store" not in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = "no-store"
    return response
