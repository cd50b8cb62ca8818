"""The webhooks a terminal phone (`run.py call --url`) uses to attach its simulator to this server."""

from __future__ import annotations

from flask import Response, request

from ivr.calls.webhook import Webhooks
from ivr.telephony.attached import Attachment
from ivr.telephony.factory import phone_attachments
from ivr.web.current_hotline import hotline


def attach_phone() -> Response:
    """Take REST redirects for the phone's calls to its simulator (signed like a webhook; simulator mode)."""
    return _change(attach=True)


def detach_phone() -> Response:
    """The phone hung up its last call: forget it."""
    return _change(attach=False)


def _change(*, attach: bool) -> Response:
    settings = hotline().settings
    if settings.telephony != "simulator":
        message = "this server talks to Twilio (IVR_TELEPHONY=twilio): no simulator can attach"
        return Response(message, status=404, mimetype="text/plain")
    if not settings.simulator_phones:
        message = "this server takes no terminal phones: start it with IVR_SIMULATOR_PHONES=1 (make run does)"
        return Response(message, status=404, mimetype="text/plain")
    attachment = Attachment(request.form.get("ApiBaseUrl", ""), request.form.get("AccountSid", ""))
    attachments = phone_attachments(settings)
    try:
        if attach:
            attachments.attach(attachment)
        else:
            attachments.detach(attachment)
    except ValueError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    return Response(status=204)


WEBHOOKS: Webhooks = (
    ("/simulator/attach", attach_phone),
    ("/simulator/detach", detach_phone),
)
