"""Signed webhook requests, prepared before the clock starts so the load generator only sends bytes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
QUEUE_SID = "QU" + "1" * 32

GREETING = "/voice/incoming"
MENU_CHOICE = "/voice/step?v=1&n=main&l=zh-CN&t=0&s=1"
QUEUE_WAIT = "/voice/wait?q=general&l=zh-CN&e=0"

# A piece of TwiML each answer must hold. A webhook that fails inside the hotline still answers 200
# text/xml (a rescue document), so status and type alone would not notice it.
EXPECTED = {
    "greeting": b"/voice/step?v=1&amp;n=main&amp;",
    "menu": b"n=billing&amp;",
    "wait": b"<Pause",
}


@dataclass(frozen=True)
class Prepared:
    """One HTTP request, ready to write to a socket."""

    kind: str
    target: str  # path and query
    raw: bytes  # the whole HTTP/1.1 request
    expect: bytes  # found in a right answer's body


def standard_params(call_sid: str) -> dict[str, str]:
    """What Twilio sends with every voice webhook of an inbound call."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": "+8613800000001",
        "To": "+864008888888",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def call_steps(call_sid: str) -> list[tuple[str, str, dict[str, str]]]:
    """The three loaded webhooks of one simulated call: greeting, menu choice 1 (billing), queue wait."""
    std = standard_params(call_sid)
    wait = {
        "QueuePosition": "3",
        "QueueTime": "40",
        "AvgQueueTime": "60",
        "CurrentQueueSize": "5",
        "QueueSid": QUEUE_SID,
    }
    return [
        ("greeting", GREETING, std),
        ("menu", MENU_CHOICE, {**std, "Digits": "1"}),
        ("wait", QUEUE_WAIT, {**std, **wait}),
    ]


def _raw_request(host: str, target: str, params: dict[str, str], signature: str) -> bytes:
    body = urlencode(params).encode()
    head = (
        f"POST {target} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: TwilioProxy/1.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"X-Twilio-Signature: {signature}\r\n"
        "\r\n"
    )
    return head.encode() + body


def prepare_calls(base_url: str, host: str, token: str, calls: int, spacing: int = 64) -> list[Prepared]:
    """Requests of `calls` simulated calls, each with its own CallSid: greeting/menu/wait in equal thirds."""
    # Pipelined: greeting of call c, menu of call c - spacing, wait of call c - 2 * spacing, ... so every
    # stretch of the run has the same mix, while a call's own steps come in order and far enough apart
    # not to be in flight together (as with Twilio, where seconds pass between them).
    validator = RequestValidator(token)
    # A fresh CallSid per call: the hotline de-duplicates a repeated (retried) webhook, which would
    # turn every later copy of a request into a cheap no-op and flatter the figures.
    steps = [call_steps("CA" + uuid.uuid4().hex) for _ in range(calls)]
    prepared = []
    for tick in range(calls + 2 * spacing):
        for step in range(3):
            call = tick - step * spacing
            if 0 <= call < calls:
                kind, target, params = steps[call][step]
                signature = validator.compute_signature(base_url + target, params)
                raw = _raw_request(host, target, params, signature)
                prepared.append(Prepared(kind, target, raw, EXPECTED[kind]))
    return prepared


def expecting(requests: list[Prepared], marker: bytes) -> list[Prepared]:
    """The same requests for a target that answers every one with the same document."""
    return [replace(request, expect=marker) for request in requests]
