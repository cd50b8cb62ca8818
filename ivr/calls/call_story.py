"""A call's story told from its events, for `run.py why`.

What the caller did, where the call went, and why it reached no agent when it did not (after hours, the duty
engineer, a voicemail, a hang-up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, AgentStateChange, Call, CallEvent
from ivr.events import kinds

# What Twilio's QueueResult means for the caller.
_QUEUE_RESULTS = {
    "bridged": "connected from the queue",
    "redirected": "taken out of the queue by the server (to an agent, or to the duty engineer)",
    "hangup": "hung up while waiting",
    "leave": "left the queue when the server said so",
    "queue-full": "the queue was full",
    "error": "Twilio could not run the queue",
    "system-error": "Twilio could not run the queue",
}


@dataclass(frozen=True)
class CallStory:
    """One call: its record, its lines in time order, and the verdict in one sentence."""

    call_sid: str
    lines: list[str]
    verdict: str


def call_story(session: Session, call_sid: str) -> CallStory | None:
    """The story of the call whose CallSid is (or starts with) `call_sid`; None if there is no such call."""
    call = session.scalars(select(Call).where(Call.call_sid.startswith(call_sid)).limit(1)).first()
    if call is None:
        return None
    rows = session.scalars(
        select(CallEvent).where(CallEvent.call_sid == call.call_sid).order_by(CallEvent.at, CallEvent.id)
    ).all()
    events = []
    for row in rows:
        try:
            events.append((row.at, kinds.parse_data(row.kind, row.data)))
        except kinds.EventDataError:
            continue  # an event this version cannot read says nothing to the story
    names = {agent_id: name for agent_id, name in session.execute(select(Agent.id, Agent.name))}
    lines = [f"{at:%Y-%m-%d %H:%M:%S}  {text}" for at, event in events if (text := describe(event, names))]
    queued_at = next((at for at, event in events if isinstance(event, kinds.CallQueued)), None)
    if queued_at is not None and not _reached_agent(events):
        lines.append(f"agents when the caller was queued: {agents_at(session, queued_at)}")
    return CallStory(call.call_sid, lines, verdict([event for _, event in events], call, names))


def describe(event: kinds.Event, names: dict[int, str]) -> str:
    """One event in words (empty for those that tell nothing new, such as each queue announcement)."""
    if isinstance(event, kinds.CallStarted):
        return f"call answered: menu version {event.menu_version}, {event.language or ''}".rstrip(", ")
    if isinstance(event, kinds.MenuTurn):
        given = event.digits or (f'said "{event.speech}"' if event.speech else "no answer")
        return f"menu {event.node}: {given} -> {event.reason or 'next'}"
    if isinstance(event, kinds.CallQueued):
        flag = " (gas-leak emergency)" if event.emergency else ""
        after_hours = (
            f"; the group is closed: a call-back is owed after {event.callback_after[:16]} UTC"
            if event.callback_after
            else ""
        )
        return f"queued in {event.queue}{flag}{after_hours}"
    if isinstance(event, kinds.QueueLeft):
        meaning = _QUEUE_RESULTS.get(event.result, event.result or "left")
        waited = f" after {event.queue_time} s" if event.queue_time else ""
        if event.result == "leave" and event.emergency:
            meaning = "the safety wait ended without an agent: the duty engineer is dialled"
        return f"left queue {event.queue}{waited}: {meaning}"
    if isinstance(event, kinds.DialResult):
        return f"duty engineer's line dialled (try {event.attempt or 1}): {event.status or 'no answer'}"
    if isinstance(event, kinds.Voicemail):
        why = "storm mode" if event.storm else "after hours"
        return f"left a voice message ({why}, {event.recording_duration or '?'} s)"
    if isinstance(event, kinds.CallbackNoted | kinds.CallbackBooked):
        return "a call-back was booked for the caller"
    if isinstance(event, kinds.StormChoice):
        return f"storm mode offer: pressed {event.digits or 'nothing'}"
    if isinstance(event, kinds.CallRescued):
        what = f"a webhook failed ({event.error})" if event.error else "rescued"
        return f"{what}; the caller's choice: {event.choice or '-'}"
    if isinstance(event, kinds.AgentOffered):
        return f"offered to agent {_agent(event.agent_id, names)}"
    if isinstance(event, kinds.AgentResult):
        return f"agent {_agent(event.agent_id, names)}: {event.status} ({event.duration or 0} s)"
    if isinstance(event, kinds.CallStatus) and event.status not in ("ringing", "in-progress"):
        return f"call ended: {event.status}, {event.duration or 0} s"
    return ""


def verdict(events: list[kinds.Event], call: Call, names: dict[int, str]) -> str:
    """Where the call ended up, in one sentence: an agent, or why none."""
    answered = [
        e for e in events if isinstance(e, kinds.AgentResult) and e.status in ("completed", "answered")
    ]
    if answered:
        return f"reached agent {_agent(answered[-1].agent_id, names)}"
    dialled = [e for e in events if isinstance(e, kinds.DialResult)]
    emergency = call.emergency or any(isinstance(e, kinds.CallQueued) and e.emergency for e in events)
    if dialled:
        how = "answered" if any(e.status == "completed" for e in dialled) else "not answered"
        why = "a gas-leak caller no agent took in time" if emergency else "no agent could be reached"
        return f"reached no agent: {why}, so the duty engineer was dialled ({how})"
    if any(isinstance(e, kinds.Voicemail) for e in events):
        return "reached no agent: the caller left a voice message"
    if any(isinstance(e, kinds.CallQueued) and e.callback_after for e in events):
        return "reached no agent: the group was closed (after hours); a call-back is owed"
    if any(isinstance(e, kinds.CallbackNoted | kinds.CallbackBooked) for e in events):
        return "reached no agent: a call-back was booked instead of waiting"
    left = [e for e in events if isinstance(e, kinds.QueueLeft)]
    if left and left[-1].result == "hangup":
        return f"reached no agent: the caller hung up after waiting {left[-1].queue_time or '?'} s"
    if not any(isinstance(e, kinds.CallQueued) for e in events):
        ended = "hung up in the menu" if call.status else "are still in the menu"
        return f"reached no agent: the caller never asked for one (they {ended})"
    return f"reached no agent (outcome {call.outcome or '-'}, status {call.status or 'live'})"


def agents_at(session: Session, moment: datetime) -> str:
    """Each agent's state at `moment`, counted: e.g. "2 available, 4 break"."""
    states: dict[int, str] = {}
    for agent in session.scalars(select(Agent)):
        # The last change at or before the moment; an agent with none since kept the state they have now.
        last = session.scalars(
            select(AgentStateChange.state)
            .where(AgentStateChange.agent_id == agent.id, AgentStateChange.at <= moment)
            .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
            .limit(1)
        ).first()
        states[agent.id] = last or (agent.state if agent.state_since <= moment else "unknown")
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no agents"


def _reached_agent(events: list[tuple[datetime, kinds.Event]]) -> bool:
    return any(isinstance(e, kinds.AgentResult) and e.status in ("completed", "answered") for _, e in events)


def _agent(agent_id: int | None, names: dict[int, str]) -> str:
    return f"{agent_id} {names.get(agent_id, '')}".strip() if agent_id is not None else "?"
