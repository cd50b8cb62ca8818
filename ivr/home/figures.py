"""What each role's home shows, read from the domains that own the data, as plain values.

The live board's figures, the agent's panel, the audit sample, the call-back jobs, the storm switch. No Flask,
no hotline.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, AuditItem, AuditSample, CallbackJob, Review, WorkOrder
from ivr.quality.answering import SERVICE_LEVEL_SECONDS, SERVICE_LEVEL_TARGET
from ivr.queueing.agent_panel import agent_status
from ivr.queueing.agent_states import STATES
from ivr.queueing.board import EMERGENCY_WINDOW, live_board
from ivr.queueing.dispositions import disposition_missing
from ivr.queueing.owned_orders import late_orders_of_agent
from ivr.queueing.storm import storm_state
from ivr.queueing.wallboard_levels import AMBER, OK, RED, Limits, level_at_or_above, limits_for
from ivr.queueing.wallboard_thresholds import stored_limits
from ivr.work_orders.lifecycle import CLOSED
from routing.model import Rules

NEW_REVIEW_DAYS = 7  # an agent's reviews of the last week are news on their home
CALLBACK_BEHIND = timedelta(minutes=15)  # a queued call-back this long past its time: nobody is placing them
GIVEN_UP_WINDOW = timedelta(hours=24)
OWNED_SHOWN = 10


def agent_items(
    session: Session, *, agent_id: int, user_id: int, now: datetime, timezone: str
) -> dict[str, Any]:
    """The agent's state and open items: work orders they own, a missing disposition, new reviews."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        return {"agent": None}
    owned = select(WorkOrder).where(WorkOrder.owner_user_id == user_id, WorkOrder.stage != CLOSED)
    owned_count = session.scalar(select(func.count()).select_from(owned.subquery())) or 0
    orders = session.scalars(owned.order_by(WorkOrder.due_at.is_(None), WorkOrder.due_at).limit(OWNED_SHOWN))
    new_reviews = session.scalar(
        select(func.count())
        .select_from(Review)
        .join(AuditItem, AuditItem.id == Review.item_id)
        .where(AuditItem.agent_id == agent_id, Review.submitted_at >= now - timedelta(days=NEW_REVIEW_DAYS))
    )
    return {
        "agent": agent_status(agent),
        "owned_count": owned_count,
        "owned": [
            {"number": o.number, "work_class": o.work_class, "stage": o.stage, "due_at": o.due_at}
            for o in orders
        ],
        "late": late_orders_of_agent(session, agent_id, now, timezone),
        "disposition_missing": disposition_missing(session, agent),
        "new_reviews": new_reviews or 0,
        "review_days": NEW_REVIEW_DAYS,
    }


def review_queue(session: Session, *, reviewer_id: int, now: datetime) -> dict[str, Any]:
    """The quality staff's work: the newest audit sample (drawn today for yesterday), what is pending, and
    how many reviews the reviewer submitted in the last week."""
    newest = session.scalar(select(AuditSample).order_by(AuditSample.day.desc()).limit(1))
    pending_by_sample = Counter(
        dict(
            session.execute(
                select(AuditItem.sample_id, func.count())
                .where(AuditItem.status == "pending")
                .group_by(AuditItem.sample_id)
            ).all()
        )
    )
    return {
        "day": newest.day if newest else None,
        "sampled": newest.sampled_calls if newest else 0,
        "pending": pending_by_sample.get(newest.id, 0) if newest else 0,
        "mine_this_week": session.scalar(
            select(func.count())
            .select_from(Review)
            .where(
                Review.reviewer_id == reviewer_id,
                Review.submitted_at >= now - timedelta(days=NEW_REVIEW_DAYS),
            )
        )
        or 0,
        "week_days": NEW_REVIEW_DAYS,
        "pending_older": sum(pending_by_sample.values())
        - (pending_by_sample.get(newest.id, 0) if newest else 0),
    }


def floor_at_a_glance(session: Session, *, rules: Rules, timezone: str, now: datetime) -> dict[str, Any]:
    """Queues (waiting, longest wait, agents by state) and today's answering, from the live board."""
    board = live_board(session, rules=rules, timezone=timezone, now=now)
    agents_by_state = Counter(agent["state"] for agent in board["agents"])
    stored = stored_limits(session)
    levels = {queue["name"]: _level(queue, limits_for(queue["name"], stored)) for queue in board["queues"]}
    return {
        "board": board,
        "queues": board["queues"],
        "levels": levels,
        "total": board["total"],
        "agents_by_state": [(state, agents_by_state.get(state, 0)) for state in STATES],
        "sl_seconds": SERVICE_LEVEL_SECONDS,
    }


def _level(queue: dict[str, Any], limits: Limits) -> str:
    """The worse of the queue's waiting and longest-wait levels against the limits supervisors set."""
    found = {
        level_at_or_above(queue["waiting"], limits.waiting_amber, limits.waiting_red),
        level_at_or_above(queue["longest_wait"], limits.longest_wait_amber, limits.longest_wait_red),
    }
    return RED if RED in found else AMBER if AMBER in found else OK


def centre_figures(
    session: Session, floor: dict[str, Any], *, now: datetime, spool_waiting: int
) -> dict[str, Any]:
    """The supervisor's live figures and everything past its limit (each with how many, zero when fine)."""
    board = floor["board"]
    total = board["total"]
    recent = [
        row
        for row in board["emergencies"]
        if row["started_at"] and datetime.fromisoformat(row["started_at"][:-1]) >= now - EMERGENCY_WINDOW
    ]
    late = board["late_work_orders"]["counts"]
    queued = select(func.count()).select_from(CallbackJob).where(CallbackJob.status == "queued")
    callbacks_behind = session.scalar(queued.where(CallbackJob.due_at <= now - CALLBACK_BEHIND)) or 0
    given_up = (
        session.scalar(
            select(func.count())
            .select_from(CallbackJob)
            .where(
                CallbackJob.status.in_(("unreachable", "expired")),
                CallbackJob.finished_at >= now - GIVEN_UP_WINDOW,
            )
        )
        or 0
    )
    over = [name for name, level in floor["levels"].items() if level == RED]
    storm = storm_state(session)
    return {
        "service_level": total["today"]["service_level"],
        "sl_target": SERVICE_LEVEL_TARGET,
        "offered_today": total["today"]["offered"],
        "waiting": total["waiting"],
        "longest_wait": total["longest_wait"],
        "emergencies": len(recent),
        "emergencies_on_line": sum(
            row["where"]["kind"] in ("menu", "waiting", "ringing") for row in board["emergencies"]
        ),
        "storm": storm,
        "past_limit": {
            "orders_overdue": late["overdue"],
            "orders_escalated": late["supervisor"],
            "queues_over": over,
            "callbacks_behind": callbacks_behind,
            "callbacks_given_up": given_up,
            "spool_waiting": spool_waiting,
        },
    }
