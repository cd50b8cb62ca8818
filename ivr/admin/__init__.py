"""Web pages and JSON API for people: login, roles, the agent page, the agent API."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from ivr.admin.labels import (
    INTENTS,
    LANGUAGES,
    ROLE_LABELS,
    STATE_LABELS,
    WORK_ORDER_KINDS,
    WORK_ORDER_STATUSES,
    label,
    local_time,
)
from ivr.admin.login_limits import init_login_limits
from ivr.admin.secret import KeyOnFirstUse, secret_key_from_env
from ivr.admin.security import init_security

# Paths that never use the login session, so never need the secret key.
_SESSIONLESS = ("/voice/", "/api/", "/health")
# Twilio's webhooks get Flask's null session: nothing to open or save on the busiest path.
_NO_SESSION = ("/voice/",)


def init_admin(app: Flask) -> None:
    """Register login, the agent page and the agent API on `app`."""
    from ivr.admin import agent_page, api, pages
    from ivr.admin.auth import init_login
    from ivr.admin.quality import bp as quality_bp
    from ivr.admin.reports import bp as reports_bp
    from ivr.admin.satisfaction import bp as satisfaction_bp
    from ivr.web.recordings import bp as recordings_bp

    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or secret_key_from_env()
    app.session_interface = KeyOnFirstUse(_SESSIONLESS, _NO_SESSION)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Login cookies travel only over https once the site is served over https.
    https = app.extensions["hotline"].settings.public_base_url.startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https

    csrf = CSRFProtect(app)
    # Twilio's webhooks are signature-checked and the API takes bearer tokens: neither has a CSRF token.
    csrf.exempt(app.blueprints["voice"])
    csrf.exempt(api.bp)
    app.register_error_handler(CSRFError, _csrf_refused)

    init_login(app)
    settings = app.extensions["hotline"].settings
    init_security(app, settings)  # headers on every page, the idle timeout (docs/users.md)
    init_login_limits(app, settings)  # lock-out after failed logins, by account and by address
    app.register_blueprint(pages.bp)
    app.register_blueprint(agent_page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(quality_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(satisfaction_bp)  # satisfaction report, follow-ups (docs/satisfaction-report.md)
    app.register_blueprint(recordings_bp)  # playback of call recordings (docs/recordings.md)
    from ivr.admin.announcements import bp as announcements_bp  # docs/console-announcements.md

    app.register_blueprint(announcements_bp)
    from ivr.admin.floor import bp as floor_bp  # live board, history, staffing (docs/console-floor.md)

    app.register_blueprint(floor_bp)
    from ivr.admin.editor import bp as editor_bp  # menu and rules editors (docs/console-editor.md)

    app.register_blueprint(editor_bp)
    from ivr.admin.callback_settings import bp as callback_settings_bp  # docs/callbacks.md

    app.register_blueprint(callback_settings_bp)
    from ivr.admin.completions_api import register as register_completions_api  # docs/callbacks.md

    register_completions_api(app)
    app.jinja_env.globals.update(
        label=label,
        INTENTS=INTENTS,
        LANGUAGES=LANGUAGES,
        ROLE_LABELS=ROLE_LABELS,
        STATE_LABELS=STATE_LABELS,
        WORK_ORDER_KINDS=WORK_ORDER_KINDS,
        WORK_ORDER_STATUSES=WORK_ORDER_STATUSES,
    )
    timezone = app.extensions["hotline"].settings.local_timezone
    app.jinja_env.filters["local_time"] = lambda value: local_time(value, timezone)


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    message = (
        "表单已过期或来自别处，请刷新页面再试 / The form expired or came from elsewhere: reload and retry"
    )
    return render_template("admin/error.html", title="400", message=message, detail=error.description), 400
