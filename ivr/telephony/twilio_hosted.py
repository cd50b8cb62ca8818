"""What Twilio hosts itself for a number to fall back on: the Echo twimlet, whose TwiML travels in its URL.

The simulator answers these URLs in-process, as Twilio's own servers would, so a test needs no network and a
dead app cannot take the answer down with it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from ivr.telephony.transport import Response

ECHO_URL = "https://twimlets.com/echo"
_ECHO = urlsplit(ECHO_URL)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def echo_url(twiml: str) -> str:
    """The Echo twimlet URL that answers `twiml` (Twilio fetches it with GET or POST)."""
    return f"{ECHO_URL}?{urlencode({'Twiml': twiml})}"


def is_hosted(url: str) -> bool:
    """Whether `url` is answered by Twilio itself (the Echo twimlet), not by a server of ours."""
    parts = urlsplit(url)
    hosts = (_ECHO.hostname, f"www.{_ECHO.hostname}")
    return parts.hostname in hosts and parts.path.rstrip("/") == _ECHO.path


def hosted_answer(url: str) -> Response:
    """The Echo twimlet's answer: its `Twiml` query parameter as text/xml (without one, an empty document)."""
    twiml = (parse_qs(urlsplit(url).query).get("Twiml") or [EMPTY_TWIML])[0]
    return Response(200, "text/xml; charset=utf-8", twiml.encode())
