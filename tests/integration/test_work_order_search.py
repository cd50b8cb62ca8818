"""The search page (issue 16): customers and work orders by phone, name, account and work-order number."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from ivr.db.models import Agent, Customer, WorkOrder
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.people.users import ROLES
from ivr.work_orders.cases import Actor, close, record_answer, record_field_result
from ivr.work_orders.orders import open_work_order
from ivr.work_orders.search import phone_forms, search

PASSWORD = "correct horse battery"


@pytest.fixture
def client(app):
    app.config["SECRET_KEY"] = "test-secret-key"
    return app.test_client()


@pytest.fixture
def orders(hotline):
    """王芳 (10000001) with one open and one closed order; an order from a number with no account."""
    system = Actor("system")
    with unit_of_work(hotline.sessions) as session:
        wang = session.scalar(select(Customer).where(Customer.account_number == "10000001"))
        opened = open_work_order(session, kind="fault", caller_number="", customer=wang, source_key="s:open")
        done = open_work_order(
            session,
            kind="account_business",
            work_class="account_business",
            caller_number="",
            customer=wang,
            source_key="s:done",
        )
        stranger = open_work_order(session, kind="fault", caller_number="+8613911112222", source_key="s:x")
        numbers = opened.number, done.number, stranger.number
    with unit_of_work(hotline.sessions) as session:
        record_field_result(session, number=numbers[1], result="fixed", actor=system)
        record_answer(session, number=numbers[1], channel="phone", answer="told", actor=system)
        close(session, number=numbers[1], actor=system)
    return numbers


def _signed_in(client, hotline, role):
    with unit_of_work(hotline.sessions) as session:
        seat = session.scalar(select(Agent.id).order_by(Agent.id).limit(1)) if role == "agent" else None
        create_user(session, username=f"u-{role}", role=role, password=PASSWORD, agent_id=seat)
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)
    form = {"username": f"u-{role}", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=form)
    assert response.status_code == 302
    return client


def _find(client, query):
    return client.get("/search", query_string={"q": query}).get_data(as_text=True)


def _section(page, section_id):
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


@pytest.mark.parametrize("query", ["+8613800000001", "8613800000001", "13800000001", "138 0000 0001"])
def test_by_phone_number_in_any_usual_form(client, hotline, orders, query):
    opened, done, _ = orders
    page = _find(_signed_in(client, hotline, "agent"), query)
    customers = _section(page, "customers")
    assert "王芳" in customers and "10000001" in customers
    assert f'href="/work-orders/{opened}"' in customers
    assert done not in customers  # closed: not among the open orders


def test_by_name_prefix(client, hotline, orders):
    opened, _, _ = orders
    page = _find(_signed_in(client, hotline, "agent"), "王")
    customers = _section(page, "customers")
    assert "王芳" in customers and opened in customers
    assert "李强" not in customers
    page = client.get("/search", query_string={"q": "John"}).get_data(as_text=True)
    assert "John Smith" in page and "王芳" not in page
    # The middle of a name is not its beginning: prefix search only (it is what the index answers).
    page = client.get("/search", query_string={"q": "芳"}).get_data(as_text=True)
    assert "王芳" not in page and "没有找到" in page


@pytest.mark.parametrize("query", ["%", "_", "*", "?", "[王]芳", "王%"])
def test_wildcards_in_a_name_match_only_themselves(client, hotline, orders, query):
    page = _find(_signed_in(client, hotline, "agent"), query)
    assert _section(page, "customers") == "" and "没有找到" in page


def test_by_account_number(client, hotline, orders):
    page = _signed_in(client, hotline, "agent").get("/search", query_string={"q": "10000002"})
    page = page.get_data(as_text=True)
    customers = _section(page, "customers")
    assert "李强" in customers and "王芳" not in customers


def test_by_work_order_number_finds_it_even_when_closed(client, hotline, orders):
    _, done, stranger = orders
    page = _find(_signed_in(client, hotline, "agent"), done)
    found = _section(page, "orders")
    assert f'href="/work-orders/{done}"' in found and "已关闭 / Closed" in found
    page = client.get("/search", query_string={"q": stranger}).get_data(as_text=True)
    assert "+8613911112222" in _section(page, "orders")


def test_a_number_with_no_account_finds_its_orders(client, hotline, orders):
    _, _, stranger = orders
    page = _signed_in(client, hotline, "agent").get("/search", query_string={"q": "13911112222"})
    page = page.get_data(as_text=True)
    assert _section(page, "customers") == "" and stranger in _section(page, "orders")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_search(client, hotline, orders, role):
    response = _signed_in(client, hotline, role).get("/search", query_string={"q": "王"})
    assert response.status_code == 200 and "王芳" in response.get_data(as_text=True)


def test_nobody_signed_out_searches(client, hotline, orders):
    response = client.get("/search", query_string={"q": "王"})
    assert response.status_code in (302, 401) and "王芳" not in response.get_data(as_text=True)


def test_an_empty_or_too_long_search_says_why(client, hotline, orders):
    signed_in = _signed_in(client, hotline, "agent")
    assert signed_in.get("/search").status_code == 200  # the form alone
    empty = signed_in.get("/search", query_string={"q": "  "})
    assert empty.status_code == 400 and "type a phone number, name" in empty.get_data(as_text=True)
    long = signed_in.get("/search", query_string={"q": "x" * 101})
    assert long.status_code == 400 and "at most 100 characters" in long.get_data(as_text=True)


def test_the_navigation_links_the_search(client, hotline):
    page = _signed_in(client, hotline, "quality").get("/home").get_data(as_text=True)
    assert 'href="/search"' in page


def test_phone_forms():
    assert phone_forms("13800000001") == ["+13800000001", "+8613800000001", "13800000001"]
    assert "+8613800000001" in phone_forms("8613800000001")


def test_a_name_search_is_answered_from_the_index(hotline, orders):
    # The plan names ix_customers_name: a prefix, not a scan of every customer.
    with hotline.sessions() as session:
        dialect = session.get_bind().dialect.name
        statement = select(Customer.id).where(Customer.name.op("GLOB")("王*"))
        if dialect == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))  # a table of 5 rows is scanned otherwise
            statement = select(Customer.id).where(Customer.name.like("王%", escape="\\"))
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN" if dialect == "sqlite" else "EXPLAIN"
        plan = " ".join(str(row) for row in session.execute(text(f"{explain} {compiled}")))
        assert "ix_customers_name" in plan, plan
        result = search(session, "王")
    assert [hit.customer.name for hit in result.customers] == ["王芳"]
    shown = [order.number for order in result.customers[0].open_orders]
    assert orders[0] in shown and orders[1] not in shown  # open, closed
    with hotline.sessions() as session:
        assert session.scalar(select(WorkOrder.stage).where(WorkOrder.number == orders[1])) == "closed"
