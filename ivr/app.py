"""The Flask application factory: extensions, blueprints, error handlers. No I/O at import or build."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import StatementError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.calls.overload import ShedDocuments, ShedOverload
from ivr.config import Settings, development_token_problems, load_settings
from ivr.db.deadline import begin_webhook, end_webhook
from ivr.hotline import Hotline
from ivr.web.errors import (
    BoundedIntConverter,
    number_out_of_range,
    plain_http_error,
    refuse_json_that_is_not_an_object,
)


def create_app(settings: Settings | None = None, hotline: Hotline | None = None) -> Flask:
    """Build the hotline web app from settings (default: the environment)."""
    settings = settings or (hotline.settings if hotline else load_settings())
    problems = development_token_problems(settings)
    if problems:  # gunicorn's workers build the app here: refusing stops them before they answer anyone
        raise UnsafeSettings("refusing to start: " + "; ".join(problems))
    app = Flask(__name__)
    # Before any route is added: every <int:> of every blueprint is bounded (a huge id is a 404).
    app.url_map.converters["int"] = BoundedIntConverter
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_request_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["hotline"] = hotline or Hotline.build(settings)
    # Past a worker's capacity, new calls and queue waits get a safe answer at once (docs/operations.md,
    # "Overload"); inside ProxyFix, so a shed answer's URLs use the host the caller's request came to.
    app.wsgi_app = _shedding(app.wsgi_app, app.extensions["hotline"])  # type: ignore[method-assign]
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    from ivr.calls.routes import voice_blueprint
    from ivr.surveys import survey_views
    from ivr.web.health import bp as health_bp
    from ivr.work_orders import duty_notice_views

    # every Twilio webhook, under /voice
    app.register_blueprint(voice_blueprint(survey_views.WEBHOOKS, duty_notice_views.WEBHOOKS))
    app.register_blueprint(health_bp)

    from ivr.page_registration import init_pages

    init_pages(app)

    app.register_error_handler(HTTPException, plain_http_error)
    # Pages and the API: a number too large for the database is the request's fault (webhooks keep
    # their own handler, which answers the caller).
    app.register_error_handler(OverflowError, number_out_of_range)
    app.register_error_handler(StatementError, number_out_of_range)
    app.before_request(_json_body_guard)
    app.before_request(_begin_webhook)
    app.teardown_request(_end_webhook)

    @app.errorhandler(500)
    def _server_error(error: Exception) -> tuple[Response, int]:
        return jsonify(error="internal error; the event is logged"), 500

    return app


class UnsafeSettings(RuntimeError):
    """Settings the app refuses to serve with; the message names the setting."""


def _shedding(wsgi_app: Any, hotline: Hotline) -> ShedOverload:
    settings = hotline.settings
    documents = ShedDocuments(
        hotline.voice, settings.public_base_url, settings.default_language, settings.queue_announce_seconds
    )
    # Half the threads beyond the limit may wait for a place; the other half answer the excess at once.
    waiting = max(0, settings.web_threads - settings.web_max_in_flight) // 2
    limit, admit_wait = settings.web_max_in_flight, settings.web_admit_wait
    return ShedOverload(wsgi_app, documents, limit, settings.web_max_request_age, admit_wait, waiting)


def _begin_webhook() -> None:
    # The voice webhooks' database work shares one budget (ivr/db/deadline.py); pages and the API do not.
    if request.blueprint == "voice":
        begin_webhook(current_app.extensions["hotline"].settings.webhook_db_budget)


def _end_webhook(_error: BaseException | None) -> None:
    end_webhook()


def _json_body_guard() -> Response | None:
    if request.path.startswith("/voice/"):  # Twilio posts forms; its webhooks answer every input
        return None
    return refuse_json_that_is_not_an_object()
