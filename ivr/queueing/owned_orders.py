"""The owner's notice on the agent's page: their work orders near or past a deadline (issue 16).

Read from the work_orders row the deadline sweep keeps (due_at, warn_at, escalation), by the users linked
to the agent; found through the warn_at index, so the few late ones are read, never all of a user's orders.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import User, WorkOrder
from ivr.queueing.local_days import local_now

SHOWN = 20


def late_orders_of_agent(
    session: Session, agent_id: int, now: datetime, timezone: str
) -> list[dict[str, Any]]:
    """Open work orders owned by the agent's user whose warning time has come, most urgent first."""
    users = select(User.id).where(User.agent_id == agent_id)
    orders = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.warn_at <= now, WorkOrder.owner_user_id.in_(users))
        .order_by(WorkOrder.due_at, WorkOrder.id)
        .limit(SHOWN)
    ).all()
    rows = []
    for order in orders:
        due = order.due_at or now
        rows.append(
            {
                "number": order.number,
                "work_class": order.work_class,
                "stage": order.stage,
                "escalation": order.escalation,
                "overdue": due <= now,
                "due_local": local_now(due, timezone).strftime("%Y-%m-%d %H:%M"),  # ISO, as every page
                "minutes": int(abs((now - due).total_seconds()) // 60),
            }
        )
    return rows
