"""Webhooks that connect a routed caller to an agent, and what follows: answered, missed, recorded, call-back.

They are on the `voice` blueprint (ivr/calls/routes.py), so the same signature check and rescue handler apply.
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.calls import events as call_events
from ivr.calls import twiml
from ivr.calls.agent_calls import agent_answered, agent_dial_ended, call_back_ended
from ivr.calls.callbacks import confirm_callback
from ivr.calls.events import GENERAL_QUEUE
from ivr.calls.flow import Said
from ivr.calls.inputs import whole_number as _int
from ivr.calls.menu_actions import spell
from ivr.calls.webhook import Webhooks, call_request, xml
from ivr.calls.webhook import action_url as _url
from ivr.calls.webhook import language_arg as _language
from ivr.db.deadline import bounded
from ivr.db.models import Agent, QueueEntry
from ivr.events import kinds
from ivr.hotline import Hotline
from ivr.web.current_hotline import hotline


def _entry_and_agent(h: Hotline) -> tuple[QueueEntry | None, Agent | None]:
    entry_id, agent_id = _int(request.args.get("e"), 0), _int(request.args.get("a"), 0)

    def read() -> tuple[QueueEntry | None, Agent | None]:
        with h.sessions() as session:
            return session.get(QueueEntry, entry_id), session.get(Agent, agent_id)

    return bounded(read)  # a hung database: the rescue within the webhook's budget (ivr/db/deadline.py)


def _dial_agent(h: Hotline, agent: Agent, said: list[Said], language: str) -> VoiceResponse:
    """Consent line, then dial the agent, recorded on both channels, with the answer reported back."""
    flags = {"e": request.args.get("e", ""), "a": agent.id, "l": language}
    response = VoiceResponse()
    h.voice.add(response, [*said, Said("recording_consent", language)])
    dial = Dial(
        action=_url("voice.agent_result", **flags),
        method="POST",
        timeout=h.settings.agent_ring_seconds,
        record="record-from-answer-dual",
        recording_status_callback=_url("voice.recording", **flags),
        recording_status_callback_method="POST",
    )
    leg = {
        "status_callback_event": "answered",
        "status_callback": _url("voice.agent_leg", **flags),
        "status_callback_method": "POST",
    }
    if agent.client_identity:
        dial.client(agent.client_identity, **leg)
    else:
        dial.number(agent.phone or "", **leg)
    response.append(dial)
    return response


def _back_in_queue(h: Hotline, queue: str, emergency: bool, language: str, said: list[Said]) -> VoiceResponse:
    flags = {"q": queue, "l": language, "e": int(emergency)}
    return twiml.enqueue(h.voice, said, queue, _url("voice.wait", **flags), _url("voice.queue_exit", **flags))


def connect() -> Response:
    """The dispatcher redirected a waiting caller here: dial the agent it chose."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, agent = _entry_and_agent(h)
    call = call_request()
    offered = call.record(kinds.AgentOffered(**call.numbers(), agent_id=agent.id if agent else None))
    call_events.write(h.sessions, h.spool, [offered])
    if entry is None or agent is None or entry.agent_id != agent.id:
        queue, emergency = (entry.queue, bool(entry.emergency)) if entry else (GENERAL_QUEUE, False)
        return xml(_back_in_queue(h, queue, emergency, language, []))  # a stale redirect: keep waiting
    return xml(_dial_agent(h, agent, [], language))


def agent_leg() -> Response:
    """Status of the agent's leg: answered means the agent is on the call."""
    h = hotline()
    if request.form.get("CallStatus") == "in-progress":
        entry_id, agent_id = _int(request.args.get("e"), 0), _int(request.args.get("a"), 0)
        agent_answered(entry_id=entry_id, agent_id=agent_id, sessions=h.sessions)
    return xml(VoiceResponse())


def agent_result() -> Response:
    """The Dial to the agent ended: a completed call goes to wrap-up; anything else puts the caller back."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    ended = agent_dial_ended(
        call_request(),
        entry_id=_int(request.args.get("e"), 0),
        agent_id=_int(request.args.get("a"), 0),
        status=request.form.get("DialCallStatus", ""),
        duration=request.form.get("DialCallDuration", ""),
        sessions=h.sessions,
        spool=h.spool,
        live_rules=h.rules.live,
        max_missed_offers=h.settings.max_missed_offers,
    )
    if ended.completed:
        return xml(twiml.speak_and_hang_up(h.voice, []))
    if ended.callback_owed:
        return xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    missed = [Said("agent_missed_requeue", language)]
    return xml(_back_in_queue(h, ended.queue, ended.emergency, language, missed))


def recording() -> Response:
    """The Dial's recordingStatusCallback: an event whose projection stores the `recordings` row."""
    h = hotline()
    form = request.form
    call = call_request()
    reported = kinds.RecordingReported(
        **call.numbers(),
        recording_sid=form.get("RecordingSid", ""),
        recording_url=form.get("RecordingUrl", ""),
        recording_duration=form.get("RecordingDuration", ""),
        recording_status=form.get("RecordingStatus", ""),
        recording_channels=form.get("RecordingChannels", ""),
        error_code=form.get("ErrorCode", ""),  # why a recording failed
        agent_id=request.args.get("a", ""),
    )
    call_events.write(h.sessions, h.spool, [call.record(reported)])
    return xml(VoiceResponse())


# ---------------------------------------------------------------- call-backs


def callback_offer() -> Response:
    """A waiting caller pressed a key at the call-back offer: confirm the number, or keep waiting."""
    # The caller is still in the queue while these answers play (Twilio fetches the waitUrl again after),
    # so they may only hold wait-document verbs: Say, Gather, Pause, Leave, Hangup.
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, _ = _entry_and_agent(h)
    if request.form.get("Digits") != "1" or entry is None:
        return xml(VoiceResponse())
    number = request.form.get("From", "")
    said = [Said("callback_confirm", language, (("number", spell(number.lstrip("+"))),))]
    action = _url("voice.callback_confirm", e=entry.id, l=language)
    return xml(twiml.gather_in_wait(h.voice, said, action, 1))


def callback_confirm() -> Response:
    """1 books the call-back (the place is kept) and ends the call; anything else keeps waiting."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, _ = _entry_and_agent(h)
    if request.form.get("Digits") != "1" or entry is None:
        return xml(VoiceResponse())  # keep waiting: the waitUrl takes over again
    confirm_callback(call_request(), entry_id=entry.id, sessions=h.sessions, spool=h.spool)
    return xml(twiml.speak_and_hang_up(h.voice, [Said("callback_booked", language)]))


def callback_connect() -> Response:
    """The customer we called back answered: say who we are, then dial the reserved agent."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, agent = _entry_and_agent(h)
    if request.form.get("AnsweredBy", "human").startswith("machine"):
        return xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    if entry is None or agent is None:
        return xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    return xml(_dial_agent(h, agent, [Said("callback_intro", language)], language))


def callback_status() -> Response:
    """The outbound call-back ended: if nobody answered, free the agent; the reply is still owed."""
    h = hotline()
    entry_id, agent_id = _int(request.args.get("e"), 0), _int(request.args.get("a"), 0)
    status = request.form.get("CallStatus", "")
    call_back_ended(entry_id=entry_id, agent_id=agent_id, status=status, sessions=h.sessions)
    return xml(VoiceResponse())


WEBHOOKS: Webhooks = (
    ("/connect", connect),
    ("/agent-leg", agent_leg),
    ("/agent-result", agent_result),
    ("/recording", recording),
    ("/callback-offer", callback_offer),
    ("/callback-confirm", callback_confirm),
    ("/callback-connect", callback_connect),
    ("/callback-status", callback_status),
)
