"""Shared vocabulary of the call flow: control transfers, outcomes and simulated durations."""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from collections.abc import Generator
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ivr.telephony.call_result import TranscriptEntry

# Simulated durations: only relative sizes matter (CallDuration, QueueTime), nothing sleeps.
SAY_SECONDS_PER_CHAR = 0.1
PLAY_SECONDS = 5.0
KEY_SECONDS = 0.5

WAITING = "waiting"  # yielded while the caller sits in a queue between two wait-music passes


@dataclass
class Goto:
    """Control moves to the TwiML at `url`, requested with the call's parameters plus `params`."""

    url: str
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    purpose: str = "action"


@dataclass
class Failure:
    """A request or document Twilio would have refused."""

    code: int
    message: str
    url: str
    purpose: str = ""


class Stop(enum.Enum):
    """Why a document stopped before its last verb without moving to another URL."""

    END = "end"  # the call is over
    LEAVE = "leave"  # <Leave> in a wait document
    INTERRUPTED = "interrupted"  # a REST redirect, bridge or hangup reached a queued caller


@dataclass
class Bridge:
    """An agent dialled the queue this call waits in (<Dial><Queue>)."""

    agent_sid: str
    queue_sid: str
    url: str | None
    method: str
    seconds: int
    queue_time: int


Outcome = Goto | Stop | Failure | None
Flow = Generator[str, None, Outcome]


def attr_int(verb: ET.Element, name: str, default: int) -> int:
    """An integer attribute; Twilio only warns about a bad value and uses the default."""
    try:
        return int(verb.get(name) or default)
    except ValueError:
        return default


def attr_method(verb: ET.Element, name: str = "method") -> str:
    """An HTTP method attribute (POST unless it says GET)."""
    return (verb.get(name) or "POST").upper()


def resolve(doc_url: str, target: str | None) -> str:
    """A URL from TwiML made absolute against its document; empty means the document itself."""
    return urljoin(doc_url, target.strip()) if target and target.strip() else doc_url


def media_entry(verb: ET.Element, doc_url: str) -> TranscriptEntry:
    """The transcript entry of a <Say>, <Play> or <Pause>."""
    loop = attr_int(verb, "loop", 1)
    detail: dict[str, object] = {"loop": loop} if loop != 1 else {}
    if verb.tag == "Say":
        text = " ".join("".join(verb.itertext()).split())
        language = verb.get("language", "en-US")
        return TranscriptEntry("say", text, language=language, voice=verb.get("voice"), detail=detail)
    if verb.tag == "Play":
        url = resolve(doc_url, verb.text) if (verb.text or "").strip() else None
        return TranscriptEntry("play", url=url, digits=verb.get("digits"), detail=detail)
    return TranscriptEntry("pause", detail={"length": attr_int(verb, "length", 1)})


def media_seconds(entry: TranscriptEntry) -> float:
    """How long a say/play/pause entry lasts in simulated time."""
    loops = max(1, int(str(entry.detail.get("loop", 1))))
    if entry.kind == "say":
        return max(1.0, len(entry.text) * SAY_SECONDS_PER_CHAR) * loops
    if entry.kind == "play":
        return PLAY_SECONDS * loops
    return float(str(entry.detail.get("length", 1)))


def voice_params(
    account_sid: str, call_sid: str, status: str, direction: str, from_: str, to: str
) -> dict[str, str]:
    """The standard parameters of every voice request Twilio makes about one call (leg)."""
    params = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": direction,
        "From": from_,
        "To": to,
        "Caller": from_,
        "Called": to,
    }
    for prefix, number in (("From", from_), ("Caller", from_), ("To", to), ("Called", to)):
        params[f"{prefix}Country"] = _country(number)
        for part in ("City", "State", "Zip"):
            params[f"{prefix}{part}"] = ""
    return params


def _country(number: str) -> str:
    for prefix, country in (("+86", "CN"), ("+852", "HK"), ("+1", "US"), ("+44", "GB")):
        if number.startswith(prefix):
            return country
    return ""
