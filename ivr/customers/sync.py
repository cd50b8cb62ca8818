"""Storing a customer's record: created, updated or unchanged, never a duplicate (import, sync API, edits).

An account is keyed by its account number; a number belongs to one account, so a number already on
another account refuses the record. Each record is all or nothing (a savepoint), and every change is in
the change log (kind "customer", the fields before and after).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ivr.configuration.change_log import log_change
from ivr.customers.records import DEFAULTS, CustomerRecord, RecordRefused
from ivr.db.models import Customer, CustomerNumber

CREATED, UPDATED, UNCHANGED, REFUSED = "created", "updated", "unchanged", "refused"
DETAIL_FIELDS = ("name", "numbers", "address", "district", "customer_class", "language")


@dataclass(frozen=True)
class Outcome:
    """What became of one record: created, updated, unchanged or refused (with why)."""

    account: str
    result: str
    why: str = ""
    customer_id: int | None = None
    changed: tuple[str, ...] = ()


def numbers_of(session: Session, customer_id: int) -> list[str]:
    """The customer's numbers, main number first."""
    query = select(CustomerNumber.phone).where(CustomerNumber.customer_id == customer_id)
    return list(session.scalars(query.order_by(CustomerNumber.position, CustomerNumber.id)))


def details(session: Session, customer: Customer) -> dict[str, Any]:
    """The fields a record sets, as stored now."""
    return {
        "account": customer.account_number,
        "name": customer.name,
        "numbers": numbers_of(session, customer.id),
        "address": customer.address,
        "district": customer.district,
        "customer_class": customer.customer_class,
        "language": customer.language,
    }


def store_customer(session: Session, record: CustomerRecord, *, who: str) -> Outcome:
    """Create or update the account from `record`, all or nothing; refused records change nothing."""
    try:
        with session.begin_nested():
            return _store(session, record, who)
    except RecordRefused as refused:
        return Outcome(record.account, REFUSED, str(refused))
    except IntegrityError:  # another writer took the account or a number between our check and our write
        return Outcome(record.account, REFUSED, "changed by another writer meanwhile: send it again")


def _store(session: Session, record: CustomerRecord, who: str) -> Outcome:
    customer = session.scalar(select(Customer).where(Customer.account_number == record.account))
    if customer is None and not record.name:
        raise RecordRefused("name", "is required for a new account")
    before = details(session, customer) if customer is not None else None
    current = before or {"account": record.account, "name": "", "numbers": [], **DEFAULTS}
    wanted = current | record.given()
    wanted["numbers"] = list(wanted["numbers"])
    changed = tuple(field for field in DETAIL_FIELDS if before is None or wanted[field] != before[field])
    if customer is not None and not changed:
        return Outcome(record.account, UNCHANGED, customer_id=customer.id)
    if "numbers" in changed:
        _check_numbers_free(session, customer.id if customer else None, wanted["numbers"])
    if customer is None:
        customer = _new_customer(session, record.account, wanted)
    else:
        for field in ("name", "address", "district", "customer_class", "language"):
            setattr(customer, field, wanted[field])
        if "numbers" in changed:
            _set_numbers(session, customer, wanted["numbers"])
    if before is None:
        log_change(session, who, "customer", "create", _subject(customer), after=wanted)
        return Outcome(record.account, CREATED, customer_id=customer.id, changed=changed)
    log_change(
        session,
        who,
        "customer",
        "update",
        _subject(customer),
        before={field: before[field] for field in changed},
        after={field: wanted[field] for field in changed},
    )
    return Outcome(record.account, UPDATED, customer_id=customer.id, changed=changed)


def _check_numbers_free(session: Session, customer_id: int | None, numbers: list[str]) -> None:
    if not numbers:
        return
    query = (
        select(CustomerNumber.phone, Customer.account_number)
        .join(Customer, Customer.id == CustomerNumber.customer_id)
        .where(CustomerNumber.phone.in_(numbers))
        .order_by(CustomerNumber.phone)
    )
    if customer_id is not None:
        query = query.where(CustomerNumber.customer_id != customer_id)
    taken = session.execute(query).first()
    if taken is not None:
        raise RecordRefused("numbers", f"{taken.phone} is already a number of account {taken.account_number}")


def _new_customer(session: Session, account: str, wanted: dict[str, Any]) -> Customer:
    numbers = wanted["numbers"]
    fields = ("name", "address", "district", "customer_class", "language")
    customer = Customer(
        account_number=account, phone=numbers[0] if numbers else "", **{f: wanted[f] for f in fields}
    )
    session.add(customer)
    session.flush()
    session.add_all(
        CustomerNumber(customer_id=customer.id, phone=phone, position=n) for n, phone in enumerate(numbers)
    )
    return customer


def _set_numbers(session: Session, customer: Customer, numbers: list[str]) -> None:
    rows = {
        row.phone: row
        for row in session.scalars(select(CustomerNumber).where(CustomerNumber.customer_id == customer.id))
    }
    removed = [row for phone, row in rows.items() if phone not in numbers]
    for row in removed:
        session.delete(row)
    if removed:
        session.flush()  # the removed numbers go first, so the unique index never sees a number twice
    for position, phone in enumerate(numbers):
        if phone in rows:
            rows[phone].position = position
        else:
            session.add(CustomerNumber(customer_id=customer.id, phone=phone, position=position))
    customer.phone = numbers[0] if numbers else ""
    session.flush()


def _subject(customer: Customer) -> str:
    return f"{customer.account_number} {customer.name}"
