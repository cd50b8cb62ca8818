"""Menu actions that need the database: balances and work orders. Each returns what to say."""

from __future__ import annotations

import hmac
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.calls.flow import ActionResult
from ivr.db.models import Customer, CustomerNumber, WorkOrder, utcnow
from ivr.work_orders import lifecycle
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.orders import find_work_order, open_work_order

DEFAULT_TIMEZONE = "Asia/Shanghai"  # a desk the rules no longer know
FAULT_RESPONSE = timedelta(hours=24)  # DOMAIN: a meter or appliance fault is checked on site within 24 h


@dataclass(frozen=True)
class ActionContext:
    """The call an action runs for; `step` makes an opened work order idempotent under retries."""

    call_sid: str
    caller: str
    step: int
    account: str = ""  # the account number keyed before, whose second factor is being checked


def spell(number: str) -> str:
    """Digits spaced out, so text-to-speech reads them one by one."""
    return " ".join(number)


def _balance(customer: Customer) -> ActionResult:
    amount = f"{abs(customer.balance):.2f}"
    prompt = "balance_arrears" if customer.balance < 0 else "balance"
    return ActionResult(True, prompt, (("account", spell(customer.account_number)), ("amount", amount)))


def caller_balance(session: Session, context: ActionContext, digits: str) -> ActionResult:
    """The balance of the account that has the caller's number among its numbers."""
    customer = session.scalar(select(Customer).where(Customer.with_number(context.caller)))
    return _balance(customer) if customer else ActionResult(False)


def account_balance(session: Session, context: ActionContext, digits: str) -> ActionResult:
    """The balance of the account the caller keyed, when it is the caller's own; else the second factor."""
    customer = session.scalar(select(Customer).where(Customer.account_number == digits))
    if customer is not None and context.caller and _has_number(session, customer, context.caller):
        return _balance(customer)
    # Someone else's account or none at all: one answer for both, so a caller learns nothing of it.
    return ActionResult(False, second_factor_for=digits)


def _has_number(session: Session, customer: Customer, number: str) -> bool:
    """Whether `number` is one of the customer's own numbers."""
    mine = select(CustomerNumber.id).where(CustomerNumber.customer_id == customer.id)
    return session.scalar(mine.where(CustomerNumber.phone == number)) is not None


def checked_account_balance(session: Session, context: ActionContext, digits: str) -> ActionResult:
    """The balance of `context.account` once `digits` match the last 4 of the ID number on it."""
    customer = None
    if context.account:
        customer = session.scalar(select(Customer).where(Customer.account_number == context.account))
    expected = (customer.id_number_last4 or "") if customer is not None else ""
    # Compared in constant time, and compared even when nothing is on record, so timing tells nothing.
    matched = hmac.compare_digest(expected.upper().encode(), digits.upper().encode())
    if customer is not None and expected and matched:
        return _balance(customer)
    # The same words for a wrong factor, an unknown account and an account with no ID number on record.
    return ActionResult(False, "account_check_failed")


def report_fault(session: Session, context: ActionContext, digits: str) -> ActionResult:
    """Open a repair work order for the caller and read its number back."""
    customer = session.scalar(select(Customer).where(Customer.with_number(context.caller)))
    now = utcnow()
    order = open_work_order(
        session,
        kind="fault",
        caller_number=context.caller,
        customer=customer,
        call_sid=context.call_sid,
        source_key=f"fault:{context.call_sid}:{context.step}",
        promised_by=now + FAULT_RESPONSE,
        description="Fault reported on the hotline",
    )
    hours = str(_hours_left(order.promised_by))
    return ActionResult(True, "fault_reported", (("number", spell(order.number)), ("hours", hours)))


# The live work order's stage in words (docs/work-orders.md, "Closing the loop"); the stages still in work
# also say by when, the others need no time.
STAGE_PROMPTS = {
    lifecycle.OPENED: "work_order_stage_opened",
    lifecycle.HANDED_OVER: "work_order_stage_handed_over",
    lifecycle.ACCEPTED: "work_order_stage_accepted",
    lifecycle.IN_PROGRESS: "work_order_stage_in_progress",
    lifecycle.REOPENED: "work_order_stage_reopened",
    lifecycle.HANDLED: "work_order_stage_handled",
    lifecycle.ANSWERED: "work_order_completed",
    lifecycle.CLOSED: "work_order_completed",
}
TIMED_STAGES = (
    lifecycle.OPENED,
    lifecycle.HANDED_OVER,
    lifecycle.ACCEPTED,
    lifecycle.IN_PROGRESS,
    lifecycle.REOPENED,
)


def work_order_status(session: Session, context: ActionContext, digits: str) -> ActionResult:
    """The live work order the caller keyed: its stage in words and, while in work, the promised time."""
    order = find_work_order(session, digits)
    if order is None:
        return ActionResult(False, "work_order_not_found")
    number = ("number", spell(order.number))
    if order.stage not in TIMED_STAGES:
        return ActionResult(True, STAGE_PROMPTS.get(order.stage, "work_order_completed"), (number,))
    now = utcnow()
    # The time promised to the caller while it is ahead, else the running deadline's (a reopened order).
    times = [moment for moment in (order.promised_by, order.due_at) if moment is not None]
    ahead = [moment for moment in times if moment > now]
    if not ahead:
        untimed = "work_order_in_progress" if order.stage == lifecycle.IN_PROGRESS else "work_order_in_work"
        return ActionResult(True, "work_order_late" if times else untimed, (number,))
    local = ahead[0].replace(tzinfo=UTC).astimezone(ZoneInfo(_timezone_of(session, order)))
    values = (
        number,
        ("month", str(local.month)),
        ("day", str(local.day)),
        ("hour", str(local.hour)),
        ("minute", f"{local.minute:02d}"),
    )
    return ActionResult(True, STAGE_PROMPTS[order.stage], values)


def _timezone_of(session: Session, order: WorkOrder) -> str:
    # The promise is kept by the order's desk: its calendar's zone (the class's desk before one is set).
    rules = live_deadlines(session)
    desk = order.desk if order.desk in rules.desks else None
    if desk is None and order.work_class in rules.classes:
        desk = rules.classes[order.work_class].desk
    return rules.desks[desk].timezone if desk in rules.desks else DEFAULT_TIMEZONE


def _hours_left(promised_by: datetime | None) -> int:
    if promised_by is None:
        return 24
    return max(1, int(math.ceil((promised_by - utcnow()).total_seconds() / 3600)))


ACTIONS = {
    "caller_balance": caller_balance,
    "account_balance": account_balance,
    "checked_account_balance": checked_account_balance,
    "report_fault": report_fault,
    "work_order_status": work_order_status,
}


def run_action(session: Session, name: str, context: ActionContext, digits: str = "") -> ActionResult:
    """Run the named menu action."""
    return ACTIONS[name](session, context, digits)
