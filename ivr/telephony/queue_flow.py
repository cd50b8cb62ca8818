"""<Enqueue>: a caller waiting in a queue, hearing the waitUrl document over and over."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from ivr.telephony import twiml_rules as rules
from ivr.telephony.call_result import TranscriptEntry
from ivr.telephony.callers import QueueStatus
from ivr.telephony.flow_base import (
    WAITING,
    Bridge,
    Failure,
    Flow,
    Goto,
    Outcome,
    Stop,
    attr_method,
    resolve,
)

if TYPE_CHECKING:
    from ivr.telephony.call_flow import SimulatedCall

# Without a waitUrl Twilio plays its own hold music; the simulator counts it as one pass.
DEFAULT_HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/"
DEFAULT_HOLD_SECONDS = 30.0


def run_enqueue(call: SimulatedCall, verb: ET.Element, doc_url: str) -> Flow:
    """Hold the caller in the named queue until they leave, hang up, are redirected or bridged."""
    sim = call.sim
    name = (verb.text or "").strip() or f"workflow:{verb.get('workflowSid', '')}"
    queue_sid = sim.queue_sid(name)
    action = resolve(doc_url, verb.get("action")) if verb.get("action") else None
    method = attr_method(verb)
    wait_url = resolve(doc_url, verb.get("waitUrl")) if verb.get("waitUrl") else None
    wait_method = attr_method(verb, "waitUrlMethod")
    # The queue resource's MaxSize (REST API; Twilio's default for a queue <Enqueue> creates), as on Twilio.
    max_size = sim.queue_max_size(name)

    def report(result: str, queue_time: int) -> dict[str, str]:
        call.result.queue_results.append(result)
        return {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(queue_time)}

    if sim.queue_position(name, call)[1] >= max_size:
        call.log(TranscriptEntry("enqueue", name, detail={"full": True}))
        params = report("queue-full", 0)
        return Goto(action, method, params, "enqueue-action") if action else None

    sim.join_queue(name, call)
    call.queue, call.queue_entered_at = name, sim.clock.now()
    call.result.final_queue = name
    position, size = sim.queue_position(name, call)
    call.log(TranscriptEntry("enqueue", name, detail={"position": position, "queue_sid": queue_sid}))
    outcome = yield from _wait(call, name, queue_sid, wait_url, wait_method, max_size)

    bridge = call.take_bridge() if outcome is Stop.INTERRUPTED and not call.hangup_requested else None
    queue_time = bridge.queue_time if bridge else call.queue_time()
    sim.leave_queue(name, call, queue_time)
    call.queue = None

    if bridge is not None:
        yield from _announce(call, bridge)
        detail = {"agent_call": bridge.agent_sid, "seconds": bridge.seconds}
        call.log(TranscriptEntry("bridged", name, detail=detail))
        params = report("bridged", queue_time)
        return Goto(action, method, params, "enqueue-action") if action else None
    if outcome is Stop.LEAVE:
        params = report("leave", queue_time)
        return Goto(action, method, params, "enqueue-action") if action else None
    if isinstance(outcome, Failure):
        # The wait document could not be fetched or run (refused, timed out, HTTP error, bad TwiML): the
        # caller leaves the queue with QueueResult=error and the action's TwiML runs (no action: the verb
        # after <Enqueue>). If the action fails too, the call's own recovery asks the number's fallback URL.
        params = report("error", queue_time)
        return Goto(action, method, params, "enqueue-action") if action else None
    if outcome is Stop.INTERRUPTED and not call.hangup_requested:
        redirect = call.take_redirect()
        _tell(call, action, method, report("redirected", queue_time))
        if redirect is not None:
            call.log(TranscriptEntry("redirect", url=redirect.url, detail={"source": "api"}))
            return redirect
        return None
    # The caller hung up, the wait document said <Hangup/>, or the REST API ended the call.
    _tell(call, action, method, report("hangup", queue_time))
    return call.end("api") if call.hangup_requested else Stop.END


def _wait(
    call: SimulatedCall, name: str, queue_sid: str, wait_url: str | None, wait_method: str, max_size: int
) -> Flow:
    """Loop over the wait document until something takes the caller out of the queue.

    Documents reached from the wait document (<Redirect>, or a <Gather>'s action after the caller
    pressed keys) still play to the queued caller: Twilio documents that the call returns to the
    waitUrl when no TwiML is left, and that only <Leave>, <Hangup>, a REST redirect or a <Dial>
    <Queue> take it out.  So a <Gather> action requests no Enqueue action; its TwiML may use the
    wait verbs only and leaves the queue with <Leave/>.
    """
    sim = call.sim
    passes = 0
    while True:
        passes += 1
        position, size = sim.queue_position(name, call)
        call.result.final_queue_position = position
        call.log(TranscriptEntry("wait", name, url=wait_url, detail={"position": position, "pass": passes}))
        outcome: Outcome = None
        if wait_url:
            params = {
                "QueuePosition": str(position),
                "QueueSid": queue_sid,
                "QueueTime": str(call.queue_time()),
                "AvgQueueTime": str(sim.average_wait(name)),
                "CurrentQueueSize": str(size),
                "MaxQueueSize": str(max_size),
            }
            goto = Goto(wait_url, wait_method, params, "wait")
            outcome = yield from call.follow(goto, "wait", rules.WAIT_VERBS)
        else:
            call.log(TranscriptEntry("play", url=DEFAULT_HOLD_MUSIC, detail={"source": "twilio"}))
            sim.clock.advance(DEFAULT_HOLD_SECONDS)
        if outcome is None:
            # The wait document ran out: the caller is idle in the queue until Twilio re-fetches it.
            yield WAITING
            outcome = call.interruption("wait")
        status = QueueStatus(name, position, call.queue_time(), passes)
        if outcome is None and not call.caller.keep_waiting(status):
            call.log(TranscriptEntry("input", detail={"type": "hangup"}))
            outcome = call.end("caller-hangup")
        if outcome is not None:
            return outcome


def _announce(call: SimulatedCall, bridge: Bridge) -> Flow:
    """Play the <Queue url> document to the dequeued caller before connecting the agent."""
    if not bridge.url:
        return None
    params = {
        "QueueSid": bridge.queue_sid,
        "QueueTime": str(bridge.queue_time),
        "DequeingCallSid": bridge.agent_sid,
    }
    goto = Goto(bridge.url, bridge.method, params, "dequeue-announce")
    yield from call.follow(goto, "announce", rules.DEQUEUE_ANNOUNCE_VERBS)
    return None


def _tell(call: SimulatedCall, action: str | None, method: str, params: dict[str, str]) -> None:
    """Request the Enqueue action when its TwiML can no longer be used (hangup, redirect)."""
    if action:
        call.notify(Goto(action, method, params, "enqueue-action"))
