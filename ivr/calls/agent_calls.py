"""Use cases of a caller's call with an agent: the agent answers, the dial ends, a call-back's call ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from ivr.calls import events as call_events
from ivr.calls.events import GENERAL_QUEUE, CallRequest
from ivr.db.deadline import bounded
from ivr.db.models import Agent, Call, QueueEntry, utcnow
from ivr.events import kinds
from ivr.events.spool import Spool
from ivr.queueing.agent_states import set_state
from routing.model import Rules

DEFAULT_WRAP_UP_SECONDS = 60.0
NOT_ANSWERED = ("busy", "no-answer", "failed", "canceled")  # a call-back's outbound call nobody took


@dataclass(frozen=True)
class AgentDialEnded:
    """How the Dial to the agent ended, for the caller: over, a call-back owed, or back in `queue`."""

    completed: bool
    callback_owed: bool = False  # the caller's entry waits as a call-back: say so and end the call
    queue: str = GENERAL_QUEUE
    emergency: bool = False


def agent_answered(*, entry_id: int, agent_id: int, sessions: sessionmaker[Session]) -> None:
    """The agent's leg answered: the agent is on the call, the entry connected."""
    with sessions() as session, session.begin():
        entry = session.get(QueueEntry, entry_id)
        agent = session.get(Agent, agent_id)
        if entry is not None and agent is not None and agent.state == "ringing":
            entry.status = "connected"
            agent.misses = 0
            set_state(session, agent, "on_call", call_sid=entry.call_sid)


def agent_dial_ended(
    call: CallRequest,
    *,
    entry_id: int,
    agent_id: int,
    status: str,
    duration: str,
    sessions: sessionmaker[Session],
    spool: Spool,
    live_rules: Callable[[], Rules],
    max_missed_offers: int,
) -> AgentDialEnded:
    """A completed call sends the agent to wrap-up; anything else puts the caller back at the head of their
    queue (or their call-back back in line) and counts a miss against the agent."""
    now = utcnow()

    def settle() -> tuple[AgentDialEnded, int | None]:
        with sessions() as session, session.begin():
            entry = session.get(QueueEntry, entry_id)
            agent = session.get(Agent, agent_id)
            if status == "completed":
                _completed(session, entry, agent, now, live_rules)
                return AgentDialEnded(completed=True), agent.id if agent else None
            _missed(session, entry, agent, status, now, max_missed_offers)
            if entry is None:
                return AgentDialEnded(completed=False), agent.id if agent else None
            ended = AgentDialEnded(False, entry.status == "callback", entry.queue, bool(entry.emergency))
            return ended, agent.id if agent else None

    ended, agent_seen = bounded(settle)  # a hung database: the rescue within the webhook's budget
    result = kinds.AgentResult(**call.numbers(), status=status, agent_id=agent_seen, duration=duration)
    call_events.write(sessions, spool, [call.record(result)])
    return ended


def call_back_ended(*, entry_id: int, agent_id: int, status: str, sessions: sessionmaker[Session]) -> None:
    """The outbound call-back ended: if nobody answered, free the agent; the reply is still owed."""
    if status not in NOT_ANSWERED:
        return
    with sessions() as session, session.begin():
        entry = session.get(QueueEntry, entry_id)
        agent = session.get(Agent, agent_id)
        if entry is not None and entry.status == "offered":
            entry.status, entry.ended_at = "callback-failed", utcnow()
        if agent is not None and agent.state == "ringing":
            set_state(session, agent, "available", reason=f"call-back {status}")


def _completed(
    session: Session,
    entry: QueueEntry | None,
    agent: Agent | None,
    now: datetime,
    live_rules: Callable[[], Rules],
) -> None:
    if entry is not None:
        entry.status, entry.ended_at = "done", now
        session.execute(update(Call).where(Call.call_sid == entry.call_sid).values(outcome="answered"))
    if agent is not None and agent.state in ("ringing", "on_call"):
        seconds = wrap_up_seconds(live_rules(), entry, agent, now)
        set_state(session, agent, "wrap_up", call_sid=agent.call_sid, now=now)
        agent.wrap_up_until = now + timedelta(seconds=seconds)
        agent.misses = 0


def wrap_up_seconds(rules: Rules, entry: QueueEntry | None, agent: Agent, now: datetime) -> float:
    """The wrap-up of the group the call came from (the step that served it, e.g. safety 30 s); without an
    entry or a group for it, the agent's first group's; 60 s if none says. The agent's own wrap-up, when
    the roster sets one (ivr/queueing/agent_roster.py), wins over every group's."""
    from ivr.queueing.dispatch import epoch, routing_call
    from routing.router import serving_group

    if agent.wrap_up_seconds is not None:
        return float(agent.wrap_up_seconds)
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
    return rules.wrap_up_seconds.get(group, DEFAULT_WRAP_UP_SECONDS) if group else DEFAULT_WRAP_UP_SECONDS


def _missed(
    session: Session,
    entry: QueueEntry | None,
    agent: Agent | None,
    status: str,
    now: datetime,
    max_missed_offers: int,
) -> None:
    if entry is not None and entry.status in ("offered", "connected"):
        # Back at the head: the original waiting_since is kept, so the caller is served before later ones.
        entry.status = "callback" if entry.callback_number else "waiting"
        entry.agent_id, entry.claimed_at = None, None
    if agent is not None and agent.state in ("ringing", "on_call"):
        agent.misses += 1
        if agent.misses >= max_missed_offers:
            set_state(session, agent, "break", reason="not answering", now=now)
        else:
            set_state(session, agent, "available", reason=f"missed a call ({status or 'no status'})", now=now)
