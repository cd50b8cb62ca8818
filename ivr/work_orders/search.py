"""Finding customers and work orders by phone number, name, account number or work-order number.

Every lookup is an indexed one: work_orders.number, customers.account_number and customer_numbers.phone
are unique, work_orders.caller_number is indexed, a name is matched by its beginning against
ix_customers_name (varchar_pattern_ops on PostgreSQL; GLOB, which SQLite answers from the index).
The customer pages (ivr/customers/search.py) find customers with the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ivr.db.models import Customer, CustomerNumber, WorkOrder
from ivr.work_orders.lifecycle import CLOSED

MAX_CUSTOMERS = 20
MAX_ORDERS = 50
MAX_OPEN_PER_CUSTOMER = 10
MAX_QUERY = 100
MIN_NAME = 1  # one character of a Chinese name is already selective; prefix only, so still indexed


@dataclass
class CustomerHit:
    """A customer found, with their work orders not yet closed (newest first)."""

    customer: Customer
    open_orders: list[WorkOrder] = field(default_factory=list)


@dataclass
class SearchResult:
    """What a search found: customers (with their open orders) and work orders matched directly."""

    query: str
    customers: list[CustomerHit]
    orders: list[WorkOrder]

    @property
    def empty(self) -> bool:
        return not self.customers and not self.orders


class SearchRefused(ValueError):
    """A search that cannot be run (empty, too long); the message says why."""


def search(session: Session, query: str) -> SearchResult:
    """Customers and work orders matching `query`: phone, account or work-order number, or a name's start."""
    text = query.strip()
    if not text:
        raise SearchRefused(
            "请输入电话、姓名、户号或工单号 / type a phone number, name, account or work-order number"
        )
    if len(text) > MAX_QUERY:
        raise SearchRefused(f"搜索内容太长 / the search is too long: at most {MAX_QUERY} characters")
    compact = text.replace(" ", "").replace("-", "")
    if compact.lstrip("+").isdigit():
        customers, orders = customers_by_number(session, compact), _orders_by_number(session, compact)
    else:
        customers, orders = customers_by_name(session, text), []
    hits = _with_open_orders(session, customers)
    return SearchResult(query=text, customers=hits, orders=orders)


def phone_forms(digits: str) -> list[str]:
    """The ways a number may be stored: as typed, in E.164 with a +, and a Chinese mobile with +86."""
    bare = digits.lstrip("+")
    forms = {digits, bare, f"+{bare}"}
    if len(bare) == 11 and bare.startswith("1"):  # a mainland mobile typed without the country code
        forms.add(f"+86{bare}")
    if bare.startswith("86") and len(bare) == 13:
        forms.add(bare[2:])
    if bare.startswith("0") and 10 <= len(bare) <= 12:  # a mainland landline with its trunk 0
        forms.add(f"+86{bare[1:]}")
    return sorted(forms)


def customers_by_number(session: Session, digits: str) -> list[Customer]:
    """Customers with this account number, or with this number (in any stored form) among their numbers."""
    owners = select(CustomerNumber.customer_id).where(CustomerNumber.phone.in_(phone_forms(digits)))
    matches = or_(Customer.account_number == digits.lstrip("+"), Customer.id.in_(owners))
    return list(session.scalars(select(Customer).where(matches).order_by(Customer.id).limit(MAX_CUSTOMERS)))


def _orders_by_number(session: Session, digits: str) -> list[WorkOrder]:
    matches = or_(WorkOrder.number == digits.lstrip("+"), WorkOrder.caller_number.in_(phone_forms(digits)))
    return list(
        session.scalars(
            select(WorkOrder)
            .where(matches)
            .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
            .limit(MAX_ORDERS)
        )
    )


def customers_by_name(session: Session, name: str) -> list[Customer]:
    """Customers whose name begins with `name`, by name."""
    return list(
        session.scalars(
            select(Customer)
            .where(_starts_with(session, Customer.name, name))
            .order_by(Customer.name, Customer.id)
            .limit(MAX_CUSTOMERS)
        )
    )


def _starts_with(session: Session, column: InstrumentedAttribute[str], prefix: str) -> ColumnElement[bool]:
    # Both forms are case-sensitive prefix matches that the database answers from the name's index:
    # SQLite's LIKE ignores case and so cannot use an ordinary index, its GLOB can.
    if session.get_bind().dialect.name == "sqlite":
        escaped = "".join(f"[{char}]" if char in "*?[" else char for char in prefix)
        return column.op("GLOB")(f"{escaped}*")
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"{escaped}%", escape="\\")


def _with_open_orders(session: Session, customers: list[Customer]) -> list[CustomerHit]:
    if not customers:
        return []
    hits = {customer.id: CustomerHit(customer) for customer in customers}
    # One query for all of them (work_orders.customer_id is indexed), bounded by the customers' count.
    rows = session.scalars(
        select(WorkOrder)
        .where(WorkOrder.customer_id.in_(hits), WorkOrder.stage != CLOSED)
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
        .limit(MAX_OPEN_PER_CUSTOMER * len(hits))
    )
    for order in rows:
        hit = hits[order.customer_id] if order.customer_id is not None else None
        if hit is not None and len(hit.open_orders) < MAX_OPEN_PER_CUSTOMER:
            hit.open_orders.append(order)
    return list(hits.values())
