"""The customer sync API (JSON, bearer tokens) for the utility's billing or CRM system.

Put one account, put many, read one (docs/customers.md). Idempotent: the same record sent again answers
"unchanged".

Tokens of admin and supervisor users may write and read; give the sending system its own user.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from ivr.customers.records import RecordRefused, checked_account, record_from
from ivr.customers.sync import CREATED, REFUSED, Outcome, details, store_customer
from ivr.db.models import Customer
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.web.current_hotline import hotline

bp = Blueprint("customers_api", __name__, url_prefix="/api/customers")

SYNC = ("admin", "supervisor")
MAX_BATCH = 1000
Answer = tuple[Response, int]


def register(app: Flask) -> None:
    """Add the API to the app; it takes bearer tokens, so it is exempt from the pages' CSRF check."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.put("/<account>")
@role_required(*SYNC, token=True)
def put(account: str) -> Answer:
    """Create or update one account from the body; 201 created, 200 updated or unchanged, 409 refused."""
    body = _body()
    if body.get("account") not in (None, account):
        raise RecordRefused("account", f"the body says {body['account']!r} but the address says {account!r}")
    record = record_from(_fields({**body, "account": account}))
    with unit_of_work(hotline().sessions) as session:
        outcome = store_customer(session, record, who=_who())
        if outcome.result == REFUSED:
            return jsonify(error=outcome.why, account=outcome.account, result=REFUSED), 409
        customer = session.get(Customer, outcome.customer_id)
        assert customer is not None  # just stored
        stored = details(session, customer)
        answer = {"result": outcome.result, "changed": list(outcome.changed), "customer": stored}
    return jsonify(answer), 201 if outcome.result == CREATED else 200


@bp.post("/batch")
@role_required(*SYNC, token=True)
def batch() -> Answer:
    """Many accounts: {"customers": [{...}, ...]}; a result per item, each item all or nothing."""
    items = _body().get("customers")
    if not isinstance(items, list):
        raise RecordRefused("customers", 'send {"customers": [...]}, a list of customer objects')
    if len(items) > MAX_BATCH:
        raise RecordRefused("customers", f"at most {MAX_BATCH} per batch (got {len(items)})")
    results = []
    with unit_of_work(hotline().sessions) as session:
        for index, item in enumerate(items):
            results.append({"index": index, **_item_result(session, item)})
    totals = {result: sum(1 for r in results if r["result"] == result) for result in _RESULTS}
    return jsonify(results=results, **totals), 200


@bp.get("/<account>")
@role_required(*SYNC, token=True)
def read(account: str) -> Answer:
    """One account as stored: 404 when there is none."""
    checked = checked_account(account)
    with hotline().sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.account_number == checked))
        if customer is None:
            return jsonify(error=f"no customer with account {checked!r}"), 404
        return jsonify(customer=details(session, customer)), 200


_RESULTS = ("created", "updated", "unchanged", "refused")


def _item_result(session: Session, item: object) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"account": None, "result": REFUSED, "error": "each item must be an object"}
    try:
        record = record_from(_fields(item))
    except RecordRefused as refused:
        account = item.get("account")
        return {"account": account, "result": REFUSED, "error": str(refused), "field": refused.field}
    outcome: Outcome = store_customer(session, record, who=_who())
    result: dict[str, Any] = {"account": outcome.account, "result": outcome.result}
    if outcome.why:
        result["error"] = outcome.why
    if outcome.changed:
        result["changed"] = list(outcome.changed)
    return result


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's fields under the record's names ("class" is the CSV's name of customer_class)."""
    known = {"account", "name", "numbers", "address", "district", "customer_class", "class", "language"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise RecordRefused(unknown[0], f"unknown field; the fields are {', '.join(sorted(known))}")
    fields = dict(body)
    if "class" in fields:
        fields["customer_class"] = fields.pop("class")
    return fields


def _who() -> str:
    return f"api:{person().username}"


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise RecordRefused("body", "send a JSON object, as application/json")
    return body


@bp.errorhandler(RecordRefused)
def _refused(error: RecordRefused) -> Answer:
    return jsonify(error=str(error), field=error.field), 422


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Answer:
    return jsonify(error=str(error.description)), error.code or 500
