"""<Gather> and <Record>: the verbs where the caller answers."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from typing import TYPE_CHECKING

from ivr.telephony.call_result import TranscriptEntry
from ivr.telephony.callers import CallerAction, GatherPrompt, RecordPrompt
from ivr.telephony.flow_base import (
    KEY_SECONDS,
    SAY_SECONDS_PER_CHAR,
    Goto,
    Stop,
    attr_int,
    attr_method,
    media_entry,
    media_seconds,
    resolve,
)

if TYPE_CHECKING:
    from ivr.telephony.call_flow import SimulatedCall


def run_gather(call: SimulatedCall, verb: ET.Element, doc_url: str) -> Goto | Stop | None:
    """Play the nested prompts, take the caller's input and report it to the action URL."""
    inputs = frozenset((verb.get("input") or "dtmf").split()) & {"dtmf", "speech"} or frozenset({"dtmf"})
    prompt = GatherPrompt(
        inputs=inputs,
        num_digits=attr_int(verb, "numDigits", 0) or None,
        finish_on_key=verb.get("finishOnKey", "#")[:1],
        timeout=attr_int(verb, "timeout", 5),
        language=verb.get("language", "en-US"),
        hints=verb.get("hints", ""),
        prompts=[media_entry(child, doc_url) for child in verb],
    )
    call.log(TranscriptEntry("gather", detail={"input": " ".join(sorted(inputs))}))
    action = call.caller.gather(prompt)
    accepted = {"digits": "dtmf", "speech": "speech"}.get(action.kind) in inputs
    barge_in = action.barge_in and accepted
    # Input given during the nested prompts (barge-in) cuts them short.
    for entry in prompt.prompts[:1] if barge_in else prompt.prompts:
        if barge_in:
            entry.detail["interrupted"] = True
        call.log(entry)
        call.sim.clock.advance(media_seconds(entry) / (2 if barge_in else 1))
    if action.kind == "hangup":
        call.log(TranscriptEntry("input", detail={"type": "hangup"}))
        return call.end("caller-hangup")
    extra = _input_params(call, action, accepted, prompt)
    if extra is None and verb.get("actionOnEmptyResult", "false").lower() != "true":
        return None  # no input: Twilio moves on to the next verb
    return Goto(resolve(doc_url, verb.get("action")), attr_method(verb), extra or {}, "gather")


def _input_params(
    call: SimulatedCall, action: CallerAction, accepted: bool, prompt: GatherPrompt
) -> dict[str, str] | None:
    """Log the caller's input; return the action parameters Twilio sends for it (None: no input)."""
    clock = call.sim.clock
    if accepted and action.kind == "digits":
        digits, finished_on = collect_keys(action.value, prompt.num_digits, prompt.finish_on_key)
        pressed = clock.now()
        clock.advance(KEY_SECONDS * len(action.value))
        if not finished_on and (prompt.num_digits is None or len(digits) < prompt.num_digits):
            clock.advance(prompt.timeout)  # Twilio waits `timeout` after the last key
        keys: dict[str, object] = {"type": "digits", "keys": action.value}
        call.log(TranscriptEntry("input", digits=digits, detail=keys, at=pressed))
        if not digits:
            return None
        return {"Digits": digits} | ({"FinishedOnKey": finished_on} if finished_on else {})
    if accepted and action.kind == "speech":
        clock.advance(len(action.value) * SAY_SECONDS_PER_CHAR + 1)
        call.log(TranscriptEntry("input", action.value, language=prompt.language, detail={"type": "speech"}))
        return {"SpeechResult": action.value, "Confidence": "0.92"}
    clock.advance(prompt.timeout)
    # Keys at a speech-only Gather (or speech at a dtmf one) go unheard: Twilio sees silence.
    ignored = {"ignored": action.kind} if action.kind in ("digits", "speech") else {}
    call.log(TranscriptEntry("input", detail={"type": "silence", **ignored}))
    return None


def collect_keys(keys: str, num_digits: int | None, finish: str) -> tuple[str, str]:
    """Digits Twilio reports for the keys pressed, and the finishOnKey that ended them (if any)."""
    digits = ""
    for key in keys:
        if finish and key == finish:
            return digits, key
        digits += key
        if num_digits is not None and len(digits) >= num_digits:
            break
    return digits, ""


def run_record(call: SimulatedCall, verb: ET.Element, doc_url: str) -> Goto | Stop | None:
    """Record the caller and report the recording to the action URL."""
    max_length = attr_int(verb, "maxLength", 3600)
    finish = verb.get("finishOnKey", "1234567890*#")
    action = call.caller.record(RecordPrompt(max_length, finish))
    if action.kind == "hangup":
        call.log(TranscriptEntry("input", detail={"type": "hangup"}))
        return call.end("caller-hangup")
    seconds = 0
    if action.kind == "record":
        seconds = min(max_length, math.ceil(action.seconds or 0))
    elif action.kind == "speech":
        seconds = min(max_length, math.ceil(len(action.value) * SAY_SECONDS_PER_CHAR) or 1)
    call.sim.clock.advance(seconds + attr_int(verb, "timeout", 5))
    if seconds == 0:
        # Twilio skips the action request for an empty recording and moves on.
        call.log(TranscriptEntry("record", detail={"duration": 0, "empty": True}))
        return None
    sid = call.sim.store_recording(seconds, channels=1)
    call.result.recordings.append(sid)
    url = call.sim.recording_url(sid)
    call.log(TranscriptEntry("record", action.value, url=url, detail={"sid": sid, "duration": seconds}))
    extra = {"RecordingUrl": url, "RecordingSid": sid, "RecordingDuration": str(seconds)}
    if action.kind == "record" and finish:
        extra["Digits"] = finish[-1]
    recording_callback(call, verb, doc_url, sid, seconds, channels=1, source="RecordVerb")
    return Goto(resolve(doc_url, verb.get("action")), attr_method(verb), extra, "record")


def recording_callback(
    call: SimulatedCall, verb: ET.Element, doc_url: str, sid: str, seconds: int, *, channels: int, source: str
) -> None:
    """Schedule the recordingStatusCallback of a <Record> or recorded <Dial>, if asked for."""
    target = verb.get("recordingStatusCallback")
    events = (verb.get("recordingStatusCallbackEvent") or "completed").replace(",", " ").split()
    if not target or "completed" not in events:
        return
    params = {
        "AccountSid": call.sim.account_sid,
        "CallSid": call.sid,
        "RecordingSid": sid,
        "RecordingUrl": call.sim.recording_url(sid),
        "RecordingStatus": "completed",
        "RecordingDuration": str(seconds),
        "RecordingChannels": str(channels),
        "RecordingStartTime": format_datetime(call.sim.clock.datetime()),
        "RecordingSource": source,
        "RecordingTrack": "both",
    }
    method = attr_method(verb, "recordingStatusCallbackMethod")
    call.defer(Goto(resolve(doc_url, target), method, {}, "recording-status"), params)
