"""Every page and JSON API blueprint of every domain registered on the app, with login, CSRF and headers."""

from __future__ import annotations

from functools import partial

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from ivr.people.login_limits import init_login_limits
from ivr.people.secret import KeyOnFirstUse, secret_key_from_env
from ivr.web.labels import (
    DISPOSITION_OUTCOMES,
    INTENTS,
    LANGUAGES,
    ROLE_LABELS,
    STAGE_LABELS,
    STATE_LABELS,
    WORK_CLASS_LABELS,
    WORK_ORDER_KINDS,
    WORK_ORDER_STATUSES,
    label,
    local_time,
)
from ivr.web.security_headers import init_security

# Paths that never use the login session, so never need the secret key.
_SESSIONLESS = ("/voice/", "/api/", "/health")
# Twilio's webhooks get Flask's null session: nothing to open or save on the busiest path.
_NO_SESSION = ("/voice/",)


def init_pages(app: Flask) -> None:
    """Register every domain's pages and JSON API on `app`, with login, CSRF and security headers."""
    from ivr.people import pages, user_pages, users_api
    from ivr.people.auth import init_login
    from ivr.quality.pages import bp as quality_bp
    from ivr.quality.playback import bp as recordings_bp
    from ivr.quality.report_pages import bp as reports_bp
    from ivr.queueing import agent_api as api
    from ivr.queueing import agent_page
    from ivr.surveys.report_pages import bp as satisfaction_bp

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
    from ivr.web.layout import bp as layout_bp

    app.register_blueprint(layout_bp)  # the base template and /admin/static
    app.register_blueprint(pages.bp)
    app.register_blueprint(user_pages.bp)  # add and change users, one-time password links (docs/users.md)
    users_api.register(app)  # the same for the staff system, with an admin's token (docs/users.md)
    app.register_blueprint(agent_page.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(quality_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(satisfaction_bp)  # satisfaction report, follow-ups (docs/satisfaction-report.md)
    app.register_blueprint(recordings_bp)  # playback of call recordings (docs/recordings.md)
    from ivr.configuration.announcement_pages import bp as announcements_bp  # docs/console-announcements.md
    from ivr.queueing.storm_pages import bp as storm_bp

    app.register_blueprint(announcements_bp)
    app.register_blueprint(storm_bp)  # the storm card and switch on the announcements page
    from ivr.queueing.floor_pages import (
        bp as floor_bp,  # live board, history, staffing (docs/console-floor.md)
    )

    app.register_blueprint(floor_bp)
    from ivr.queueing.wallboard_pages import bp as wallboard_bp  # docs/console-floor.md, "Wallboard"

    app.register_blueprint(wallboard_bp)
    from ivr.configuration.editor_pages import (
        bp as editor_bp,  # menu and rules editors (docs/console-editor.md)
    )

    app.register_blueprint(editor_bp)
    from ivr.calls.trial_call_views import bp as trial_call_bp  # the menu draft's test call

    app.register_blueprint(trial_call_bp)
    from ivr.surveys.settings_pages import bp as callback_settings_bp  # docs/callbacks.md

    app.register_blueprint(callback_settings_bp)
    from ivr.surveys.job_pages import bp as callback_jobs_bp  # docs/callbacks.md, "The jobs page"

    app.register_blueprint(callback_jobs_bp)
    from ivr.surveys.completions_api import register as register_completions_api  # docs/callbacks.md

    register_completions_api(app)
    from ivr.work_orders.api import register as register_work_orders_api  # docs/work-orders.md

    register_work_orders_api(app)
    from ivr.work_orders.export_pages import bp as exports_bp  # docs/work-orders.md, "Export"

    app.register_blueprint(exports_bp)
    from ivr.work_orders.search_pages import bp as search_bp  # docs/work-orders.md, "The agent's side"

    app.register_blueprint(search_bp)
    from ivr.work_orders.deadline_pages import bp as deadlines_bp  # docs/work-orders.md, "Deadline rules"

    app.register_blueprint(deadlines_bp)
    from ivr.work_orders import desk_pages, order_pages  # docs/work-orders.md, "The desks' pages"

    app.register_blueprint(desk_pages.bp)
    app.register_blueprint(order_pages.bp)
    from ivr.customers import api as customers_api  # docs/customers.md
    from ivr.customers import pages as customer_pages

    app.register_blueprint(customer_pages.bp)
    customers_api.register(app)
    from ivr.queueing import agent_roster_api, agent_roster_pages  # docs/agents.md (the roster)

    app.register_blueprint(agent_roster_pages.bp)
    agent_roster_api.register(app)
    from ivr.home.pages import bp as home_bp  # each role's home (docs/users.md, "Home")

    app.register_blueprint(home_bp)
    from ivr.web.navigation import navigation  # the bar on every page (docs/users.md, "Navigation")

    app.jinja_env.globals.update(
        navigation=navigation,
        label=label,
        DISPOSITION_OUTCOMES=DISPOSITION_OUTCOMES,
        STAGE_LABELS=STAGE_LABELS,
        WORK_CLASS_LABELS=WORK_CLASS_LABELS,
        INTENTS=INTENTS,
        LANGUAGES=LANGUAGES,
        ROLE_LABELS=ROLE_LABELS,
        STATE_LABELS=STATE_LABELS,
        WORK_ORDER_KINDS=WORK_ORDER_KINDS,
        WORK_ORDER_STATUSES=WORK_ORDER_STATUSES,
    )
    timezone = app.extensions["hotline"].settings.local_timezone
    app.jinja_env.filters["local_time"] = partial(local_time, timezone=timezone)


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    message = (
        "表单已过期或来自别处，请刷新页面再试 / The form expired or came from elsewhere: reload and retry"
    )
    return render_template("admin/error.html", title="400", message=message, detail=error.description), 400
