"""A work order's deadline timers, with the order's due_at, warn_at and escalation kept in step.

A timer is started when the order enters a deadline's starting stage and met when it reaches the stage that
fulfils the deadline.

The timers are rows (work_order_timers), so they outlive the process; the sweep (escalation.py) fires them.
See docs/work-orders.md, "Timers and escalation".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import WorkOrder, WorkOrderTimer
from ivr.work_orders import lifecycle
from ivr.work_orders.deadline_rules import DeadlinesDocument, deadline_rule, desk_calendar
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.due_times import due_times

RUNNING = "running"
MET = "met"

# The escalation steps, in order; a work order's `escalation` is the furthest one of its running timers.
WARNED = "warned"
ESCALATED = "escalated"
SUPERVISOR = "supervisor"
STEPS = ("", WARNED, ESCALATED, SUPERVISOR)

# How far along the flow each stage is; reopened starts the work again, so it meets nothing.
_PROGRESS = {
    lifecycle.OPENED: 0,
    lifecycle.HANDED_OVER: 1,
    lifecycle.ACCEPTED: 2,
    lifecycle.IN_PROGRESS: 3,
    lifecycle.HANDLED: 4,
    lifecycle.ANSWERED: 5,
    lifecycle.CLOSED: 6,
}

# The stage that meets each deadline; any stage further along meets it too (an order handled without a
# crew visit no longer owes one). The follow-up call is recorded as the answer to the customer (by phone),
# so it is met when answered, not only when the order is closed later.
MEETS = {
    "handover": lifecycle.HANDED_OVER,  # or accepted, in progress, ...: the desk has it
    "on_site": lifecycle.IN_PROGRESS,  # the field crew is at work
    "result": lifecycle.HANDLED,  # the result is recorded
    "answer": lifecycle.ANSWERED,
    "follow_up": lifecycle.ANSWERED,
}

# Safety work: when its deadline passes, the duty engineer is called too.
SAFETY_CLASSES = ("gas_leak", "safety_complaint")


def is_safety(order: WorkOrder) -> bool:
    """Whether the order's escalation also calls the duty engineer."""
    return order.emergency or order.work_class in SAFETY_CLASSES


def on_stage(
    session: Session, order: WorkOrder, stage: str, at: datetime, rules: DeadlinesDocument | None = None
) -> list[WorkOrderTimer]:
    """The order has entered `stage` at `at`: meet the deadlines it fulfils, start those that start here.

    Returns the timers started. A deadline already running is not started again (a desk passing the order on
    does not restart the customer's clock).
    """
    running = _running(session, order)
    progress = _PROGRESS.get(stage)
    still_running = []
    for timer in running:
        if progress is not None and progress >= _PROGRESS[MEETS[timer.kind]]:
            timer.state = MET
            timer.done_at = at
            timer.next_fire_at = None
        else:
            still_running.append(timer)
    started = []
    rules = rules or live_deadlines(session)
    work_class = rules.classes.get(order.work_class)
    if work_class is not None and progress is not None:
        desk = order.desk if order.desk in rules.desks else work_class.desk
        calendar = desk_calendar(rules, desk)
        kinds_running = {timer.kind for timer in still_running}
        for kind, deadline in work_class.deadlines.items():
            if deadline.starts != stage or kind in kinds_running or progress >= _PROGRESS[MEETS[kind]]:
                continue
            times = due_times(deadline_rule(rules, order.work_class, kind), at, calendar)
            timer = WorkOrderTimer(
                work_order_id=order.id,
                kind=kind,
                started_at=at,
                warn_at=times.warn_at,
                due_at=times.due_at,
                supervisor_at=times.supervisor_at,
                state=RUNNING,
                step="",
                next_fire_at=times.warn_at,
                duty_call_owed=False,
                duty_call_attempts=0,
            )
            session.add(timer)
            started.append(timer)
    if started:
        session.flush()
    summarise(order, still_running + started)
    return started


def summarise(order: WorkOrder, running: list[WorkOrderTimer]) -> None:
    """The order's due_at/warn_at (its earliest running deadline's) and escalation (the furthest step)."""
    running = [timer for timer in running if timer.state == RUNNING]
    if not running:
        order.due_at = None
        order.warn_at = None
        order.escalation = ""
        return
    earliest = min(running, key=lambda timer: (timer.due_at, timer.id or 0))
    order.due_at = earliest.due_at
    order.warn_at = earliest.warn_at
    order.escalation = max((timer.step for timer in running), key=STEPS.index)


def running_timers(session: Session, order: WorkOrder) -> list[WorkOrderTimer]:
    """The order's running timers, oldest first."""
    return _running(session, order)


def running_timers_of(session: Session, order_ids: list[int]) -> dict[int, list[WorkOrderTimer]]:
    """The running timers of several orders at once, by order id, oldest first."""
    found: dict[int, list[WorkOrderTimer]] = {}
    if not order_ids:
        return found
    query = (
        select(WorkOrderTimer)
        .where(WorkOrderTimer.work_order_id.in_(order_ids), WorkOrderTimer.state == RUNNING)
        .order_by(WorkOrderTimer.id)
    )
    for timer in session.scalars(query):
        found.setdefault(timer.work_order_id, []).append(timer)
    return found


def timers_of(session: Session, order: WorkOrder) -> list[WorkOrderTimer]:
    """All of the order's timers (running and met), oldest first."""
    query = select(WorkOrderTimer).where(WorkOrderTimer.work_order_id == order.id).order_by(WorkOrderTimer.id)
    return list(session.scalars(query))


def _running(session: Session, order: WorkOrder) -> list[WorkOrderTimer]:
    query = (
        select(WorkOrderTimer)
        .where(WorkOrderTimer.work_order_id == order.id, WorkOrderTimer.state == RUNNING)
        .order_by(WorkOrderTimer.id)
    )
    return list(session.scalars(query))
