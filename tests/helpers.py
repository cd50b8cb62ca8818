"""Test helpers: signed webhook requests, TwiML parsing, counting rows."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from typing import Any

from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.configuration.rules.validation import DEFAULT_RULES_FILE, load_rules_file

PUBLIC_BASE_URL = "http://hotline.test"
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
_sids = itertools.count(1)


def new_call_sid() -> str:
    """A CallSid shaped like Twilio's."""
    return f"CA{next(_sids):032x}"


class SignedClient:
    """Posts form-encoded webhooks signed with X-Twilio-Signature, as Twilio does."""

    def __init__(self, app: Any, token: str = TEST_AUTH_TOKEN, base: str = PUBLIC_BASE_URL):
        self.client = app.test_client()
        self.validator = RequestValidator(token)
        self.base = base

    def post(
        self,
        path: str,
        params: dict[str, str] | None = None,
        *,
        call_sid: str = "",
        caller: str = "+8613800000001",
        sign: bool = True,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """POST `path` (relative or absolute URL) with the standard call parameters added."""
        path = path.replace(self.base, "")
        form = {
            "CallSid": call_sid or new_call_sid(),
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": "+864008888888",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **(params or {}),
        }
        sent = dict(headers or {})
        if sign:
            sent["X-Twilio-Signature"] = signature or self.validator.compute_signature(self.base + path, form)
        return self.client.post(path, data=form, headers=sent, base_url=self.base)


def twiml(response: Any) -> ET.Element:
    """The parsed TwiML of a response, after checking it is TwiML."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/xml")
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return root


def spoken(root: ET.Element) -> str:
    """All <Say> text of a document, in order."""
    return " | ".join((say.text or "") for say in root.iter("Say"))


def action_of(root: ET.Element) -> str:
    """The action URL of the document's Gather (or Enqueue/Dial)."""
    for tag in ("Gather", "Enqueue", "Dial"):
        element = root.find(tag)
        if element is not None:
            return element.get("action", "")
    raise AssertionError("no verb with an action")


def count(session: Any, model: Any, *where: Any) -> int:
    """Rows of `model` matching the conditions."""
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def open_all_day_rules() -> dict:
    """The default routing rules with every group open around the clock, so tests pass at any hour.
    (The after-hours tests publish their own closed calendars.)"""
    document = load_rules_file(DEFAULT_RULES_FILE)
    for group in document["groups"].values():
        group["always_open"] = True
        group.pop("hours", None)
        group.pop("holidays", None)
    return document
