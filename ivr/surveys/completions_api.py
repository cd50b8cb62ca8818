"""The completions API (JSON, bearer tokens): the utility's other systems report completed field work.

Admin and supervisor tokens may post (give the sending system its own supervisor user). docs/callbacks.md."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ivr.db.models import utcnow
from ivr.people.auth import role_required
from ivr.surveys.completions import InvalidCompletion, NewCompletion, parse_completion, store_completions
from ivr.surveys.policy_store import live_policy
from ivr.web.current_hotline import hotline

bp = Blueprint("completions_api", __name__, url_prefix="/api")
MAX_ITEMS = 1000  # per request

Answer = tuple[Response, int]


def register(app: Flask) -> None:
    """Add the API to the app; it takes bearer tokens, so it is exempt from the pages' CSRF check."""
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)
    app.register_blueprint(bp)


@bp.post("/completions")
@role_required("admin", "supervisor", token=True)
def post_completions() -> Answer:
    """One completion object or a list of them. All or nothing: any invalid item -> 400, nothing stored,
    every problem of every item listed. Already known (same external_id) -> skipped, not an error."""
    body = request.get_json(silent=True)
    if body is None:
        return _error(400, "send a JSON object or a list of objects, as application/json")
    items: list[Any] = body if isinstance(body, list) else [body]
    if not items:
        return _error(400, "the list is empty: send at least one completion")
    if len(items) > MAX_ITEMS:
        return _error(400, f"at most {MAX_ITEMS} completions per request (got {len(items)})")
    with hotline().sessions() as session:
        service_types = set(live_policy(session).shares)
        now = utcnow()
        good: list[NewCompletion] = []
        rejected = []
        for index, item in enumerate(items):
            try:
                good.append(parse_completion(item, service_types, now))
            except InvalidCompletion as invalid:
                external_id = item.get("external_id") if isinstance(item, dict) else None
                rejected.append({"index": index, "external_id": external_id, "problems": invalid.problems})
        if rejected:
            message = f"{len(rejected)} of {len(items)} completion(s) rejected; nothing was stored"
            return jsonify(error=message, rejected=rejected), 400
        try:
            result = store_completions(session, good)
            stored = [{"external_id": row.external_id, "id": row.id} for row in result.stored]
            session.commit()
        except IntegrityError:  # another request stored one of these meanwhile
            session.rollback()
            return _error(409, "some of these completions were stored meanwhile; send the request again")
    skipped = [{"external_id": external_id, "reason": "duplicate"} for external_id in result.duplicates]
    return jsonify(stored=stored, skipped=skipped), 201 if stored else 200


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Answer:
    return _error(error.code or 500, str(error.description))


def _error(code: int, message: str) -> Answer:
    return jsonify(error=message), code
