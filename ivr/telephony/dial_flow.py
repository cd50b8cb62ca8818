"""<Dial>: connecting the caller to numbers, clients, SIP, a conference or a queued caller."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TYPE_CHECKING

from ivr.telephony.call_result import TranscriptEntry
from ivr.telephony.flow_base import Bridge, Goto, Stop, attr_int, attr_method, resolve, voice_params
from ivr.telephony.input_flow import recording_callback

if TYPE_CHECKING:
    from ivr.telephony.call_flow import SimulatedCall

RING_SECONDS = 5
# Seconds before an unanswered <Dial> gives up, by outcome (no-answer uses the Dial timeout).
GIVE_UP_SECONDS = {"busy": 3, "failed": 1, "canceled": RING_SECONDS}
# Busy and failed numbers never ring: their legs go from initiated straight to completed.
UNRINGING = {"busy", "failed"}
LEG_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
# Nouns whose statusCallback reports their own child leg (a <Conference>'s reports the conference).
LEG_CALLBACK_NOUNS = {"Number", "Client", "Sip", "Application", "WhatsApp"}
_PREFIX = {"Client": "client:", "Conference": "conference:", "Sim": "sim:", "Application": "application:"}


def dial_targets(verb: ET.Element) -> list[tuple[str, str, ET.Element]]:
    """(noun, address, element) for everything a <Dial> rings; bare text is a phone number."""
    targets = []
    for noun in verb:
        text = (noun.text or "").strip()
        if noun.tag == "Client" and not text:
            text = (noun.findtext("Identity") or "").strip()
        if noun.tag == "Application":
            text = (noun.findtext("ApplicationSid") or "").strip()
        if noun.tag == "WhatsApp" and not text.startswith("whatsapp:"):
            text = f"whatsapp:{text}"
        targets.append((noun.tag, _PREFIX.get(noun.tag, "") + text, noun))
    bare = (verb.text or "").strip()
    if bare:
        targets.insert(0, ("Number", bare, verb))
    return targets


def run_dial(call: SimulatedCall, verb: ET.Element, doc_url: str) -> Goto | Stop | None:
    """Ring the targets as configured in the simulator's dial_endpoints and report the outcome."""
    targets = dial_targets(verb)
    timeout = attr_int(verb, "timeout", 30)
    started = call.sim.clock.now()
    legs: list[Leg] = []
    if targets and targets[0][0] == "Queue":
        extra = _dial_queue(call, targets[0][2], doc_url, timeout)
    else:
        legs = [_leg(call, noun, address, element, doc_url) for noun, address, element in targets]
        extra = _dial_parties(call, verb, doc_url, legs, timeout)
    status = extra["DialCallStatus"]
    addresses = [address if noun != "Queue" else f"queue:{address}" for noun, address, _ in targets]
    call.result.dialled.extend(addresses)
    detail: dict[str, object] = {"status": status, "duration": int(extra.get("DialCallDuration", 0))}
    if len(legs) > 1:
        detail["legs"] = {leg.address: leg.status for leg in legs}
    call.log(TranscriptEntry("dial", ", ".join(addresses), detail=detail, at=started))
    action = resolve(doc_url, verb.get("action")) if verb.get("action") else None
    method = attr_method(verb)
    if status == "canceled":
        # The caller hung up while it was ringing: Twilio still reports to the action URL.
        if action:
            call.notify(Goto(action, method, extra, "dial-action"))
        return call.end("caller-hangup")
    return Goto(action, method, extra, "dial-action") if action else None


@dataclass
class Leg:
    """One outbound-dial child call a <Dial> places: to one <Number>, <Client>, <Sip>..."""

    address: str
    sid: str
    outcome: str
    talk: int
    callback: str | None = None
    callback_method: str = "POST"
    events: frozenset[str] = frozenset()
    sequence: int = 0  # of the leg's status callbacks sent so far
    status: str = "initiated"  # the leg's latest call status


def _dial_parties(
    call: SimulatedCall, verb: ET.Element, doc_url: str, legs: list[Leg], timeout: int
) -> dict[str, str]:
    """Ring every leg at once; the first to answer is bridged, the others are hung up."""
    sim = call.sim
    start = sim.clock.now()
    answered = next((leg for leg in legs if leg.outcome == "answer"), None)
    extra = {"DialCallSid": (answered or legs[0]).sid if legs else sim.new_sid("CA")}
    # (seconds after the dial started, leg, event, call status): what each leg goes through.
    timeline: list[tuple[float, Leg, str, str]] = []
    for leg in legs:
        timeline.append((0, leg, "initiated", "initiated"))
    for leg in legs:
        if leg.outcome not in UNRINGING:
            timeline.append((0, leg, "ringing", "ringing"))
    if answered is None:
        kinds = {leg.outcome for leg in legs} or {"failed"}
        status = kinds.pop() if len(kinds) == 1 else ("canceled" if "canceled" in kinds else "no-answer")
        # The caller hanging up (a "canceled" endpoint) stops whatever still rings.
        stop = RING_SECONDS if status == "canceled" else None
        ends = {}
        for leg in legs:
            end = GIVE_UP_SECONDS.get(leg.outcome, timeout)
            final = leg.outcome
            if stop is not None and end >= stop:
                end, final = stop, "canceled"
            ends[leg.sid] = end
            timeline.append((end, leg, "completed", final))
        _play_timeline(call, verb, start, timeline)
        sim.clock.advance(start + max(ends.values(), default=GIVE_UP_SECONDS["failed"]) - sim.clock.now())
        extra.update(DialCallStatus=status, DialBridged="false")
        return extra
    timeline.append((RING_SECONDS, answered, "answered", "in-progress"))
    for leg in legs:
        if leg is not answered:
            # Busy and failed numbers give up before anyone answers; the rest stop ringing.
            lost = leg.outcome in UNRINGING
            end = min(GIVE_UP_SECONDS[leg.outcome], RING_SECONDS) if lost else RING_SECONDS
            timeline.append((end, leg, "completed", leg.outcome if lost else "canceled"))
    _play_timeline(call, verb, start, timeline)
    talk = min(answered.talk, attr_int(verb, "timeLimit", 14400))
    sim.clock.advance(start + RING_SECONDS + talk - sim.clock.now())
    extra.update(DialCallStatus="completed", DialCallDuration=str(talk), DialBridged="true")
    recording: dict[str, str] = {}
    record = verb.get("record", "do-not-record")
    if record.startswith("record-from") or record == "true":
        seconds = talk + (RING_SECONDS if "ringing" in record else 0)
        channels = 2 if record.endswith("-dual") else 1
        sid = sim.store_recording(seconds, channels)
        call.result.recordings.append(sid)
        recording = {
            "RecordingUrl": sim.recording_url(sid),
            "RecordingSid": sid,
            "RecordingDuration": str(seconds),
        }
        extra.update(recording)
        recording_callback(call, verb, doc_url, sid, seconds, channels=channels, source="DialVerb")
    _leg_event(call, verb, answered, "completed", "completed", {"CallDuration": str(talk), **recording})
    return extra


def _leg(call: SimulatedCall, noun: str, address: str, element: ET.Element, doc_url: str) -> Leg:
    """A child leg for one dialled noun, with the outcome its endpoint gives this attempt."""
    outcome, talk = call.sim.dial_attempt(address)
    leg = Leg(address, call.sim.new_sid("CA"), outcome, talk)
    target = element.get("statusCallback") if noun in LEG_CALLBACK_NOUNS else None
    if target:
        events = (element.get("statusCallbackEvent") or "completed").replace(",", " ").split()
        leg.callback = resolve(doc_url, target)
        leg.callback_method = attr_method(element, "statusCallbackMethod")
        leg.events = frozenset(events) & LEG_EVENTS
    return leg


def _play_timeline(
    call: SimulatedCall, verb: ET.Element, start: float, timeline: list[tuple[float, Leg, str, str]]
) -> None:
    """Send the legs' progress callbacks in time order, moving the clock along."""
    for offset, leg, event, status in sorted(timeline, key=lambda item: item[0]):
        call.sim.clock.advance(start + offset - call.sim.clock.now())
        duration = {"CallDuration": "0"} if event == "completed" else {}
        _leg_event(call, verb, leg, event, status, duration)


def _leg_event(
    call: SimulatedCall, verb: ET.Element, leg: Leg, event: str, status: str, extra: dict[str, str]
) -> None:
    """One call-progress event of a child leg: its statusCallback if it asked for this event.

    Like every status callback, the answer is ignored; failures are only recorded.
    """
    leg.status = status
    if not leg.callback or event not in leg.events:
        return
    caller_id = verb.get("callerId") or call.result.from_
    params = voice_params(call.sim.account_sid, leg.sid, status, "outbound-dial", caller_id, leg.address)
    params.update(
        ParentCallSid=call.sid,
        Timestamp=format_datetime(call.sim.clock.datetime()),
        CallbackSource="call-progress-events",
        SequenceNumber=str(leg.sequence),
        **extra,
    )
    leg.sequence += 1
    call.notify(Goto(leg.callback, leg.callback_method, {}, f"dial-status-{event}"), params)


def _dial_queue(call: SimulatedCall, noun: ET.Element, doc_url: str, timeout: int) -> dict[str, str]:
    """An agent dials a queue: the longest-waiting simulated caller in it is bridged."""
    sim = call.sim
    name = (noun.text or "").strip()
    queue_sid = sim.queue_sid(name)
    target = sim.dequeue_first(name)
    if target is None:
        sim.clock.advance(timeout)
        return {"DialCallStatus": "no-answer", "QueueSid": queue_sid, "DialBridged": "false"}
    queue_time = target.queue_time()
    url = resolve(doc_url, noun.get("url")) if noun.get("url") else None
    talk = sim.talk_seconds
    method = attr_method(noun)
    target.request_bridge(Bridge(call.sid, queue_sid, url, method, talk, queue_time))
    sim.clock.advance(talk)
    return {
        "DialCallStatus": "completed",
        "DialCallSid": target.sid,
        "DialCallDuration": str(talk),
        "DialBridged": "true",
        "QueueSid": queue_sid,
        "DequeuedCallSid": target.sid,
        "DequeuedCallQueueTime": str(queue_time),
    }
