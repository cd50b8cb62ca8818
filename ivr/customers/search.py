"""Finding customers by any of their numbers, their account number, or the beginning of their name.

The finders are the work-order search's (ivr/work_orders/search.py), all indexed; this adds the account
numbers with letters, which the name search would not match, and the customers page's own message.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.db.models import Customer
from ivr.work_orders.search import MAX_QUERY, customers_by_name, customers_by_number


class SearchRefused(ValueError):
    """A search that cannot be run (empty, too long); the message says why."""


def find_customers(session: Session, query: str) -> list[Customer]:
    """Customers whose number or account is `query`, or whose name begins with it."""
    text = query.strip()
    if not text:
        raise SearchRefused("请输入电话、姓名或户号 / type a phone number, name or account number")
    if len(text) > MAX_QUERY:
        raise SearchRefused(f"搜索内容太长 / the search is too long: at most {MAX_QUERY} characters")
    compact = text.replace(" ", "").replace("-", "")
    if compact.lstrip("+").isdigit():
        return customers_by_number(session, compact)
    by_account = list(session.scalars(select(Customer).where(Customer.account_number == text)))
    found = {customer.id: customer for customer in [*by_account, *customers_by_name(session, text)]}
    return list(found.values())
