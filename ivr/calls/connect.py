"""Webhooks that connect a routed caller to an agent, and what follows: answered, missed, recorded, call-back.

They are on the `voice` blueprint (ivr/calls/routes.py), so the same signature check and rescue handler apply.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, request
from sqlalchemy import update
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.calls import events as call_events
from ivr.calls import twiml
from ivr.calls.callbacks import confirm_callback
from ivr.calls.flow import Said
from ivr.calls.inputs import whole_number as _int
from ivr.calls.menu_actions import spell
from ivr.calls.webhook import Webhooks, call_request, xml
from ivr.calls.webhook import action_url as _url
from ivr.calls.webhook import language_arg as _language
from ivr.db.deadline import bounded
from ivr.db.models import Agent, Call, QueueEntry, utcnow
from ivr.events import kinds
from ivr.hotline import Hotline
from ivr.queueing.agent_states import set_state
from ivr.web.current_hotline import hotline
from routing.model import Rules


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


def _back_in_queue(h: Hotline, entry: QueueEntry | None, language: str, said: list[Said]) -> VoiceResponse:
    queue = entry.queue if entry else "general"
    flags = {"q": queue, "l": language, "e": int(bool(entry and entry.emergency))}
    return twiml.enqueue(h.voice, said, queue, _url("voice.wait", **flags), _url("voice.queue_exit", **flags))


def connect() -> Response:
    """The dispatcher redirected a waiting caller here: dial the agent it chose."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, agent = _entry_and_agent(h)
    offered = call_request().record(kinds.AgentOffered(agent_id=agent.id if agent else None))
    call_events.write(h.sessions, h.spool, [offered])
    if entry is None or agent is None or entry.agent_id != agent.id:
        return xml(_back_in_queue(h, entry, language, []))  # a stale redirect: keep waiting
    return xml(_dial_agent(h, agent, [], language))


def agent_leg() -> Response:
    """Status of the agent's leg: answered means the agent is on the call."""
    h = hotline()
    if request.form.get("CallStatus") == "in-progress":
        with h.sessions() as session, session.begin():
            entry = session.get(QueueEntry, _int(request.args.get("e"), 0))
            agent = session.get(Agent, _int(request.args.get("a"), 0))
            if entry is not None and agent is not None and agent.state == "ringing":
                entry.status = "connected"
                agent.misses = 0
                set_state(session, agent, "on_call", call_sid=entry.call_sid)
    return xml(VoiceResponse())


def agent_result() -> Response:
    """The Dial to the agent ended: a completed call goes to wrap-up; anything else puts the caller back."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    status = request.form.get("DialCallStatus", "")
    now = utcnow()
    entry_id, agent_id = _int(request.args.get("e"), 0), _int(request.args.get("a"), 0)

    def settle() -> tuple[QueueEntry | None, Agent | None]:
        with h.sessions() as session, session.begin():
            entry = session.get(QueueEntry, entry_id)
            agent = session.get(Agent, agent_id)
            if status == "completed":
                _completed(h, session, entry, agent, now)
            else:
                _missed(h, session, entry, agent, status, now)
            return entry, agent

    entry, agent = bounded(settle)  # a hung database: the rescue within the webhook's budget
    duration = request.form.get("DialCallDuration", "")
    ended = kinds.AgentResult(status=status, agent_id=agent.id if agent else None, duration=duration)
    result = call_request().record(ended)
    call_events.write(h.sessions, h.spool, [result])
    if status == "completed":
        return xml(twiml.speak_and_hang_up(h.voice, []))
    if entry is not None and entry.status == "callback":
        return xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    return xml(_back_in_queue(h, entry, language, [Said("agent_missed_requeue", language)]))


def _completed(h: Hotline, session, entry, agent, now) -> None:  # type: ignore[no-untyped-def]
    if entry is not None:
        entry.status, entry.ended_at = "done", now
        session.execute(update(Call).where(Call.call_sid == entry.call_sid).values(outcome="answered"))
    if agent is not None and agent.state in ("ringing", "on_call"):
        seconds = _wrap_up_seconds(h.rules.live(), entry, agent, now)
        set_state(session, agent, "wrap_up", call_sid=agent.call_sid, now=now)
        agent.wrap_up_until = now + timedelta(seconds=seconds)
        agent.misses = 0


def _wrap_up_seconds(rules: Rules, entry: QueueEntry | None, agent: Agent, now: datetime) -> float:
    """The wrap-up of the group the call came from (the step that served it, e.g. safety 30 s); without an
    entry or a group for it, the agent's first group's; 60 s if none says."""
    from ivr.queueing.dispatch import epoch, routing_call
    from routing.router import serving_group

    group = None
    if entry is not None:
        try:  # where the router stood when it paired them (the claim's time): the step that served the call
            group = serving_group(rules, routing_call(entry), epoch(entry.claimed_at or now))
        except LookupError:
            group = None
        if group not in rules.wrap_up_seconds and entry.queue in rules.wrap_up_seconds:
            group = entry.queue
    if group not in rules.wrap_up_seconds:
        group = next((g for g in (agent.groups or []) if g in rules.wrap_up_seconds), None)
    return rules.wrap_up_seconds.get(group, 60.0) if group else 60.0


def _missed(h: Hotline, session, entry, agent, status, now) -> None:  # type: ignore[no-untyped-def]
    if entry is not None and entry.status in ("offered", "connected"):
        # Back at the head: the original waiting_since is kept, so the caller is served before later ones.
        entry.status = "callback" if entry.callback_number else "waiting"
        entry.agent_id, entry.claimed_at = None, None
    if agent is not None and agent.state in ("ringing", "on_call"):
        agent.misses += 1
        if agent.misses >= h.settings.max_missed_offers:
            set_state(session, agent, "break", reason="not answering", now=now)
        else:
            set_state(session, agent, "available", reason=f"missed a call ({status or 'no status'})", now=now)


def recording() -> Response:
    """The Dial's recordingStatusCallback: an event whose projection stores the `recordings` row."""
    h = hotline()
    form = request.form
    reported = kinds.RecordingReported(
        recording_sid=form.get("RecordingSid", ""),
        recording_url=form.get("RecordingUrl", ""),
        recording_duration=form.get("RecordingDuration", ""),
        recording_status=form.get("RecordingStatus", ""),
        recording_channels=form.get("RecordingChannels", ""),
        error_code=form.get("ErrorCode", ""),  # why a recording failed
        agent_id=request.args.get("a", ""),
    )
    call_events.write(h.sessions, h.spool, [call_request().record(reported)])
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
    status = request.form.get("CallStatus", "")
    if status in ("busy", "no-answer", "failed", "canceled"):
        with h.sessions() as session, session.begin():
            entry = session.get(QueueEntry, _int(request.args.get("e"), 0))
            agent = session.get(Agent, _int(request.args.get("a"), 0))
            if entry is not None and entry.status == "offered":
                entry.status, entry.ended_at = "callback-failed", utcnow()
            if agent is not None and agent.state == "ringing":
                set_state(session, agent, "available", reason=f"call-back {status}")
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
