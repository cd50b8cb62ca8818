"""Agent states: every change goes through here, is checked, time-stamped and kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from ivr.db.models import Agent, AgentStateChange, utcnow

STATES = ("available", "ringing", "on_call", "wrap_up", "break", "offline")
OUT_OF_SERVICE = "out of service"  # the reason kept when an inactive agent goes offline
# What an agent (or a shift lead) may ask for, from which states. The dispatcher and the call
# webhooks move agents through ringing / on_call / wrap_up themselves (see `set_state`).
REQUESTABLE = {
    "available": {"offline", "break", "wrap_up", "available"},
    "break": {"available", "offline", "wrap_up", "break"},
    "offline": {"available", "break", "wrap_up", "offline"},
}


class StateChangeRefused(ValueError):
    """A state change that is not allowed now; the message says why, in words."""


def set_state(
    session: Session,
    agent: Agent,
    state: str,
    *,
    reason: str = "",
    by: str = "system",
    call_sid: str | None = None,
    now: datetime | None = None,
) -> Agent:
    """Move an agent to `state` and keep the change; no check (the callers are the call flow itself).

    An agent out of service (ivr/queueing/agent_roster.py) whose call ends, or whose offer is released,
    goes offline where they would have become available: never offered a call again."""
    if state not in STATES:
        raise StateChangeRefused(f"unknown state {state!r}; states are {', '.join(STATES)}")
    if state == "available" and agent.active is False:
        state, reason = "offline", OUT_OF_SERVICE
    now = now or utcnow()
    previous = agent.state
    agent.state, agent.state_reason, agent.state_since = state, reason, now
    if state == "available":
        agent.idle_since = now
        agent.call_sid = None
        agent.wrap_up_until = None
    if state in ("break", "offline"):
        agent.call_sid = None
    if call_sid is not None:
        agent.call_sid = call_sid
    session.add(
        AgentStateChange(
            agent_id=agent.id, state=state, reason=reason, previous=previous, at=now, by=by, call_sid=call_sid
        )
    )
    session.flush()
    return agent


def request_state(session: Session, agent: Agent, state: str, *, reason: str = "", by: str) -> Agent:
    """What an agent asks for on their page or through the API: available, break (with a reason), offline."""
    allowed_from = REQUESTABLE.get(state)
    if allowed_from is None:
        raise StateChangeRefused(f"{state!r} cannot be requested; ask for available, break or offline")
    if state == "break" and not reason.strip():
        raise StateChangeRefused("a break needs a reason (e.g. lunch, training, toilet)")
    if state == "available" and agent.active is False:
        raise StateChangeRefused(
            "此坐席已停用，不能示闲 / this agent is out of service and cannot go available; ask an admin"
        )
    if agent.state not in allowed_from:
        raise StateChangeRefused(f"cannot go {state} while {agent.state.replace('_', ' ')}")
    return set_state(session, agent, state, reason=reason.strip()[:100], by=by)


def claim_agent(session: Session, agent_id: int, call_sid: str, now: datetime) -> bool:
    """Atomically move an available agent to ringing for a call; False if someone else got them first."""
    claimed = session.execute(
        update(Agent)
        .where(Agent.id == agent_id, Agent.state == "available", Agent.active.is_(True))
        .values(state="ringing", state_reason="", state_since=now, call_sid=call_sid)
    ).rowcount  # type: ignore[attr-defined]
    if claimed:
        session.add(
            AgentStateChange(
                agent_id=agent_id, state="ringing", previous="available", at=now, call_sid=call_sid
            )
        )
    return bool(claimed)
