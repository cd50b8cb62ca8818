"""The live board's figures: queues waiting, agents by state, today's answering, gas emergencies.

Times in the database are naive UTC; "today" is the local day of the hotline's time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Call, QueueEntry, WorkOrder
from ivr.quality.answering import SERVICE_LEVEL_SECONDS, CallFacts, queue_figures
from ivr.quality.work_order_report import live_work_orders
from ivr.queueing.agent_states import STATES
from ivr.queueing.floor_figures import answering, calls_between, split_open
from ivr.queueing.local_days import local_now, utc_of_local
from ivr.queueing.queue_entries import LIVE
from routing.model import Rules

EMERGENCY_WINDOW = timedelta(hours=1)
LATE_ORDERS_SHOWN = 50  # work orders past or near their deadline listed on the board, most urgent first


def _seconds_since(moment: datetime | None, now: datetime) -> int | None:
    return None if moment is None else max(0, int((now - moment).total_seconds()))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def queue_names(rules: Rules, *more: Iterable[str | None]) -> list[str]:
    """The queues to show: the routing rules' groups in their order, then any other queue seen."""
    names = list(rules.calendars)
    for values in more:
        for name in values:
            if name and name not in names:
                names.append(name)
    return names


def _where(call: Call, entry: QueueEntry | None, names: dict[int, str], now: datetime) -> dict[str, Any]:
    """Where an emergency caller is now, in words (Chinese / English) and as a kind."""

    def agent(agent_id: int | None) -> str:
        return names.get(agent_id or 0, f"#{agent_id}") if agent_id else "?"

    queue = entry.queue if entry else (call.queue or "safety")
    if call.ended_at is not None or (entry is not None and entry.status in ("done", "abandoned")):
        outcome = call.outcome or ""
        if (entry is not None and entry.status == "done") or outcome == "answered":
            name = agent(entry.agent_id if entry else None)
            how = f"坐席 {name} 已接听 / answered by agent {name}"
        elif outcome == "duty-engineer-answered":
            how = "值班工程师已接听 / answered by the duty engineer"
        elif outcome in ("abandoned", "redirected", "ended-in-menu"):
            how = "来电者挂断 / the caller hung up"
        else:
            how = outcome or "—"
        return {"kind": "ended", "seconds": None, "text": f"已结束 / ended: {how}"}
    if entry is None:
        return {"kind": "menu", "seconds": None, "text": "菜单中 / in the menu"}
    waited = _seconds_since(entry.waiting_since, now)
    if entry.status == "waiting":
        text = f"在 {queue} 队列等待 {waited} 秒 / waiting in the {queue} queue for {waited} s"
        return {"kind": "waiting", "seconds": waited, "text": text}
    if entry.status == "offered":
        name = agent(entry.agent_id)
        return {"kind": "ringing", "seconds": waited, "text": f"坐席 {name} 振铃中 / ringing agent {name}"}
    if entry.status == "connected":
        name = agent(entry.agent_id)
        return {"kind": "with_agent", "seconds": None, "text": f"与坐席 {name} 通话 / with agent {name}"}
    if entry.status == "duty":
        return {"kind": "duty", "seconds": None, "text": "已转值班工程师 / dialled the duty engineer"}
    if entry.status == "callback":
        return {"kind": "callback", "seconds": None, "text": "待回电 / call-back owed"}
    return {"kind": entry.status, "seconds": None, "text": entry.status}


def emergencies(
    session: Session, now: datetime, names: dict[int, str], timezone: str
) -> list[dict[str, Any]]:
    """Gas emergencies of the last hour, and any older one still on the line, newest first."""
    on_line = select(QueueEntry.call_sid).where(QueueEntry.emergency.is_(True), QueueEntry.status.in_(LIVE))
    calls = session.scalars(
        select(Call)
        .where(Call.emergency.is_(True))
        .where((Call.started_at >= now - EMERGENCY_WINDOW) | Call.call_sid.in_(on_line))
        .order_by(Call.started_at.desc(), Call.id.desc())
    ).all()
    sids = [call.call_sid for call in calls]
    entries = {
        e.call_sid: e for e in session.scalars(select(QueueEntry).where(QueueEntry.call_sid.in_(sids)))
    }
    rows = []
    for call in calls:
        entry = entries.get(call.call_sid)
        rows.append(
            {
                "call_sid": call.call_sid,
                "caller": call.from_number,
                "started_at": _iso(call.started_at),
                "started_local": local_now(call.started_at, timezone).strftime("%H:%M:%S"),
                "where": _where(call, entry, names, now),
            }
        )
    return rows


def late_work_orders(session: Session, now: datetime, timezone: str) -> dict[str, Any]:
    """Work orders whose warning time has come (near their deadline) or whose deadline passed: counts, and the
    most urgent ones. The deadline sweep (ivr/work_orders/escalation.py) keeps due_at, warn_at, escalation."""
    near_or_late = WorkOrder.warn_at <= now  # warn_at is NULL once no deadline runs (ix_work_orders_warn_at)
    overdue = case((WorkOrder.due_at <= now, 1), else_=0)
    counts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(overdue), 0),
            func.coalesce(func.sum(case((WorkOrder.escalation == "supervisor", 1), else_=0)), 0),
        ).where(near_or_late)
    ).one()
    most_urgent = select(WorkOrder).where(near_or_late).order_by(WorkOrder.due_at, WorkOrder.id)
    orders = session.scalars(most_urgent.limit(LATE_ORDERS_SHOWN)).all()
    rows = []
    for order in orders:
        due = order.due_at or now
        late = due <= now
        rows.append(
            {
                "number": order.number,
                "work_class": order.work_class,
                "desk": order.desk or "",
                "stage": order.stage,
                "owner_user_id": order.owner_user_id,
                "escalation": order.escalation,
                "due_at": _iso(order.due_at),
                "due_local": local_now(due, timezone).strftime("%m-%d %H:%M"),
                "overdue": late,
                "minutes": int(abs((now - due).total_seconds()) // 60),  # late by, or left
            }
        )
    total, late_count, supervisor = (int(value) for value in counts)
    return {
        "counts": {"near": total - late_count, "overdue": late_count, "supervisor": supervisor},
        "orders": rows,
    }


def _agent_row(agent: Agent, now: datetime) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "state": agent.state,
        "reason": agent.state_reason,
        "since": _iso(agent.state_since),
        "seconds": _seconds_since(agent.state_since, now),
        "groups": list(agent.groups or []),
        "call_sid": agent.call_sid,
        "active": agent.active,  # False: out of service (offline, never offered a call)
    }


def live_board(session: Session, *, rules: Rules, timezone: str, now: datetime) -> dict[str, Any]:
    """Everything the live board shows, as plain values: queues, agents, today's answering, emergencies."""
    return {
        **floor_now(session, rules=rules, timezone=timezone, now=now),
        "late_work_orders": late_work_orders(session, now, timezone),
        "open_work_orders": live_work_orders(session, now=now),  # by age, with the overdue ones
    }


def floor_now(session: Session, *, rules: Rules, timezone: str, now: datetime) -> dict[str, Any]:
    """The floor now, as plain values: queues (waiting, today's answering), agents, emergencies of the last
    hour. The live board shows it with the work orders; the wallboard shows it alone."""
    # Agents out of service (the roster, ivr/queueing/agent_roster.py) are not on the floor.
    agents = list(session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.name, Agent.id)))
    entries = list(session.scalars(select(QueueEntry).where(QueueEntry.status.in_((*LIVE, "callback")))))
    local = local_now(now, timezone)
    day_start = utc_of_local(datetime.combine(local.date(), time.min), timezone)
    calls, facts = calls_between(session, day_start, now + timedelta(seconds=1))
    by_queue: dict[str | None, list[Call]] = defaultdict(list)
    for call in calls:
        by_queue[call.queue].append(call)

    queues = []
    for name in queue_names(rules, (e.queue for e in entries), by_queue):
        decided, still_open = split_open(by_queue[name], facts, now)
        waiting = [e for e in entries if e.queue == name]
        staff = [a for a in agents if name in (a.groups or [])]
        queues.append(_queue_row(name, waiting, staff, decided, still_open, facts, now))
    decided, still_open = split_open(calls, facts, now)
    total = _queue_row("all", entries, agents, decided, still_open, facts, now)
    return {
        "now": _iso(now),
        "local_time": local.strftime("%Y-%m-%d %H:%M:%S"),
        "day": local.date().isoformat(),
        "timezone": timezone,
        "sl_seconds": SERVICE_LEVEL_SECONDS,
        "queues": queues,
        "total": total,
        "agents": [_agent_row(agent, now) for agent in agents],
        "emergencies": emergencies(session, now, {a.id: a.name for a in agents}, timezone),
    }


def _queue_row(
    name: str,
    entries: Sequence[QueueEntry],
    agents: Sequence[Agent],
    decided: Sequence[Call],
    still_open: int,
    facts: dict[str, CallFacts],
    now: datetime,
) -> dict[str, Any]:
    live = [e for e in entries if e.status in LIVE]
    states = Counter(agent.state for agent in agents)
    return {
        "name": name,
        "waiting": len(live),
        "emergencies_waiting": sum(e.emergency for e in live),
        "longest_wait": max((_seconds_since(e.waiting_since, now) or 0 for e in live), default=None),
        "callbacks": sum(e.status == "callback" for e in entries),
        "agents": {state: states.get(state, 0) for state in STATES},
        "today": answering(queue_figures(decided, facts), still_open),
    }
