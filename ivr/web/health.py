"""Health check for load balancers and operators: database reachable, spool backlog."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from ivr.hotline import hotline

bp = Blueprint("health", __name__)


@bp.get("/health")
def health() -> tuple[Response, int]:
    """200 when the database answers; 503 (still listing the spool backlog) when it does not."""
    h = hotline()
    try:
        with h.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:
        database = f"unavailable: {type(error).__name__}"
    spooled = len(h.spool.pending())
    code = 200 if database == "ok" else 503
    return jsonify(database=database, spooled_events=spooled), code
