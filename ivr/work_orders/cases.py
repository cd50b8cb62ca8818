"""A work order's use cases: open, move through the lifecycle, hand over, note, answer, close, reopen.

Each change is checked whole before anything is written, and writes one append-only event row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Customer, WorkOrder, WorkOrderEvent, utcnow
from ivr.work_orders import lifecycle, timers
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.field_completions import record_completion
from ivr.work_orders.lifecycle import TransitionRefused, check_transition
from ivr.work_orders.orders import append_event, open_work_order

ANSWER_CHANNELS = ("phone", "sms", "visit", "letter", "email", "other")
MAX_TEXT = 4000  # a note, a reason, a result


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user (their id and name) or the system ("system", "menu")."""

    name: str
    user_id: int | None = None


SYSTEM = Actor("system")


class WorkOrderNotFound(LookupError):
    """No work order has this number."""

    def __init__(self, number: str) -> None:
        super().__init__(f"no work order {number!r}")


class WorkOrderClosed(TransitionRefused):
    """A closed work order was edited: only reopening it is allowed."""

    def __init__(self, number: str, what: str) -> None:
        ValueError.__init__(self, f"work order {number} is closed: {what} is refused; reopen it first")
        self.from_stage = lifecycle.CLOSED
        self.to_stage = lifecycle.CLOSED
        self.allowed = lifecycle.allowed_next(lifecycle.CLOSED)


class InvalidInput(ValueError):
    """A value a use case cannot take; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def open_case(
    session: Session,
    *,
    work_class: str,
    caller_number: str,
    actor: Actor,
    source_key: str,
    description: str = "",
    address: str | None = None,
    customer: Customer | None = None,
    desk: str | None = None,
    call_sid: str | None = None,
    promised_by: datetime | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """Open a work order taken by an agent or sent by another system; its taker owns it (first contact)."""
    if work_class not in lifecycle.WORK_CLASSES:
        raise InvalidInput(
            "work_class", f"unknown class {work_class!r}; one of {', '.join(lifecycle.WORK_CLASSES)}"
        )
    _text("description", description)
    if desk is not None:
        _known_desk(session, desk)
    return open_work_order(
        session,
        kind=work_class,
        work_class=work_class,
        caller_number=caller_number,
        source_key=source_key,
        customer=customer,
        emergency=work_class in ("gas_leak", "safety_complaint"),
        call_sid=call_sid,
        promised_by=promised_by,
        description=description,
        created_at=now,
        address=address,
        desk=desk,
        owner_user_id=actor.user_id,
        actor=actor.name,
    )


def move(
    session: Session,
    *,
    number: str,
    to_stage: str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> WorkOrder:
    """Move a work order to another stage, with who and why; refused (nothing written) if not allowed."""
    order = _order(session, number)
    return _move(session, order, to_stage, actor, kind="moved", reason=reason, now=now)


def hand_over(
    session: Session, *, number: str, desk: str, reason: str, actor: Actor, now: datetime | None = None
) -> WorkOrder:
    """Hand the order to a desk, saying why; its owner keeps it until the desk accepts."""
    if not desk.strip():
        raise InvalidInput("desk", "name the desk the work order goes to")
    if not reason.strip():
        raise InvalidInput("reason", "say why it is handed over")
    order = _order(session, number, editing="handing over")
    _known_desk(session, desk)
    return _move(
        session,
        order,
        lifecycle.HANDED_OVER,
        actor,
        kind="handed_over",
        reason=reason,
        now=now,
        data={"desk": desk, "from_desk": order.desk},
        desk=desk,
    )


def accept(session: Session, *, number: str, actor: Actor, now: datetime | None = None) -> WorkOrder:
    """The desk's user accepts the hand-over and becomes the owner."""
    if actor.user_id is None:
        raise InvalidInput("user", "a work order is accepted by a user")
    order = _order(session, number, editing="accepting")
    previous_owner = order.owner_user_id
    order = _move(
        session,
        order,
        lifecycle.ACCEPTED,
        actor,
        kind="accepted",
        now=now,
        data={"owner_user_id": actor.user_id, "previous_owner_user_id": previous_owner},
    )
    order.owner_user_id = actor.user_id
    return order


def add_note(
    session: Session, *, number: str, note: str, actor: Actor, now: datetime | None = None
) -> WorkOrder:
    """Add a note to the order's history; its stage stays."""
    if not note.strip():
        raise InvalidInput("note", "the note is empty")
    _text("note", note)
    order = _order(session, number, editing="adding a note")
    at = now or utcnow()
    append_event(session, order, kind="note", actor=actor.name, by_user_id=actor.user_id, at=at, reason=note)
    order.updated_at = at
    return order


def record_field_result(
    session: Session,
    *,
    number: str,
    result: str,
    actor: Actor,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """Record what the field crew (or the desk) did: the order is handled."""
    if not result.strip():
        raise InvalidInput("result", "say what was done")
    _text("result", result)
    order = _order(session, number, editing="recording a field result")
    return _move(
        session,
        order,
        lifecycle.HANDLED,
        actor,
        kind="field_result",
        reason=result,
        now=now,
        data={"result": result, **(data or {})},
    )


def record_answer(
    session: Session, *, number: str, channel: str, answer: str, actor: Actor, now: datetime | None = None
) -> WorkOrder:
    """Record the answer given to the customer and by which channel: the customer is answered."""
    if channel not in ANSWER_CHANNELS:
        raise InvalidInput("channel", f"unknown channel {channel!r}; one of {', '.join(ANSWER_CHANNELS)}")
    if not answer.strip():
        raise InvalidInput("answer", "say what the customer was told")
    _text("answer", answer)
    order = _order(session, number, editing="recording an answer")
    return _move(
        session,
        order,
        lifecycle.ANSWERED,
        actor,
        kind="answered",
        reason=answer,
        now=now,
        data={"channel": channel},
    )


def close(
    session: Session, *, number: str, actor: Actor, reason: str = "", now: datetime | None = None
) -> WorkOrder:
    """Close an answered work order."""
    _text("reason", reason)
    order = _order(session, number, editing="closing")
    order = _move(session, order, lifecycle.CLOSED, actor, kind="closed", reason=reason, now=now)
    record_completion(session, order, now=order.updated_at or utcnow())  # field work: a call-back may follow
    return order


def reopen(
    session: Session, *, number: str, actor: Actor, reason: str, now: datetime | None = None
) -> WorkOrder:
    """Reopen an answered or closed order because the customer disagrees; the reason is required."""
    if not reason.strip():
        raise InvalidInput("reason", "say why the work order is reopened (what the customer disagrees with)")
    _text("reason", reason)
    order = _order(session, number)
    return _move(session, order, lifecycle.REOPENED, actor, kind="reopened", reason=reason, now=now)


def history(session: Session, order: WorkOrder) -> list[WorkOrderEvent]:
    """The order's events, oldest first."""
    query = select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id).order_by(WorkOrderEvent.id)
    return list(session.scalars(query))


def open_orders_of(
    session: Session, *, phone: str | None = None, account: str | None = None
) -> list[WorkOrder]:
    """A customer's work orders not yet closed, newest first: by the caller's number or the account number."""
    if not phone and not account:
        raise InvalidInput("number", "give a phone number or an account number")
    matches = []
    if phone:
        customer_ids = select(Customer.id).where(Customer.with_number(phone))
        matches.append(or_(WorkOrder.caller_number == phone, WorkOrder.customer_id.in_(customer_ids)))
    if account:
        matches.append(
            WorkOrder.customer_id.in_(select(Customer.id).where(Customer.account_number == account))
        )
    query = (
        select(WorkOrder)
        .where(or_(*matches), WorkOrder.stage != lifecycle.CLOSED)
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    )
    return list(session.scalars(query))


def _order(session: Session, number: str, *, editing: str | None = None) -> WorkOrder:
    # Locked (PostgreSQL) so two changes at once are checked one after the other, each against the stage
    # the other left; SQLite writes one transaction at a time anyway.
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == number).with_for_update())
    if order is None:
        raise WorkOrderNotFound(number)
    if editing is not None and order.stage == lifecycle.CLOSED:
        raise WorkOrderClosed(number, editing)
    return order


def _move(
    session: Session,
    order: WorkOrder,
    to_stage: str,
    actor: Actor,
    *,
    kind: str,
    reason: str = "",
    now: datetime | None = None,
    data: dict[str, Any] | None = None,
    desk: str | None = None,
) -> WorkOrder:
    _text("reason", reason)
    check_transition(order.stage, to_stage)  # before anything is written
    at = now or utcnow()
    from_stage = order.stage
    order.stage = to_stage
    order.status = lifecycle.menu_status(to_stage)  # the phone menu's "order status" reads this
    order.updated_at = at
    if desk is not None:
        order.desk = desk
    if to_stage == lifecycle.HANDLED:
        order.completed_at = at
    elif to_stage in (lifecycle.IN_PROGRESS, lifecycle.REOPENED):
        order.completed_at = None
    append_event(
        session,
        order,
        kind=kind,
        actor=actor.name,
        by_user_id=actor.user_id,
        at=at,
        from_stage=from_stage,
        to_stage=to_stage,
        reason=reason,
        data=data,
    )
    timers.on_stage(session, order, to_stage, at)  # deadlines met here stop, those counted from here start
    return order


def _known_desk(session: Session, desk: str) -> None:
    # A desk the rules do not name has no queue page, no calendar and no deadlines: the order would be lost.
    desks = live_deadlines(session).desks
    if desk not in desks:
        raise InvalidInput("desk", f"unknown desk {desk!r}; one of {', '.join(desks)}")


def _text(field: str, value: str) -> None:
    if len(value) > MAX_TEXT:
        raise InvalidInput(field, f"at most {MAX_TEXT} characters (got {len(value)})")
