"""<Dial>: connecting the caller to numbers, clients, SIP, a conference or a queued caller."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from ivr.telephony.call_result import TranscriptEntry
from ivr.telephony.flow_base import Bridge, Goto, Stop, attr_int, attr_method, resolve
from ivr.telephony.input_flow import recording_callback

if TYPE_CHECKING:
    from ivr.telephony.call_flow import SimulatedCall

RING_SECONDS = 5
# Seconds before an unanswered <Dial> gives up, by outcome (no-answer uses the Dial timeout).
GIVE_UP_SECONDS = {"busy": 3, "failed": 1, "canceled": RING_SECONDS}
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
    if targets and targets[0][0] == "Queue":
        extra = _dial_queue(call, targets[0][2], doc_url, timeout)
    else:
        extra = _dial_parties(call, verb, doc_url, [address for _, address, _ in targets], timeout)
    status = extra["DialCallStatus"]
    addresses = [address if noun != "Queue" else f"queue:{address}" for noun, address, _ in targets]
    call.result.dialled.extend(addresses)
    detail: dict[str, object] = {"status": status, "duration": int(extra.get("DialCallDuration", 0))}
    call.log(TranscriptEntry("dial", ", ".join(addresses), detail=detail))
    action = resolve(doc_url, verb.get("action")) if verb.get("action") else None
    method = attr_method(verb)
    if status == "canceled":
        # The caller hung up while it was ringing: Twilio still reports to the action URL.
        if action:
            call.notify(Goto(action, method, extra, "dial-action"))
        return call.end("caller-hangup")
    return Goto(action, method, extra, "dial-action") if action else None


def _dial_parties(
    call: SimulatedCall, verb: ET.Element, doc_url: str, addresses: list[str], timeout: int
) -> dict[str, str]:
    sim = call.sim
    outcomes = [(address, *sim.endpoint(address)) for address in addresses]
    extra = {"DialCallSid": sim.new_sid("CA")}
    answered = next(((address, talk) for address, outcome, talk in outcomes if outcome == "answer"), None)
    if answered is None:
        kinds = {outcome for _, outcome, _ in outcomes} or {"failed"}
        status = kinds.pop() if len(kinds) == 1 else ("canceled" if "canceled" in kinds else "no-answer")
        sim.clock.advance(GIVE_UP_SECONDS.get(status, timeout))
        extra.update(DialCallStatus=status, DialBridged="false")
        return extra
    talk = min(answered[1], attr_int(verb, "timeLimit", 14400))
    sim.clock.advance(RING_SECONDS + talk)
    extra.update(DialCallStatus="completed", DialCallDuration=str(talk), DialBridged="true")
    record = verb.get("record", "do-not-record")
    if record.startswith("record-from") or record == "true":
        seconds = talk + (RING_SECONDS if "ringing" in record else 0)
        channels = 2 if record.endswith("-dual") else 1
        sid = sim.store_recording(seconds, channels)
        call.result.recordings.append(sid)
        extra.update(RecordingUrl=sim.recording_url(sid), RecordingSid=sid, RecordingDuration=str(seconds))
        recording_callback(call, verb, doc_url, sid, seconds, channels=channels, source="DialVerb")
    return extra


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
