"""The shift lead's moves on the live board: an agent's state (available, break, offline) and groups."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.db.models import Agent
from ivr.queueing.agent_states import StateChangeRefused, request_state
from routing.model import Rules

SHIFT_LEAD_STATES = ("available", "break", "offline")  # what a shift lead may put an agent in
ON_A_CALL = ("ringing", "on_call")
_ON_A_CALL_WORDS = {"ringing": ("振铃中", "ringing"), "on_call": ("通话中", "on a call")}


def set_agent_state(session: Session, *, agent_id: int, state: str, reason: str, by: str) -> Agent:
    """A shift lead puts an agent in available, break (with a reason) or offline; logged with the change."""
    if state not in SHIFT_LEAD_STATES:
        raise StateChangeRefused(
            "只能设为示闲、小休或离线 / a shift lead may set available, break or offline"
        )
    reason = reason.strip()
    if len(reason) > 100:
        raise StateChangeRefused("原因太长（最多 100 字）/ the reason is too long: at most 100 characters")
    # Locked, so a dispatcher claiming this agent now waits for us (or we for it): the check below sees
    # the state that is really replaced.
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise StateChangeRefused(f"没有此坐席 / there is no agent with id {agent_id}")
    if agent.state in ON_A_CALL:
        zh, en = _ON_A_CALL_WORDS[agent.state]
        raise StateChangeRefused(
            f"{agent.name} {zh}：通话中不能更改状态，请在通话结束后再试 / "
            f"{agent.name} is {en}: an agent cannot be taken off a call midway; "
            "try again when the call has ended"
        )
    if state == "break" and not reason:
        raise StateChangeRefused("小休需要填写原因 / a break needs a reason (e.g. lunch, training, coaching)")
    if state == agent.state and (state != "break" or reason == agent.state_reason):
        raise StateChangeRefused(
            f"{agent.name} 已是此状态 / {agent.name} is already {state.replace('_', ' ')}"
        )
    before = {"state": agent.state, "reason": agent.state_reason}
    request_state(session, agent, state, reason=reason, by=by)
    log_change(
        session,
        by,
        "agent",
        "state",
        f"{agent.name} (#{agent.id})",
        before=before,
        after={"state": agent.state, "reason": agent.state_reason},
    )
    return agent


class GroupChangeRefused(ValueError):
    """A group change that cannot be made; the message says why, in both languages."""


def change_agent_groups(
    session: Session, *, rules: Rules, agent_id: int, add: str = "", remove: str = "", by: str
) -> Agent:
    """Add the agent to a group, take them out of one, or both at once (a move); logged with the change."""
    add, remove = add.strip(), remove.strip()
    if not add and not remove:
        raise GroupChangeRefused("请选择要加入或移出的组 / choose a group to add or to remove")
    if add and add == remove:
        raise GroupChangeRefused(f"加入和移出是同一个组 / {add} is both the group to leave and to join")
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise GroupChangeRefused(f"没有此坐席 / there is no agent with id {agent_id}")
    before = list(agent.groups or [])
    if add and add not in rules.calendars:
        known = ", ".join(rules.calendars)
        raise GroupChangeRefused(
            f"{add} 不是现行路由规则中的组 / {add} is not a group of the live routing rules ({known})"
        )
    if add in before:
        raise GroupChangeRefused(f"{agent.name} 已在 {add} 组 / {agent.name} is already in {add}")
    if remove and remove not in before:
        raise GroupChangeRefused(f"{agent.name} 不在 {remove} 组 / {agent.name} is not in {remove}")
    after = [group for group in before if group != remove] + ([add] if add else [])
    agent.groups = after  # a new list: the JSON column sees the change
    session.flush()
    log_change(session, by, "agent", "groups", f"{agent.name} (#{agent.id})", before=before, after=after)
    return agent
