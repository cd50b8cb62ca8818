"""The desks' pages: a desk's queue by due time, coloured as the clock moves, a page at a time; the work
order's page and each of its forms; refusals that show a message and write nothing; the roles
(docs/work-orders.md, "The desks' pages")."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ivr.db.models import Agent, Customer, User, WorkOrder, WorkOrderEvent
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders import cases
from ivr.work_orders.desk_queue import NO_DESK, After, desk_counts, desk_queue, urgency
from tests.helpers import count

PASSWORD = "desk-pages-password-1"
T0 = datetime(2026, 12, 7, 9, 0)  # naive UTC, as the columns hold it


@pytest.fixture
def clock(hotline):
    """Set the hotline's clock (the pages' now) to a naive-UTC moment."""

    def set_to(moment: datetime) -> None:
        hotline.clock = lambda: moment.replace(tzinfo=UTC).timestamp()

    set_to(T0)
    return set_to


def open_order(hotline, key, *, desk=None, due=None, warn=None, stage=None, work_class="service_complaint"):
    """A work order on `desk` with the due and warning times set (what the timers would have set)."""
    with unit_of_work(hotline.sessions) as session:
        customer = session.scalar(select(Customer).where(Customer.phone == "+8613800000001"))
        order = cases.open_case(
            session,
            work_class=work_class,
            caller_number="+8613800000001",
            actor=cases.SYSTEM,
            source_key=f"test:{key}",
            description=f"order {key}",
            desk=desk,
            customer=customer,
            now=T0 - timedelta(hours=2),
        )
        order.due_at, order.warn_at = due, warn
        if stage:
            order.stage = stage
        return order.number


def add_user(hotline, username, role, agent_identity=None):
    with unit_of_work(hotline.sessions) as session:
        agent_id = None
        if agent_identity:
            agent_id = session.scalar(select(Agent.id).where(Agent.client_identity == agent_identity))
        user, _ = create_user(session, username=username, role=role, password=PASSWORD, agent_id=agent_id)
        return user.id


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*? value="([^"]+)"', html).group(1)


def login(app, username):
    client = app.test_client()
    token = csrf(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 302
    return client


def queue_rows(html: str) -> list[tuple[str, str]]:
    """(number, urgency) of each row of a desk's queue, in order."""
    return re.findall(r'data-number="(\d+)" data-urgency="(\w+)"', html)


@pytest.fixture
def agent_client(app, hotline, clock):
    add_user(hotline, "chen", "agent", "agent-chenjing")  # 陈静, phone +8613700000001
    return login(app, "chen")


def post(client, number, action, **form):
    token = csrf(client.get(f"/work-orders/{number}").get_data(as_text=True))
    return client.post(f"/work-orders/{number}/{action}", data={"csrf_token": token, **form})


def events(hotline, number):
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        rows = session.scalars(
            select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id).order_by(WorkOrderEvent.id)
        )
        return [(e.kind, e.from_stage, e.to_stage, e.reason, e.data) for e in rows]


def order_of(hotline, number):
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        session.expunge(order)
        return order


# ---------------------------------------------------------------- the queue


def test_queue_is_by_due_time_and_its_colours_follow_the_clock(hotline, agent_client, clock):
    later = open_order(
        hotline, "later", desk="complaints", due=T0 + timedelta(hours=1), warn=T0 + timedelta(minutes=45)
    )
    sooner = open_order(
        hotline, "sooner", desk="complaints", due=T0 + timedelta(minutes=30), warn=T0 + timedelta(minutes=20)
    )
    none = open_order(hotline, "none", desk="complaints")
    late = open_order(
        hotline, "late", desk="complaints", due=T0 - timedelta(minutes=10), warn=T0 - timedelta(hours=1)
    )
    open_order(hotline, "closed", desk="complaints", due=T0 - timedelta(hours=1), stage="closed")
    open_order(hotline, "elsewhere", desk="business", due=T0 - timedelta(hours=3))

    page = agent_client.get("/desks/complaints")
    assert page.status_code == 200
    assert queue_rows(page.get_data(as_text=True)) == [
        (late, "overdue"),
        (sooner, "on_time"),
        (later, "on_time"),
        (none, "no_deadline"),
    ]
    clock(T0 + timedelta(minutes=25))  # past the sooner one's warning
    assert [u for _, u in queue_rows(agent_client.get("/desks/complaints").get_data(as_text=True))] == [
        "overdue",
        "warning",
        "on_time",
        "no_deadline",
    ]
    clock(T0 + timedelta(minutes=50))  # the sooner one is due, the later one past its warning
    assert [u for _, u in queue_rows(agent_client.get("/desks/complaints").get_data(as_text=True))] == [
        "overdue",
        "overdue",
        "warning",
        "no_deadline",
    ]


def test_desks_list_each_desk_of_the_rules_with_its_counts(hotline, agent_client, clock):
    open_order(hotline, "a", desk="complaints", due=T0 - timedelta(minutes=1))
    open_order(hotline, "b", desk="complaints", due=T0 + timedelta(hours=1), warn=T0 - timedelta(minutes=1))
    open_order(hotline, "c", desk="complaints", due=T0 + timedelta(hours=1), warn=T0 + timedelta(minutes=1))
    open_order(hotline, "d", desk="complaints", stage="closed")
    with hotline.sessions() as session:
        counts = {
            c.desk: (c.open, c.overdue, c.warning)
            for c in desk_counts(session, ["safety", "complaints"], now=T0)
        }
    assert counts["complaints"] == (3, 1, 1)
    assert counts["safety"] == (0, 0, 0)
    assert counts[NO_DESK][0] == 2  # the demo data's two open orders, at no desk yet

    html = agent_client.get("/desks").get_data(as_text=True)
    for desk in ("business", "complaints", "field_crew", "safety"):  # the default rules' desks
        assert f'href="/desks/{desk}"' in html
    row = re.search(r'href="/desks/complaints".*?class="open">(\d+)<.*?class="overdue">(\d+)<', html, re.S)
    assert row.groups() == ("3", "1")


def test_desk_queue_pages_by_keyset_with_ties_and_no_deadlines_last(hotline):
    due = [T0 + timedelta(minutes=m) for m in (5, 5, 5, 1, 9, 9)] + [None] * 4
    numbers = [open_order(hotline, f"k{i}", desk="business", due=d) for i, d in enumerate(due)]
    expected = sorted(
        zip(due, numbers, strict=True), key=lambda pair: (pair[0] is None, pair[0] or T0, int(pair[1]))
    )
    walked, after = [], None
    with hotline.sessions() as session:
        while True:
            page = desk_queue(session, "business", limit=3, after=after)
            walked.extend(row.number for row in page.rows)
            assert len(page.rows) <= 3
            if page.next_after is None:
                break
            after = After.parse(page.next_after.text())  # as it travels through the URL
    assert walked == [number for _, number in expected]


def test_the_queue_page_has_next_links_through_every_order(hotline, agent_client):
    numbers = {
        open_order(hotline, f"p{i}", desk="field_crew", due=T0 + timedelta(minutes=i % 7)) for i in range(60)
    }
    numbers |= {open_order(hotline, f"n{i}", desk="field_crew") for i in range(5)}
    seen, url, pages = [], "/desks/field_crew", 0
    while url:
        html = agent_client.get(url).get_data(as_text=True)
        seen += [number for number, _ in queue_rows(html)]
        pages += 1
        link = re.search(r'rel="next" href="([^"]+)"', html)
        url = link.group(1).replace("&amp;", "&") if link else None
    assert pages == 2
    assert len(seen) == len(set(seen)) == 65
    assert set(seen) == numbers


def test_a_bad_cursor_or_an_unknown_desk_is_a_4xx_with_a_message(agent_client):
    answer = agent_client.get("/desks/business?after=garbage")
    assert answer.status_code == 400
    assert "not a page of this queue" in answer.get_data(as_text=True)
    answer = agent_client.get("/desks/nowhere")
    assert answer.status_code == 404
    assert "There is no desk" in answer.get_data(as_text=True)


def test_urgency_at_the_edges():
    assert urgency(None, None, T0) == "no_deadline"
    assert urgency(T0, T0 - timedelta(minutes=1), T0) == "overdue"
    assert urgency(T0 + timedelta(seconds=1), T0, T0) == "warning"
    assert urgency(T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0) == "on_time"


# ---------------------------------------------------------------- the order's page and its forms


def test_the_order_page_shows_the_order_its_customer_and_its_history(hotline, agent_client):
    number = open_order(hotline, "page", desk="complaints", due=T0 + timedelta(hours=1))
    with unit_of_work(hotline.sessions) as session:
        cases.add_note(session, number=number, note="客户要求上午联系", actor=cases.SYSTEM, now=T0)
    html = agent_client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert f"Work order {number}" in html
    assert "王芳" in html  # the customer of +8613800000001 in the demo data
    assert "服务投诉 / Service complaint" in html
    assert re.findall(r'<li data-kind="(\w+)"', html) == ["opened", "note"]
    assert "客户要求上午联系" in html
    assert agent_client.get("/work-orders/9999999").status_code == 404


def test_each_action_goes_through_the_page_and_writes_its_event(hotline, agent_client):
    number = open_order(hotline, "walk", desk="business")
    user_id = order_of(hotline, number).owner_user_id
    assert user_id is None

    steps = [
        ("hand-over", {"desk": "complaints", "reason": "需投诉组核实"}, "handed_over"),
        ("accept", {}, "accepted"),
        ("note", {"note": "已联系客户"}, "accepted"),
        ("field-result", {"result": "已核实并道歉"}, "handled"),
        ("answer", {"channel": "sms", "answer": "已短信告知处理结果"}, "answered"),
        ("close", {"reason": ""}, "closed"),
        ("reopen", {"reason": "客户不认可"}, "reopened"),
    ]
    for action, form, stage in steps:
        answer = post(agent_client, number, action, **form)
        assert answer.status_code == 302, (action, answer.get_data(as_text=True))
        assert order_of(hotline, number).stage == stage, action
    order = order_of(hotline, number)
    assert order.desk == "complaints"
    with hotline.sessions() as session:
        chen = session.scalar(select(User.id).where(User.username == "chen"))
    assert order.owner_user_id == chen
    kinds = [kind for kind, *_ in events(hotline, number)]
    assert kinds == [
        "opened",
        "handed_over",
        "accepted",
        "note",
        "field_result",
        "answered",
        "closed",
        "reopened",
    ]
    answered = events(hotline, number)[5]
    assert answered[4]["channel"] == "sms" and answered[3] == "已短信告知处理结果"
    page = agent_client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert "短信 / SMS" in page


def test_a_refused_change_shows_its_message_and_writes_nothing(hotline, agent_client):
    number = open_order(hotline, "refused", desk="business")
    before = events(hotline, number)

    answer = post(agent_client, number, "close", reason="")
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "cannot go from opened to closed" in html and 'id="problem"' in html
    answer = post(agent_client, number, "answer", channel="pigeon", answer="x")
    assert answer.status_code == 422
    assert "unknown channel" in answer.get_data(as_text=True)
    answer = post(agent_client, number, "hand-over", desk="nowhere", reason="x")
    assert answer.status_code == 422
    assert "unknown desk &#39;nowhere&#39;; one of business" in answer.get_data(as_text=True)
    answer = post(agent_client, number, "note", note="   ")
    assert answer.status_code == 422
    assert events(hotline, number) == before
    assert order_of(hotline, number).stage == "opened"


def test_a_closed_order_takes_no_change_but_reopening(hotline, agent_client):
    number = open_order(hotline, "closed-one", desk="business", stage="closed")
    before = events(hotline, number)
    html = agent_client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert "/note" not in html and "/reopen" in html  # only the reopen form is offered
    answer = post(agent_client, number, "note", note="还在处理吗")
    assert answer.status_code == 409
    assert "is closed" in answer.get_data(as_text=True)
    assert events(hotline, number) == before
    assert post(agent_client, number, "reopen", reason="").status_code == 422
    assert post(agent_client, number, "reopen", reason="客户不同意").status_code == 302
    assert order_of(hotline, number).stage == "reopened"


def test_a_form_without_its_csrf_token_is_refused(hotline, agent_client):
    number = open_order(hotline, "csrf", desk="business")
    answer = agent_client.post(f"/work-orders/{number}/accept", data={})
    assert answer.status_code == 400
    assert order_of(hotline, number).stage == "opened"


# ---------------------------------------------------------------- roles


@pytest.mark.parametrize("role", ["agent", "shift_lead", "supervisor", "admin"])
def test_the_roles_that_work_orders_act_on_them(app, hotline, clock, role):
    add_user(hotline, f"u-{role}", role, "agent-zhaolei" if role == "agent" else None)
    client = login(app, f"u-{role}")
    number = open_order(hotline, f"role-{role}", desk="business")
    assert client.get("/desks/business").status_code == 200
    assert post(client, number, "note", note=f"by {role}").status_code == 302
    assert events(hotline, number)[-1][0] == "note"


def test_quality_reads_but_does_not_act(app, hotline, clock):
    add_user(hotline, "qa-li", "quality")
    client = login(app, "qa-li")
    number = open_order(hotline, "quality", desk="business")
    assert client.get("/desks").status_code == 200
    html = client.get(f"/work-orders/{number}").get_data(as_text=True)
    assert 'id="history"' in html and 'id="actions"' not in html
    token = csrf(html)  # the logout form's
    answer = client.post(f"/work-orders/{number}/note", data={"csrf_token": token, "note": "x"})
    assert answer.status_code == 403
    assert count_events(hotline, number) == 1


def test_without_login_the_pages_ask_for_it(app, hotline):
    answer = app.test_client().get("/desks")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def count_events(hotline, number):
    with hotline.sessions() as session:
        order_id = session.scalar(select(WorkOrder.id).where(WorkOrder.number == number))
        return count(session, WorkOrderEvent, WorkOrderEvent.work_order_id == order_id)
