"""The work-order API (JSON, bearer tokens) for the utility's other systems (docs/work-orders.md).

Create, read with history, move it on, record the field result and the answer, close, a customer's open ones.

Scopes are the token user's role (tokens carry no scopes of their own): reading is for every role that works
orders (admin, supervisor, shift_lead, agent); changing them for admin, supervisor and shift_lead. Give each
sending system its own user of the role it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from ivr.db.models import Customer, WorkOrder
from ivr.people.auth import person, role_required
from ivr.web.current_hotline import hotline
from ivr.work_orders import cases, lifecycle
from ivr.work_orders.cases import Actor, InvalidInput, WorkOrderNotFound
from ivr.work_orders.lifecycle import TransitionRefused
from ivr.work_orders.orders import event_body, find_work_order

bp = Blueprint("work_orders_api", __name__, url_prefix="/api/work-orders")

READ = ("admin", "supervisor", "shift_lead", "agent")  # scope work_orders:read
WRITE = ("admin", "supervisor", "shift_lead")  # scope work_orders:write

Answer = tuple[Response, int]
Change = Callable[[Session, str, dict[str, Any], Actor], WorkOrder]


def register(app: Flask) -> None:
    """Add the API to the app; it takes bearer tokens, so it is exempt from the pages' CSRF check."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.post("")
@role_required(*WRITE, token=True)
def create() -> Answer:
    """Open a work order; a resend with the same `external_id` answers the order already made (200)."""
    body = _body()
    external_id = _text(body, "external_id")
    work_class = _text(body, "work_class")
    caller_number = _text(body, "caller_number", required=False)
    account = _text(body, "account", required=False)
    if not caller_number and not account:
        raise InvalidInput("caller_number", "give the caller's number or the customer's account")
    with hotline().sessions() as session:
        customer = None
        if account:
            customer = session.scalar(select(Customer).where(Customer.account_number == account))
            if customer is None:
                raise InvalidInput("account", f"no customer with account {account!r}")
        source_key = f"api:{external_id}"
        before = session.scalar(select(WorkOrder.id).where(WorkOrder.source_key == source_key))
        description = _text(body, "description", required=False)
        address = _text(body, "address", required=False) or None
        desk = _text(body, "desk", required=False) or None
        try:
            order = cases.open_case(
                session,
                work_class=work_class,
                caller_number=caller_number or (customer.phone if customer else ""),
                actor=_actor(),
                source_key=source_key,
                description=description,
                address=address,
                customer=customer,
                desk=desk,
            )
            answer = _order_json(session, order)
            session.commit()
        except IntegrityError:  # the same external_id sent twice at once: the other one made it
            session.rollback()
            return _error(
                409, f"work order for external_id {external_id!r} was made meanwhile; send it again"
            )
    return jsonify(answer), 200 if before else 201


@bp.get("")
@role_required(*READ, token=True)
def open_ones() -> Answer:
    """A customer's work orders not yet closed: ?phone=... or ?account=..."""
    phone = request.args.get("phone", "").strip()
    account = request.args.get("account", "").strip()
    with hotline().sessions() as session:
        orders = cases.open_orders_of(session, phone=phone or None, account=account or None)
        return jsonify(work_orders=[_summary(order) for order in orders]), 200


@bp.get("/<number>")
@role_required(*READ, token=True)
def read(number: str) -> Answer:
    """One work order with its history."""
    with hotline().sessions() as session:
        order = find_work_order(session, number)
        if order is None:
            raise WorkOrderNotFound(number)
        return jsonify(_order_json(session, order)), 200


@bp.post("/<number>/stage")
@role_required(*WRITE, token=True)
def stage(number: str) -> Answer:
    """Move the order: {"stage": ..., "reason": ...}; a hand-over also names the "desk"."""

    def change(session: Session, number: str, body: dict[str, Any], actor: Actor) -> WorkOrder:
        to_stage = _text(body, "stage")
        reason = _text(body, "reason", required=False)
        if to_stage not in lifecycle.STAGES:
            raise InvalidInput("stage", f"unknown stage {to_stage!r}; one of {', '.join(lifecycle.STAGES)}")
        if to_stage == lifecycle.HANDED_OVER:
            desk = _text(body, "desk")
            return cases.hand_over(session, number=number, desk=desk, reason=reason, actor=actor)
        if to_stage == lifecycle.ACCEPTED:
            return cases.accept(session, number=number, actor=actor)
        if to_stage == lifecycle.REOPENED:
            return cases.reopen(session, number=number, actor=actor, reason=reason)
        return cases.move(session, number=number, to_stage=to_stage, actor=actor, reason=reason)

    return _change(number, change)


@bp.post("/<number>/field-result")
@role_required(*WRITE, token=True)
def field_result(number: str) -> Answer:
    """Record the field result: {"result": "...", "data": {...}}; the order is handled."""

    def change(session: Session, number: str, body: dict[str, Any], actor: Actor) -> WorkOrder:
        data = body.get("data", {})
        if not isinstance(data, dict):
            raise InvalidInput("data", "must be an object")
        result = _text(body, "result")
        return cases.record_field_result(session, number=number, result=result, actor=actor, data=data)

    return _change(number, change)


@bp.post("/<number>/answer")
@role_required(*WRITE, token=True)
def answer(number: str) -> Answer:
    """Record the answer given to the customer: {"channel": "phone", "answer": "..."}."""

    def change(session: Session, number: str, body: dict[str, Any], actor: Actor) -> WorkOrder:
        channel, said = _text(body, "channel"), _text(body, "answer")
        return cases.record_answer(session, number=number, channel=channel, answer=said, actor=actor)

    return _change(number, change)


@bp.post("/<number>/notes")
@role_required(*WRITE, token=True)
def note(number: str) -> Answer:
    """Add a note: {"note": "..."}."""

    def change(session: Session, number: str, body: dict[str, Any], actor: Actor) -> WorkOrder:
        return cases.add_note(session, number=number, note=_text(body, "note"), actor=actor)

    return _change(number, change)


@bp.post("/<number>/close")
@role_required(*WRITE, token=True)
def close(number: str) -> Answer:
    """Close an answered order: {"reason": "..."} (optional)."""

    def change(session: Session, number: str, body: dict[str, Any], actor: Actor) -> WorkOrder:
        return cases.close(session, number=number, actor=actor, reason=_text(body, "reason", required=False))

    return _change(number, change)


def _change(number: str, change: Change) -> Answer:
    # All or nothing: a refusal raises before the commit and the session closes unsaved.
    body = _body()
    with hotline().sessions() as session:
        order = change(session, number, body, _actor())
        answer = _order_json(session, order)
        session.commit()
    return jsonify(answer), 200


def _actor() -> Actor:
    who = person()
    return Actor(f"api:{who.username}", who.id)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("body", "send a JSON object, as application/json")
    return body


def _text(body: dict[str, Any], field: str, *, required: bool = True) -> str:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise InvalidInput(field, "is required")
        return ""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if len(value) > cases.MAX_TEXT:
        raise InvalidInput(field, f"at most {cases.MAX_TEXT} characters (got {len(value)})")
    return value.strip()


def _summary(order: WorkOrder) -> dict[str, Any]:
    return {
        "number": order.number,
        "work_class": order.work_class,
        "stage": order.stage,
        "status": order.status,
        "emergency": order.emergency,
        "caller_number": order.caller_number,
        "address": order.address,
        "description": order.description,
        "desk": order.desk,
        "owner_user_id": order.owner_user_id,
        "created_at": _time(order.created_at),
        "updated_at": _time(order.updated_at),
        "promised_by": _time(order.promised_by),
        "allowed_next": list(lifecycle.allowed_next(order.stage)),
    }


def _order_json(session: Session, order: WorkOrder) -> dict[str, Any]:
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    return {
        **_summary(order),
        "account": customer.account_number if customer else None,
        "history": [event_body(order, event) for event in cases.history(session, order)],
    }


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


@bp.errorhandler(WorkOrderNotFound)
def _not_found(error: WorkOrderNotFound) -> Answer:
    return _error(404, str(error))


@bp.errorhandler(TransitionRefused)
def _refused(error: TransitionRefused) -> Answer:
    return jsonify(error=str(error), stage=error.from_stage, allowed=list(error.allowed)), 409


@bp.errorhandler(InvalidInput)
def _invalid(error: InvalidInput) -> Answer:
    return jsonify(error=str(error), field=error.field), 422


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Answer:
    return _error(error.code or 500, str(error.description))


def _error(code: int, message: str) -> Answer:
    return jsonify(error=message), code
