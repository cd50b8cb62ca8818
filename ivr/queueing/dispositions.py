"""A call's disposition: the class of request, what was done and notes, recorded by the agent who took it.

Wrap-up does not end without one (docs/work-orders.md, "The agent's side"): the agent's own request to leave
wrap-up is refused and the automatic end skips them; a shift lead's move on the live board still frees them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from ivr.db.models import Agent, Call, CallDisposition, Customer, WorkOrder, utcnow
from ivr.work_orders import lifecycle
from ivr.work_orders.cases import (
    MAX_TEXT,
    Actor,
    InvalidInput,
    WorkOrderClosed,
    WorkOrderNotFound,
    add_note,
    open_case,
)

# What was done about the call; "opened" opens a work order, "attached" notes the call on an open one.
OUTCOMES = ("answered", "opened", "attached", "transferred", "no_action")
RECORDABLE_IN = ("on_call", "wrap_up")  # during or after the call


class DispositionRefused(ValueError):
    """A disposition that cannot be recorded; the message says why, in both languages."""


def record_disposition(
    session: Session,
    *,
    agent_id: int,
    actor: Actor,
    work_class: str,
    outcome: str,
    notes: str = "",
    work_order_number: str = "",
    now: datetime | None = None,
) -> CallDisposition:
    """Record the disposition of the agent's current (or just ended) call; the caller commits.

    "opened" opens a work order owned by the agent's user with the call attached; "attached" adds a note
    naming the call to an open order of the same caller. Refused (nothing written) with DispositionRefused.
    """
    _check(work_class, outcome, notes)
    # Locked like a state change, so the call the disposition is for cannot change under us.
    agent = session.scalar(select(Agent).where(Agent.id == agent_id).with_for_update())
    if agent is None:
        raise DispositionRefused(f"没有此坐席 / there is no agent with id {agent_id}")
    if agent.state not in RECORDABLE_IN or not agent.call_sid:
        raise DispositionRefused(
            "当前没有可记录的通话 / there is no call to record: none is connected or in wrap-up"
        )
    call_sid = agent.call_sid
    if _recorded(session, agent.id, call_sid):
        raise DispositionRefused(f"此通话已有处理结果 / the call {call_sid} already has a disposition")
    at = now or utcnow()
    number = None
    if outcome == "opened":
        number = _open_order(session, call_sid, agent, actor, work_class, notes, at)
    elif outcome == "attached":
        number = _attach(session, call_sid, actor, work_order_number.strip(), notes, at)
    disposition = CallDisposition(
        call_sid=call_sid,
        agent_id=agent.id,
        user_id=actor.user_id,
        work_class=work_class,
        outcome=outcome,
        work_order_number=number,
        notes=notes.strip(),
        at=at,
    )
    session.add(disposition)
    session.flush()
    return disposition


def disposition_missing(session: Session, agent: Agent) -> bool:
    """True while the agent is in wrap-up of a call that has no disposition of theirs."""
    if agent.state != "wrap_up" or not agent.call_sid:
        return False
    return not _recorded(session, agent.id, agent.call_sid)


def dispositions_of(session: Session, call_sids: list[str]) -> dict[str, CallDisposition]:
    """The first disposition of each of these calls (the panel's past calls)."""
    if not call_sids:
        return {}
    rows = session.scalars(
        select(CallDisposition).where(CallDisposition.call_sid.in_(call_sids)).order_by(CallDisposition.id)
    )
    found: dict[str, CallDisposition] = {}
    for row in rows:
        found.setdefault(row.call_sid, row)
    return found


def _recorded(session: Session, agent_id: int, call_sid: str) -> bool:
    query = select(
        exists().where(CallDisposition.call_sid == call_sid, CallDisposition.agent_id == agent_id)
    )
    return bool(session.scalar(query))


def _check(work_class: str, outcome: str, notes: str) -> None:
    if work_class not in lifecycle.WORK_CLASSES:
        raise DispositionRefused(
            f"请选择请求类别 / choose the class of request: one of {', '.join(lifecycle.WORK_CLASSES)}"
        )
    if outcome not in OUTCOMES:
        raise DispositionRefused(f"请选择处理结果 / choose the outcome: one of {', '.join(OUTCOMES)}")
    if len(notes) > MAX_TEXT:
        raise DispositionRefused(f"备注太长 / the notes are too long: at most {MAX_TEXT} characters")


def _caller(session: Session, call_sid: str) -> tuple[str, Customer | None]:
    """The caller's number and customer account (by the call's account, else by the number)."""
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    if call is None:
        return "", None
    if call.customer_id is not None:
        return call.from_number, session.get(Customer, call.customer_id)
    if not call.from_number:
        return "", None
    customer = session.scalar(select(Customer).where(Customer.with_number(call.from_number)))
    return call.from_number, customer


def _open_order(
    session: Session, call_sid: str, agent: Agent, actor: Actor, work_class: str, notes: str, at: datetime
) -> str:
    if actor.user_id is None:
        raise DispositionRefused("工单需由用户开立 / a work order is opened by a user: sign in as the agent")
    number, customer = _caller(session, call_sid)
    try:
        order = open_case(
            session,
            work_class=work_class,
            caller_number=number,
            actor=actor,
            source_key=f"disposition:{call_sid}:{agent.id}",
            description=notes.strip(),
            customer=customer,
            call_sid=call_sid,
            now=at,
        )
    except InvalidInput as bad:
        raise DispositionRefused(f"未能开立工单 / the work order was not opened: {bad}") from bad
    return order.number


def _attach(
    session: Session, call_sid: str, actor: Actor, order_number: str, notes: str, at: datetime
) -> str:
    if not order_number:
        raise DispositionRefused(
            "请填写要关联的工单号 / give the number of the work order to attach the call to"
        )
    number, customer = _caller(session, call_sid)
    callers = [WorkOrder.caller_number == number] if number else []
    if customer is not None:
        callers.append(WorkOrder.customer_id == customer.id)
    order = session.scalar(select(WorkOrder).where(WorkOrder.number == order_number))
    if order is None:
        raise DispositionRefused(f"没有此工单 / there is no work order {order_number}")
    caller_owns = bool(callers) and session.scalar(
        select(exists().where(WorkOrder.id == order.id, or_(*callers)))
    )
    if not caller_owns:
        raise DispositionRefused(
            f"工单 {order_number} 不属于此来电客户 / work order {order_number} is not this caller's"
        )
    if order.stage == lifecycle.CLOSED:
        raise DispositionRefused(
            f"工单 {order_number} 已关闭 / work order {order_number} is closed: reopen it or open a new one"
        )
    text = f"通话 {call_sid} 关联此工单 / call {call_sid} attached"
    if notes.strip():
        text += f": {notes.strip()}"
    try:
        add_note(session, number=order_number, note=text[:MAX_TEXT], actor=actor, now=at)
    except (WorkOrderNotFound, WorkOrderClosed, InvalidInput) as bad:
        raise DispositionRefused(f"未能关联工单 / the call was not attached: {bad}") from bad
    return order_number
