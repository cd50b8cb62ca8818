"""An agent's own state change, from the page or the API: one transaction, all of it or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import Agent
from ivr.db.session import unit_of_work
from ivr.queueing.agent_panel import agent_status
from ivr.queueing.agent_states import StateChangeRefused, request_state
from ivr.queueing.dispositions import disposition_missing

MAX_REASON = 100  # agent_state_changes.reason
NO_DISPOSITION = (
    "请先记录上一通电话的处理结果 / record the disposition of your last call first "
    "(class of request and outcome), then end wrap-up"
)


def change_state(
    sessions: sessionmaker[Session],
    *,
    agent_id: int,
    state: str,
    reason: str,
    by: str,
    needs_disposition: bool = True,
) -> dict[str, Any]:
    """Ask for `state` for the agent; returns their new status, or raises StateChangeRefused."""
    if len(reason.strip()) > MAX_REASON:
        # Refused rather than cut short: a shortened reason would be a record nobody wrote.
        raise StateChangeRefused(f"the reason is too long: at most {MAX_REASON} characters")
    with unit_of_work(sessions) as session:
        # Locked, so a dispatcher claiming this agent at the same moment waits for us (or we for it)
        # and the check in request_state sees the state that will really be replaced.
        agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
        if agent is None:
            raise StateChangeRefused(f"there is no agent with id {agent_id}")
        if needs_disposition and disposition_missing(session, agent):
            raise StateChangeRefused(NO_DISPOSITION)
        request_state(session, agent, state, reason=reason, by=by)
        return agent_status(agent)
