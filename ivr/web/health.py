"""Health check for load balancers and operators: database reachable in time, spool backlog."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from ivr.db.deadline import bounded
from ivr.web.current_hotline import hotline

bp = Blueprint("health", __name__)

HEALTH_DATABASE_SECONDS = 1.0  # a database slower than this to answer SELECT 1 would fail the webhooks too


@bp.get("/health")
def health() -> tuple[Response, int]:
    """200 when the database answers within a second; 503 (still listing the spool backlog) when not."""
    h = hotline()
    engine = h.engine

    def ping() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        bounded(ping, budget=HEALTH_DATABASE_SECONDS)
        database = "ok"
    except Exception as error:
        database = f"unavailable: {type(error).__name__}"
    try:
        spooled: int | str = len(h.spool.pending())
    except OSError as error:  # an unreadable spool directory is worth a 503 too
        spooled = f"unreadable: {type(error).__name__}"
    code = 200 if database == "ok" and isinstance(spooled, int) else 503
    return jsonify(database=database, spooled_events=spooled), code
