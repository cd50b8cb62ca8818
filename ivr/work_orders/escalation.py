"""The deadline sweep: due timers are claimed in batches and their steps fired, each exactly once.

At a timer's warn_at the owner is warned, at its due_at the order escalates to the shift lead, at its
supervisor_at to the supervisor; for safety work the duty engineer is also called when it escalates. Each
step is a work-order event (warned, escalated, escalated_to_supervisor) written in the transaction that
marks it fired on the timer row. On PostgreSQL the rows are claimed with FOR UPDATE SKIP LOCKED (the timer
and its order together), so two schedulers never fire one step twice; SQLite has one writer at a time.
See docs/work-orders.md, "Timers and escalation".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ivr.db.models import WorkOrder, WorkOrderTimer, utcnow
from ivr.telephony.base import Telephony, TelephonyError
from ivr.work_orders import timers
from ivr.work_orders.orders import append_event

log = logging.getLogger(__name__)

NOTICE_PATH = "/work-orders/duty-notice"  # the spoken notice's webhook, under /voice (duty_notice_views.py)
BATCH_SIZE = 200
DUTY_CALL_RETRY = timedelta(minutes=1)  # a duty call the provider refused is tried again this much later
DUTY_CALL_TRIES = 5

# Each step: the timer's planned time, the column that records it fired, the event kind, who is told.
_STEPS = (
    (timers.WARNED, "warn_at", "warned_at", "warned", "owner"),
    (timers.ESCALATED, "due_at", "escalated_at", "escalated", "shift_lead"),
    (timers.SUPERVISOR, "supervisor_at", "supervisor_told_at", "escalated_to_supervisor", "supervisor"),
)


def notice_url(base_url: str, number: str, kind: str) -> str:
    """The signed webhook's URL of one work order's spoken notice."""
    return f"{base_url.rstrip('/')}/voice{NOTICE_PATH}?{urlencode({'o': number, 'k': kind})}"


@dataclass(frozen=True)
class DutyCaller:
    """How the duty engineer is called: the provider, the numbers, and the URL of the spoken notice."""

    telephony: Telephony
    duty_number: str
    caller_id: str
    notice_url: Callable[[str, str], str]  # (work-order number, deadline kind) -> the notice's TwiML URL


@dataclass
class SweepReport:
    """What one sweep did."""

    timers: int = 0  # timers looked at
    warned: int = 0
    escalated: int = 0
    supervisor: int = 0
    duty_calls: list[str] = field(default_factory=list)  # CallSids
    duty_calls_failed: int = 0

    def add(self, other: SweepReport) -> None:
        """Fold another batch's report into this one."""
        self.timers += other.timers
        self.warned += other.warned
        self.escalated += other.escalated
        self.supervisor += other.supervisor
        self.duty_calls.extend(other.duty_calls)
        self.duty_calls_failed += other.duty_calls_failed


def sweep_due_timers(
    sessions: sessionmaker[Session],
    *,
    now: datetime | None = None,
    duty: DutyCaller | None = None,
    batch_size: int = BATCH_SIZE,
    max_batches: int = 50,
) -> SweepReport:
    """Fire every step due by `now` (naive UTC), a batch per transaction, until none is left."""
    report = SweepReport()
    for _ in range(max_batches):
        with sessions() as session, session.begin():
            batch = sweep_batch(session, now=now or utcnow(), duty=duty, limit=batch_size)
        report.add(batch)
        if batch.timers < batch_size:
            break
    return report


def sweep_batch(
    session: Session, *, now: datetime, duty: DutyCaller | None = None, limit: int = BATCH_SIZE
) -> SweepReport:
    """Claim up to `limit` due timers (skipping rows another sweep holds) and fire their steps."""
    report = SweepReport()
    claimed = session.execute(
        select(WorkOrderTimer, WorkOrder)
        .join(WorkOrder, WorkOrder.id == WorkOrderTimer.work_order_id)
        .where(WorkOrderTimer.next_fire_at <= now)
        .order_by(WorkOrderTimer.next_fire_at, WorkOrderTimer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    touched: dict[int, WorkOrder] = {}
    for timer, order in claimed:
        report.timers += 1
        _fire(session, timer, order, now, duty, report)
        touched[order.id] = order
    running = timers.running_timers_of(session, list(touched))  # one read for the whole batch
    for order_id, order in touched.items():
        timers.summarise(order, running.get(order_id, []))
    return report


def _fire(
    session: Session,
    timer: WorkOrderTimer,
    order: WorkOrder,
    now: datetime,
    duty: DutyCaller | None,
    report: SweepReport,
) -> None:
    if timer.state != timers.RUNNING:
        timer.next_fire_at = None
        return
    for step, planned, fired, kind, told in _STEPS:
        if getattr(timer, fired) is not None or now < getattr(timer, planned):
            continue
        setattr(timer, fired, now)
        timer.step = step
        late = int((now - timer.due_at).total_seconds()) if step != timers.WARNED else None
        append_event(
            session,
            order,
            kind=kind,
            actor="system",
            at=now,
            reason=f"{timer.kind} deadline {_words(step)}",
            data={
                "deadline": timer.kind,
                "due_at": timer.due_at.isoformat(timespec="seconds") + "Z",
                "told": told,
                "owner_user_id": order.owner_user_id,
                "desk": order.desk,
                "seconds_late": late,
            },
        )
        setattr(report, step, getattr(report, step) + 1)
        if step == timers.ESCALATED and timers.is_safety(order):
            timer.duty_call_owed = True
    if timer.duty_call_owed and timer.duty_call_sid is None and duty is not None:
        _call_duty_engineer(session, timer, order, now, duty, report)
    timer.next_fire_at = _next_fire(timer, now, retry_call=duty is not None)


def _call_duty_engineer(
    session: Session,
    timer: WorkOrderTimer,
    order: WorkOrder,
    now: datetime,
    duty: DutyCaller,
    report: SweepReport,
) -> None:
    """Call the duty engineer with the spoken notice; a refusal is kept on the order and tried again."""
    timer.duty_call_attempts += 1
    try:
        sid = duty.telephony.create_call(
            to=duty.duty_number, from_=duty.caller_id, url=duty.notice_url(order.number, timer.kind)
        )
    except TelephonyError as error:
        log.warning("duty engineer not called for work order %s: %s", order.number, error)
        report.duty_calls_failed += 1
        append_event(
            session,
            order,
            kind="duty_call_failed",
            actor="system",
            at=now,
            reason=str(error)[:500],
            data={"deadline": timer.kind, "attempt": timer.duty_call_attempts, "to": duty.duty_number},
        )
        return
    timer.duty_call_sid = sid
    report.duty_calls.append(sid)
    append_event(
        session,
        order,
        kind="duty_engineer_called",
        actor="system",
        at=now,
        data={"deadline": timer.kind, "call_sid": sid, "to": duty.duty_number},
    )


def _next_fire(timer: WorkOrderTimer, now: datetime, *, retry_call: bool) -> datetime | None:
    """The next moment the sweep must look at this timer: its next step, or a duty call owed again."""
    pending = [getattr(timer, planned) for _, planned, fired, _, _ in _STEPS if getattr(timer, fired) is None]
    owed = timer.duty_call_owed and timer.duty_call_sid is None and timer.duty_call_attempts < DUTY_CALL_TRIES
    if owed and retry_call:
        pending.append(now + DUTY_CALL_RETRY)
    return min(pending) if pending else None


def _words(step: str) -> str:
    return {
        timers.WARNED: "near: the owner is warned",
        timers.ESCALATED: "passed: escalated to the shift lead",
        timers.SUPERVISOR: "long passed: escalated to the supervisor",
    }[step]
