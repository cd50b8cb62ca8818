"""The work-order API on SQLite and PostgreSQL: create, read with history, move, field result, answer, close,
a customer's open ones; 404/409/422 with a message and nothing written; one event per change."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import func, select

from ivr.db.models import Agent, Customer, WorkOrder, WorkOrderEvent, WorkOrderOutbox
from ivr.db.session import unit_of_work
from ivr.people.user_admin import create_user
from ivr.work_orders import cases
from ivr.work_orders.lifecycle import TransitionRefused
from ivr.work_orders.orders import open_work_order
from tests.helpers import action_of, new_call_sid, spoken, twiml

PASSWORD = "correct horse battery"
NEW = {
    "external_id": "CRM-1",
    "work_class": "quality_complaint",
    "caller_number": "+8613800000077",
    "description": "Gas pressure low since the meter change",
    "desk": "complaints",
}


def token_of(hotline, role, username=None):
    with unit_of_work(hotline.sessions) as session:
        agent_id = session.scalars(select(Agent.id).order_by(Agent.id)).first() if role == "agent" else None
        name = username or f"api-{role}"
        _, token = create_user(session, username=name, role=role, password=PASSWORD, agent_id=agent_id)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(app):
    return app.test_client()


@pytest.fixture
def auth(hotline):
    return token_of(hotline, "supervisor")


def counts(hotline):
    with hotline.sessions() as session:
        orders = session.scalar(select(func.count()).select_from(WorkOrder))
        events = session.scalar(select(func.count()).select_from(WorkOrderEvent))
        owed = session.scalar(select(func.count()).select_from(WorkOrderOutbox))  # the webhooks' outbox
        return orders, events, owed


def stored(hotline, number):
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order is not None
        session.expunge(order)
        return order


def create(api, auth, **changes):
    response = api.post("/api/work-orders", json={**NEW, **changes}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_read_and_the_whole_lifecycle_with_history(api, auth, hotline):
    orders_before, events_before, owed_before = counts(hotline)
    made = create(api, auth)
    number = made["number"]
    assert made["stage"] == "opened" and made["status"] == "open"
    assert made["work_class"] == "quality_complaint" and made["desk"] == "complaints"
    assert [e["kind"] for e in made["history"]] == ["opened"]
    assert made["history"][0]["by"] == "api:api-supervisor"
    assert counts(hotline) == (orders_before + 1, events_before + 1, owed_before + 1)

    url = f"/api/work-orders/{number}"
    steps = [
        ("/stage", {"stage": "handed_over", "desk": "field_crew", "reason": "needs a pressure check"}),
        ("/stage", {"stage": "accepted"}),
        ("/stage", {"stage": "in_progress", "reason": "crew 3 sent"}),
        ("/field-result", {"result": "regulator replaced", "data": {"crew": "3"}}),
        ("/answer", {"channel": "phone", "answer": "told the customer it is fixed"}),
        ("/close", {"reason": "customer satisfied"}),
    ]
    for path, body in steps:
        response = api.post(url + path, json=body, headers=auth)
        assert response.status_code == 200, (path, response.get_json())
    read = api.get(url, headers=auth)
    assert read.status_code == 200
    order = read.get_json()
    assert (
        order["stage"] == "closed"
        and order["status"] == "completed"
        and order["allowed_next"] == ["reopened"]
    )
    assert order["desk"] == "field_crew"
    moves = [(e["kind"], e["from_stage"], e["to_stage"]) for e in order["history"]]
    assert moves == [
        ("opened", None, "opened"),
        ("handed_over", "opened", "handed_over"),
        ("accepted", "handed_over", "accepted"),
        ("moved", "accepted", "in_progress"),
        ("field_result", "in_progress", "handled"),
        ("answered", "handled", "answered"),
        ("closed", "answered", "closed"),
    ]
    assert order["history"][1]["reason"] == "needs a pressure check"
    assert order["history"][1]["data"] == {"desk": "field_crew", "from_desk": "complaints"}
    assert order["history"][4]["data"] == {"result": "regulator replaced", "crew": "3"}
    assert order["history"][5]["data"] == {"channel": "phone"}
    assert counts(hotline) == (orders_before + 1, events_before + 7, owed_before + 7)
    with hotline.sessions() as session:
        owed = session.scalars(
            select(WorkOrderOutbox)
            .where(WorkOrderOutbox.work_order_number == number)
            .order_by(WorkOrderOutbox.id)
        ).all()
    assert [row.kind for row in owed] == [f"work_order.{kind}" for kind, _, _ in moves]
    assert [row.event_id for row in owed] == [f"work-order-event:{e['id']}" for e in order["history"]]
    assert json.loads(owed[4].body)["data"]["data"] == {"result": "regulator replaced", "crew": "3"}

    # The customer disagrees: reopened, back into work.
    reopened = api.post(url + "/stage", json={"stage": "reopened", "reason": "still low"}, headers=auth)
    assert reopened.status_code == 200 and reopened.get_json()["status"] == "open"
    assert stored(hotline, number).completed_at is None


def test_a_resend_with_the_same_external_id_answers_the_same_order(api, auth, hotline):
    first = create(api, auth)
    before = counts(hotline)
    again = api.post("/api/work-orders", json=NEW, headers=auth)
    assert again.status_code == 200 and again.get_json()["number"] == first["number"]
    assert counts(hotline) == before


def test_unknown_order_is_404_and_writes_nothing(api, auth, hotline):
    before = counts(hotline)
    for method, path, body in [
        ("GET", "/api/work-orders/999", None),
        ("POST", "/api/work-orders/999/stage", {"stage": "accepted"}),
        ("POST", "/api/work-orders/999/field-result", {"result": "x"}),
        ("POST", "/api/work-orders/999/close", {}),
    ]:
        response = api.open(path, method=method, json=body, headers=auth)
        assert response.status_code == 404, path
        assert response.get_json() == {"error": "no work order '999'"}
    assert counts(hotline) == before


def test_an_invalid_transition_is_409_naming_the_allowed_and_writes_nothing(api, auth, hotline):
    number = create(api, auth)["number"]
    before = counts(hotline)
    response = api.post(f"/api/work-orders/{number}/close", json={}, headers=auth)
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "a work order cannot go from opened to closed; "
        "from opened it may go to: handed_over, accepted, in_progress, handled",
        "stage": "opened",
        "allowed": ["handed_over", "accepted", "in_progress", "handled"],
    }
    answer = api.post(
        f"/api/work-orders/{number}/answer", json={"channel": "sms", "answer": "x"}, headers=auth
    )
    assert answer.status_code == 409 and answer.get_json()["allowed"][0] == "handed_over"
    assert counts(hotline) == before
    order = stored(hotline, number)
    assert (order.stage, order.status, order.updated_at) == ("opened", "open", order.created_at)


def test_a_closed_order_edited_is_409_and_unchanged(api, auth, hotline):
    number = create(api, auth)["number"]
    url = f"/api/work-orders/{number}"
    for path, body in [
        ("/field-result", {"result": "done on the phone"}),
        ("/answer", {"channel": "phone", "answer": "explained"}),
        ("/close", {}),
    ]:
        assert api.post(url + path, json=body, headers=auth).status_code == 200
    before = counts(hotline)
    note = api.post(url + "/notes", json={"note": "late note"}, headers=auth)
    assert note.status_code == 409
    assert (
        note.get_json()["error"]
        == f"work order {number} is closed: adding a note is refused; reopen it first"
    )
    hand = api.post(url + "/stage", json={"stage": "handed_over", "desk": "b", "reason": "r"}, headers=auth)
    assert hand.status_code == 409 and hand.get_json()["allowed"] == ["reopened"]
    result = api.post(url + "/field-result", json={"result": "again"}, headers=auth)
    assert result.status_code == 409
    assert counts(hotline) == before
    assert stored(hotline, number).stage == "closed"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("", {**NEW, "work_class": "plumbing"}, "work_class"),
        ("", {**NEW, "external_id": ""}, "external_id"),
        ("", {**NEW, "caller_number": None}, "caller_number"),
        ("", {**NEW, "caller_number": None, "account": "NO-SUCH"}, "account"),
        ("", {**NEW, "description": 12}, "description"),
        ("", ["not", "an", "object"], "body"),
        ("/{n}/stage", {"stage": "done"}, "stage"),
        ("/{n}/stage", {}, "stage"),
        ("/{n}/stage", {"stage": "handed_over", "reason": "r"}, "desk"),
        ("/{n}/stage", {"stage": "handed_over", "desk": "safety"}, "reason"),
        ("", {**NEW, "desk": "plumbers"}, "desk"),
        ("/{n}/stage", {"stage": "handed_over", "desk": "plumbers", "reason": "r"}, "desk"),
        ("/{n}/field-result", {"result": ""}, "result"),
        ("/{n}/field-result", {"result": "x", "data": [1]}, "data"),
        ("/{n}/answer", {"channel": "pigeon", "answer": "x"}, "channel"),
        ("/{n}/notes", {"note": "x" * 4001}, "note"),
    ],
)
def test_a_bad_body_is_422_naming_the_field_and_writes_nothing(api, auth, hotline, path, body, field):
    number = create(api, auth, external_id="CRM-422")["number"]
    before = counts(hotline)
    response = api.post("/api/work-orders" + path.format(n=number), json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert response.get_json()["error"].startswith(f"{field}: ")
    assert counts(hotline) == before
    assert stored(hotline, number).stage == "opened"


def test_a_customer_s_open_ones_by_number_or_account(api, auth, hotline):
    with hotline.sessions() as session:
        customer = session.scalars(select(Customer).order_by(Customer.id)).first()
        assert customer is not None
        phone, account = customer.phone, customer.account_number
        already = {o.number for o in session.scalars(select(WorkOrder).where(WorkOrder.stage != "closed"))}
    by_account = create(api, auth, external_id="CRM-A", caller_number=None, account=account)
    assert by_account["caller_number"] == phone and by_account["account"] == account
    by_phone = create(api, auth, external_id="CRM-P", caller_number=phone)
    other = create(api, auth, external_id="CRM-O", caller_number="+8613900000000")
    closed = create(api, auth, external_id="CRM-C", caller_number=phone)["number"]
    for path, body in [
        ("/field-result", {"result": "r"}),
        ("/answer", {"channel": "sms", "answer": "a"}),
        ("/close", {}),
    ]:
        assert api.post(f"/api/work-orders/{closed}{path}", json=body, headers=auth).status_code == 200

    for query in ({"phone": phone}, {"account": account}):
        response = api.get("/api/work-orders", query_string=query, headers=auth)
        assert response.status_code == 200
        numbers = [o["number"] for o in response.get_json()["work_orders"] if o["number"] not in already]
        wanted = [by_phone["number"], by_account["number"]] if "phone" in query else [by_account["number"]]
        assert numbers == wanted, query
        assert other["number"] not in numbers and closed not in numbers
    nothing = api.get("/api/work-orders", headers=auth)
    assert nothing.status_code == 422 and nothing.get_json()["field"] == "number"


def test_scopes_follow_the_token_user_s_role(api, hotline, auth):
    number = create(api, auth)["number"]
    agent = token_of(hotline, "agent")
    quality = token_of(hotline, "quality")
    assert api.get(f"/api/work-orders/{number}", headers=agent).status_code == 200
    refused = api.post(f"/api/work-orders/{number}/stage", json={"stage": "accepted"}, headers=agent)
    assert refused.status_code == 403
    assert api.get(f"/api/work-orders/{number}", headers=quality).status_code == 403
    assert api.get(f"/api/work-orders/{number}").status_code == 401
    assert stored(hotline, number).stage == "opened"


def test_accepting_makes_the_desk_user_the_owner(api, hotline, auth):
    number = create(api, auth)["number"]
    lead = token_of(hotline, "shift_lead")
    body = {"stage": "handed_over", "desk": "business", "reason": "billing question"}
    assert api.post(f"/api/work-orders/{number}/stage", json=body, headers=auth).status_code == 200
    supervisor_id = stored(hotline, number).owner_user_id
    assert supervisor_id is not None  # the taker owns it until the desk accepts
    accepted = api.post(f"/api/work-orders/{number}/stage", json={"stage": "accepted"}, headers=lead)
    assert accepted.status_code == 200
    assert stored(hotline, number).owner_user_id not in (None, supervisor_id)


def test_the_menu_s_orders_get_a_class_a_stage_and_an_opened_event(hotline):
    with unit_of_work(hotline.sessions) as session:
        order = open_work_order(session, kind="fault", caller_number="+8613800000001", source_key="t:menu")
        number = order.number
    with hotline.sessions() as session:
        order = session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order is not None
        assert (order.work_class, order.stage, order.status) == ("fault_repair", "opened", "open")
        events = session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)).all()
        assert [(e.kind, e.actor, e.to_stage) for e in events] == [("opened", "menu", "opened")]


def _menu_says(twilio, number):
    root = twiml(twilio.post("/voice/incoming", call_sid=(sid := new_call_sid()), caller="+8613800000001"))
    for digits in ("3", "2", f"{number}#"):
        root = twiml(twilio.post(action_of(root), {"Digits": digits}, call_sid=sid, caller="+8613800000001"))
    return spoken(root)


def test_the_menu_s_order_status_follows_the_stage_the_api_sets(api, auth, twilio):
    number = create(api, auth)["number"]
    said = _menu_says(twilio, number)
    assert "已登记" in said or "已受理" in said  # with a running deadline's time, or none
    url = f"/api/work-orders/{number}/stage"
    assert (
        api.post(url, json={"stage": "in_progress", "reason": "crew sent"}, headers=auth).status_code == 200
    )
    assert "技术人员已派出" in _menu_says(twilio, number)
    assert (
        api.post(f"/api/work-orders/{number}/field-result", json={"result": "ok"}, headers=auth).status_code
        == 200
    )
    assert "已处理，我们会致电告知您处理结果" in _menu_says(twilio, number)
    reopened = {"stage": "in_progress", "reason": "result not accepted by the desk"}
    assert api.post(url, json=reopened, headers=auth).status_code == 200
    assert "技术人员已派出" in _menu_says(twilio, number)


def test_two_changes_at_once_are_checked_one_after_the_other(api, auth, hotline, database_url):
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite writes one transaction at a time; the row lock is PostgreSQL's")
    number = create(api, auth)["number"]
    assert (
        api.post(f"/api/work-orders/{number}/field-result", json={"result": "r"}, headers=auth).status_code
        == 200
    )
    outcome: list[object] = []

    def second() -> None:
        with hotline.sessions() as session:
            try:
                cases.move(session, number=number, to_stage="in_progress", actor=cases.SYSTEM)
                session.commit()
                outcome.append("moved")
            except TransitionRefused as refused:
                outcome.append(refused.from_stage)

    with hotline.sessions() as session:
        cases.record_answer(session, number=number, channel="sms", answer="done", actor=cases.SYSTEM)
        other = threading.Thread(target=second)
        other.start()
        other.join(0.5)
        assert other.is_alive() and outcome == []  # waiting for the first change's lock
        session.commit()
    other.join(10)
    assert outcome == ["answered"]  # checked against the stage the first change left
    order = api.get(f"/api/work-orders/{number}", headers=auth).get_json()
    assert order["stage"] == "answered" and [e["kind"] for e in order["history"]][-1] == "answered"


def test_0013_gives_existing_orders_a_stage_and_a_class(tmp_path):
    from alembic import command
    from sqlalchemy import inspect, text

    from ivr.db import migrate
    from ivr.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = migrate.alembic_config(str(engine.url))
    command.upgrade(config, "0012")
    insert = text(
        "INSERT INTO work_orders (number, kind, status, emergency, caller_number, address, description,"
        " created_at) VALUES (:number, :kind, :status, 0, '+86138', '', '', '2026-11-01 10:00:00.000000')"
    )
    with engine.begin() as connection:
        for number, kind, status in [
            ("1", "fault", "open"),
            ("2", "gas_leak", "dispatched"),
            ("3", "odd", "open"),
        ]:
            connection.execute(insert, {"number": number, "kind": kind, "status": status})
    command.upgrade(config, "0013")
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT number, work_class, stage, status, updated_at FROM work_orders ORDER BY number")
        ).all()
    assert [tuple(row)[:4] for row in rows] == [
        ("1", "fault_repair", "opened", "open"),
        ("2", "gas_leak", "opened", "dispatched"),
        ("3", "enquiry", "opened", "open"),
    ]
    assert all(row.updated_at is not None for row in rows)
    assert "work_order_events" in inspect(engine).get_table_names()
    command.downgrade(config, "0012")
    assert "work_order_events" not in inspect(engine).get_table_names()
    assert "stage" not in [c["name"] for c in inspect(engine).get_columns("work_orders")]
    engine.dispose()


def test_retention_removes_an_old_closed_order_with_its_history_never_one_awaiting_the_customer(hotline):
    from datetime import timedelta

    from ivr.db.models import utcnow
    from ivr.jobs.tasks import remove_expired

    old = utcnow() - timedelta(days=900)  # past the 800 days kept by default
    numbers = {}
    with unit_of_work(hotline.sessions) as session:
        for name, steps in (("closed", ("answered", "closed")), ("answered", ("answered",)), ("handled", ())):
            order = open_work_order(session, kind="fault", caller_number="+86138", source_key=f"ret:{name}")
            cases.record_field_result(session, number=order.number, result="r", actor=cases.SYSTEM, now=old)
            if "answered" in steps:
                cases.record_answer(
                    session, number=order.number, channel="sms", answer="a", actor=cases.SYSTEM
                )
            if "closed" in steps:
                cases.close(session, number=order.number, actor=cases.SYSTEM)
            numbers[name] = order.number
    remove_expired(hotline)
    with hotline.sessions() as session:
        left = set(session.scalars(select(WorkOrder.number).where(WorkOrder.number.in_(numbers.values()))))
        orphans = session.scalar(
            select(func.count())
            .select_from(WorkOrderEvent)
            .where(~WorkOrderEvent.work_order_id.in_(select(WorkOrder.id)))
        )
    assert left == {numbers["answered"], numbers["handled"]}
    assert orphans == 0
