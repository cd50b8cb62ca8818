"""Baseline WSGI apps served like the hotline, to put its webhook figures in proportion."""

# bare:     Flask answering every POST with a fixed TwiML document.
# sign+row: the same, plus the X-Twilio-Signature check and one SQLite row per request, own transaction.
# Both read their settings from the environment, as the hotline does, so gunicorn builds them by factory:
# gunicorn 'bench.baselines:bare_app()'  /  gunicorn 'bench.baselines:sign_row_app()'

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, Response, abort, request
from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, create_engine, event
from twilio.request_validator import RequestValidator

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>hello</Say></Response>'
TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"

metadata = MetaData()
hits = Table(
    "bench_hits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("call_sid", String(64), nullable=False),
    Column("path", String(200), nullable=False),
    Column("at", DateTime, nullable=False),
)


def _twiml() -> Response:
    return Response(TWIML, content_type=TWIML_CONTENT_TYPE)


def bare_app() -> Flask:
    """Fixed TwiML for a POST to any path: the floor cost of Flask behind gunicorn."""
    app = Flask("bench_bare")

    @app.post("/", defaults={"_path": ""})
    @app.post("/<path:_path>")
    def answer(_path: str) -> Response:
        return _twiml()

    return app


def row_engine(url: str) -> Engine:
    """A SQLite engine with the same pragmas the hotline uses (WAL, synchronous=NORMAL)."""
    engine = create_engine(url, connect_args={"timeout": 5, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def prepare_row_db(url: str) -> None:
    """Create the one table before the workers start, so they never race to create it."""
    engine = row_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def sign_row_app() -> Flask:
    """Check the signature as the hotline does, insert one row, answer fixed TwiML."""
    token = os.environ["TWILIO_AUTH_TOKEN"]
    base = os.environ["IVR_PUBLIC_BASE_URL"].rstrip("/")
    engine = row_engine(os.environ["BENCH_ROW_DB_URL"])
    validator = RequestValidator(token)
    app = Flask("bench_sign_row")

    @app.post("/", defaults={"_path": ""})
    @app.post("/<path:_path>")
    def answer(_path: str) -> Response:
        query = request.query_string.decode("latin-1")
        url = base + request.path + (f"?{query}" if query else "")
        form = request.form.to_dict()
        if not validator.validate(url, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        with engine.begin() as connection:  # one transaction per request, like one webhook's events
            row = {
                "call_sid": form.get("CallSid", "")[:64],
                "path": request.path[:200],
                "at": datetime.now(UTC).replace(tzinfo=None),
            }
            connection.execute(hits.insert().values(**row))
        return _twiml()

    return app
