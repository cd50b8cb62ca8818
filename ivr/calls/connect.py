"""Webhooks that connect a routed caller to an agent, and what follows: answered, missed, recorded, call-back.

They share the `voice` blueprint, so the same signature check and the same rescue handler apply.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, request
from sqlalchemy import update
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.calls import twiml
from ivr.calls.flow import Said
from ivr.calls.menu_actions import spell
from ivr.calls.views import _event, _int, _language, _url, _xml, bp
from ivr.db.deadline import bounded
from ivr.db.models import Agent, Call, QueueEntry, utcnow
from ivr.events.recorder import record_events
from ivr.hotline import Hotline, hotline
from ivr.queueing.agent_states import set_state
from ivr.queueing.queue_entries import book_callback
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


@bp.post("/connect")
def connect() -> Response:
    """The dispatcher redirected a waiting caller here: dial the agent it chose."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, agent = _entry_and_agent(h)
    record_events(h.sessions, h.spool, [_event("agent.offered", {"agent_id": agent.id if agent else None})])
    if entry is None or agent is None or entry.agent_id != agent.id:
        return _xml(_back_in_queue(h, entry, language, []))  # a stale redirect: keep waiting
    return _xml(_dial_agent(h, agent, [], language))


@bp.post("/agent-leg")
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
    return _xml(VoiceResponse())


@bp.post("/agent-result")
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
    data = {
        "status": status,
        "agent_id": agent.id if agent else None,
        "duration": request.form.get("DialCallDuration", ""),
    }
    record_events(h.sessions, h.spool, [_event("agent.result", data)])
    if status == "completed":
        return _xml(twiml.speak_and_hang_up(h.voice, []))
    if entry is not None and entry.status == "callback":
        return _xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    return _xml(_back_in_queue(h, entry, language, [Said("agent_missed_requeue", language)]))


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


@bp.post("/recording")
def recording() -> Response:
    """The Dial's recordingStatusCallback: an event whose projection stores the `recordings` row."""
    h = hotline()
    form = request.form
    keys = ("RecordingSid", "RecordingUrl", "RecordingDuration", "RecordingStatus", "RecordingChannels")
    data = {k: form.get(k, "") for k in (*keys, "ErrorCode")}  # ErrorCode: why a recording failed
    data["agent_id"] = request.args.get("a", "")
    record_events(h.sessions, h.spool, [_event("recording", data)])
    return _xml(VoiceResponse())


# ---------------------------------------------------------------- call-backs


@bp.post("/callback-offer")
def callback_offer() -> Response:
    """A waiting caller pressed a key at the call-back offer: confirm the number, or keep waiting."""
    # The caller is still in the queue while these answers play (Twilio fetches the waitUrl again after),
    # so they may only hold wait-document verbs: Say, Gather, Pause, Leave, Hangup.
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, _ = _entry_and_agent(h)
    if request.form.get("Digits") != "1" or entry is None:
        return _xml(VoiceResponse())
    number = request.form.get("From", "")
    said = [Said("callback_confirm", language, (("number", spell(number.lstrip("+"))),))]
    action = _url("voice.callback_confirm", e=entry.id, l=language)
    return _xml(twiml.gather_in_wait(h.voice, said, action, 1))


@bp.post("/callback-confirm")
def callback_confirm() -> Response:
    """1 books the call-back (the place is kept) and ends the call; anything else keeps waiting."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, _ = _entry_and_agent(h)
    if request.form.get("Digits") != "1" or entry is None:
        return _xml(VoiceResponse())  # keep waiting: the waitUrl takes over again
    entry_id, caller = entry.id, request.form.get("From", "")

    def book() -> str:
        # A number already owed a call-back is owed one: this request joins it (the earlier place is kept).
        with h.sessions() as session, session.begin():
            return book_callback(session, entry_id, caller)

    booked = bounded(book)
    record_events(h.sessions, h.spool, [_event("callback.booked", {"entry": entry.id, "as": booked})])
    return _xml(twiml.speak_and_hang_up(h.voice, [Said("callback_booked", language)]))


@bp.post("/callback-connect")
def callback_connect() -> Response:
    """The customer we called back answered: say who we are, then dial the reserved agent."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    entry, agent = _entry_and_agent(h)
    if request.form.get("AnsweredBy", "human").startswith("machine"):
        return _xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    if entry is None or agent is None:
        return _xml(twiml.speak_and_hang_up(h.voice, [Said("call_back_later_noted", language)]))
    return _xml(_dial_agent(h, agent, [Said("callback_intro", language)], language))


@bp.post("/callback-status")
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
    return _xml(VoiceResponse())
