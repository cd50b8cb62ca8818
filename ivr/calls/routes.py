"""The `voice` blueprint: every Twilio webhook under /voice, with the signature check and the rescue handler.

Built by the app factory from the webhook tables of each domain (this package's, the survey's), so a
route exists because it is listed, not because a module was imported.
"""

from __future__ import annotations

from flask import Blueprint

from ivr.calls import connect, phone_views, rescue_views, views, work_order_calls
from ivr.calls.webhook import Webhooks, only_signed_posts


def voice_blueprint(*more: Webhooks) -> Blueprint:
    """The calls' webhooks (menu, queue, agents, rescue, click-to-call) and `more` of other domains."""
    # The name "voice" is part of the contract: endpoints (voice.wait, ...) and the webhook database budget
    # (ivr/db/deadline.py) depend on it.
    blueprint = Blueprint("voice", __name__, url_prefix="/voice")
    blueprint.before_request(only_signed_posts)
    webhooks = (views, connect, rescue_views, work_order_calls, phone_views)
    for table in (*(module.WEBHOOKS for module in webhooks), *more):
        for path, view in table:
            blueprint.add_url_rule(path, view_func=view, methods=["POST"])
    blueprint.register_error_handler(Exception, rescue_views.any_failure)
    blueprint.record_once(rescue_views.prepare)
    return blueprint
