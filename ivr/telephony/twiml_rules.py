"""What Twilio accepts as voice TwiML: content types, verbs, attributes and nesting."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

# Twilio error codes used by the simulator (see https://www.twilio.com/docs/api/errors).
HTTP_RETRIEVAL_FAILURE = 11200
HTTP_CONNECTION_FAILURE = 11205
HTTP_INVALID_REDIRECT = 11216
RESPONSE_TOO_LARGE = 11750
DOCUMENT_PARSE_FAILURE = 12100
SCHEMA_VALIDATION = 12200
INVALID_CONTENT_TYPE = 12300

MAX_DOCUMENT_BYTES = 64 * 1024

TWIML_CONTENT_TYPES = {"text/xml", "application/xml", "text/html"}
# Twilio plays an audio answer as if it were <Play>, and reads a text/plain answer with <Say>.
AUDIO_CONTENT_TYPES = {
    "audio/mpeg",
    "audio/mp3",
    "audio/wav",
    "audio/wave",
    "audio/x-wav",
    "audio/aiff",
    "audio/x-aiff",
    "audio/aifc",
    "audio/gsm",
    "audio/x-gsm",
    "audio/ulaw",
}


@dataclass(frozen=True)
class Element:
    """Schema of one TwiML element: its attributes, children and whether it holds text."""

    attributes: frozenset[str] = frozenset()
    children: frozenset[str] = frozenset()
    text: bool = False
    any_attributes: bool = False


def _el(attrs: str = "", children: str = "", *, text: bool = False, any_attributes: bool = False) -> Element:
    return Element(frozenset(attrs.split()), frozenset(children.split()), text, any_attributes)


_STATUS_CALLBACK = "statusCallbackEvent statusCallback statusCallbackMethod"
_AMD = (
    "machineDetection amdStatusCallbackMethod amdStatusCallback machineDetectionTimeout "
    "machineDetectionSpeechThreshold machineDetectionSpeechEndThreshold machineDetectionSilenceTimeout"
)
_RECORDING_CALLBACK = "recordingStatusCallback recordingStatusCallbackMethod recordingStatusCallbackEvent"
_SSML = "break emphasis lang p phoneme prosody s say-as sub w"

VERBS: dict[str, Element] = {
    "Say": _el("voice loop language", _SSML, text=True),
    "Play": _el("loop digits", text=True),
    "Pause": _el("length"),
    "Gather": _el(
        "input action method timeout speechTimeout maxSpeechTime profanityFilter finishOnKey numDigits "
        "partialResultCallback partialResultCallbackMethod language hints bargeIn debug "
        "actionOnEmptyResult speechModel enhanced",
        "Say Play Pause",
    ),
    "Redirect": _el("method", text=True),
    "Enqueue": _el("action maxQueueSize method waitUrl waitUrlMethod workflowSid", "Task", text=True),
    "Leave": _el(),
    "Dial": _el(
        "action method timeout hangupOnStar timeLimit callerId record trim recordingConfigurationId "
        f"{_RECORDING_CALLBACK} answerOnBridge ringTone recordingTrack sequential referUrl referMethod "
        "events",
        "Number Client Queue Sip Conference Sim Application WhatsApp",
        text=True,
    ),
    "Record": _el(
        f"action method timeout finishOnKey maxLength playBeep trim {_RECORDING_CALLBACK} "
        "transcribe transcribeCallback recordingConfigurationId"
    ),
    "Hangup": _el(),
    "Reject": _el("reason"),
}

NOUNS: dict[str, Element] = {
    "Number": _el(f"sendDigits url method {_STATUS_CALLBACK} byoc {_AMD}", text=True),
    "Client": _el(f"url method {_STATUS_CALLBACK} clientNotificationUrl", "Identity Parameter", text=True),
    "Queue": _el("url method reservationSid postWorkActivitySid", text=True),
    "Sip": _el(f"username password url method {_STATUS_CALLBACK} {_AMD}", text=True),
    "Conference": _el(
        "muted beep startConferenceOnEnter endConferenceOnExit waitUrl waitMethod maxParticipants record "
        "recordingConfigurationId region coach trim "
        f"{_STATUS_CALLBACK} {_RECORDING_CALLBACK} eventCallbackUrl jitterBufferSize participantLabel",
        text=True,
    ),
    "Sim": _el(text=True),
    "Application": _el(f"url method {_STATUS_CALLBACK} customerId copyParentTo", "ApplicationSid Parameter"),
    "ApplicationSid": _el(text=True),
    "WhatsApp": _el(f"url method {_STATUS_CALLBACK}", text=True),
    "Identity": _el(text=True),
    "Parameter": _el("name value"),
    "Task": _el("priority timeout", text=True),
    **{tag: _el(children=_SSML, text=True, any_attributes=True) for tag in _SSML.split()},
}

# Real Twilio verbs the simulator does not play; documents using them are reported, not misjudged.
UNSIMULATED_VERBS = {"Connect", "Start", "Stop", "Pay", "Prompt", "Refer", "Sms", "Echo"}

# Verbs Twilio allows in the document a queued caller hears (waitUrl) and in a <Queue url> document.
WAIT_VERBS = {"Play", "Say", "Pause", "Hangup", "Redirect", "Leave", "Gather"}
DEQUEUE_ANNOUNCE_VERBS = {"Play", "Say", "Pause", "Redirect"}


class TwimlError(Exception):
    """Twilio would refuse this answer; `code` is Twilio's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class UnsimulatedVerb(Exception):
    """Valid TwiML that the simulator cannot play."""


def media_type(content_type: str) -> str:
    """The bare, lower-case media type of a Content-Type header."""
    return content_type.split(";", 1)[0].strip().lower()


def parse_response(
    content_type: str, body: bytes, url: str, allowed_verbs: set[str] | None = None
) -> ET.Element:
    """Turn a webhook answer fetched from `url` into a validated <Response>, or raise TwimlError."""
    kind = media_type(content_type)
    if kind in AUDIO_CONTENT_TYPES:
        root = ET.Element("Response")
        ET.SubElement(root, "Play").text = url
        return root
    if len(body) > MAX_DOCUMENT_BYTES:
        raise TwimlError(RESPONSE_TOO_LARGE, f"response body is {len(body)} bytes, over 64 kB")
    if kind == "text/plain":
        root = ET.Element("Response")
        ET.SubElement(root, "Say").text = body.decode("utf-8", errors="replace")
    elif kind not in TWIML_CONTENT_TYPES:
        raise TwimlError(INVALID_CONTENT_TYPE, f"Content-Type {content_type!r} is not TwiML")
    else:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise TwimlError(DOCUMENT_PARSE_FAILURE, f"document is not well-formed XML: {exc}") from exc
    validate(root, allowed_verbs)
    return root


def validate(root: ET.Element, allowed_verbs: set[str] | None = None) -> None:
    """Check a parsed document against Twilio's voice schema; raise TwimlError if it fails."""
    if root.tag != "Response":
        raise TwimlError(SCHEMA_VALIDATION, f"root element is <{root.tag}>, not <Response>")
    if root.attrib:
        raise TwimlError(SCHEMA_VALIDATION, f"<Response> takes no attributes, got {sorted(root.attrib)}")
    _check_no_stray_text(root)
    for verb in root:
        if verb.tag in UNSIMULATED_VERBS:
            raise UnsimulatedVerb(f"<{verb.tag}> is valid TwiML but the simulator does not play it")
        if verb.tag not in VERBS:
            where = "a noun, not allowed directly in <Response>" if verb.tag in NOUNS else "not a TwiML verb"
            raise TwimlError(SCHEMA_VALIDATION, f"<{verb.tag}> is {where}")
        if allowed_verbs is not None and verb.tag not in allowed_verbs:
            raise TwimlError(SCHEMA_VALIDATION, f"<{verb.tag}> is not allowed in this document")
        _check_element(verb, VERBS[verb.tag])


def _check_element(node: ET.Element, schema: Element) -> None:
    if not schema.any_attributes:
        unknown = sorted(set(node.attrib) - schema.attributes)
        if unknown:
            raise TwimlError(SCHEMA_VALIDATION, f"<{node.tag}> has unknown attribute(s) {unknown}")
    if not schema.text:
        _check_no_stray_text(node)
    for child in node:
        if child.tag not in schema.children:
            raise TwimlError(SCHEMA_VALIDATION, f"<{child.tag}> cannot be nested in <{node.tag}>")
        child_schema = VERBS.get(child.tag) if node.tag == "Gather" else NOUNS.get(child.tag)
        _check_element(child, child_schema or Element())


def _check_no_stray_text(node: ET.Element) -> None:
    texts = [node.text or ""] + [child.tail or "" for child in node]
    if any(t.strip() for t in texts):
        raise TwimlError(SCHEMA_VALIDATION, f"<{node.tag}> cannot contain text")
