"""The spoken notice the duty engineer hears when a safety work order passes its deadline (escalation.py).

On the `voice` blueprint (ivr/app.py), so the same Twilio signature check applies; the work order's number
travels in the signed URL. Whatever fails, the engineer still hears the general notice (valid TwiML).
"""

from __future__ import annotations

import logging

from flask import Response, request
from sqlalchemy import select
from twilio.twiml.voice_response import VoiceResponse

from ivr.db.models import WorkOrder
from ivr.web.current_hotline import hotline
from ivr.work_orders.escalation import NOTICE_PATH

log = logging.getLogger(__name__)



def duty_notice() -> Response:
    """Tell the duty engineer which safety work order is late and where, then hang up."""
    h = hotline()
    language = h.settings.default_language
    key, values = "duty_notice_general", {}
    try:
        number = request.args.get("o", "")[:20]
        with h.sessions() as session:
            order = session.scalar(select(WorkOrder).where(WorkOrder.number == number)) if number else None
            if order is not None:
                # Digit by digit: a text-to-speech voice reads 1000001 as a million and one.
                key = "duty_notice"
                values = {"number": " ".join(order.number), "address": order.address or "-"}
    except Exception:
        log.exception("duty notice for %r: the work order could not be read", request.args.get("o"))
    response = VoiceResponse()
    catalogue = h.voice.catalogues[language]
    text = catalogue.render(key, values).text
    voice = h.settings.voices.get(language, catalogue.voice)
    say_language = h.settings.say_languages.get(language, catalogue.say_language)
    response.say(text, voice=voice, language=say_language)
    response.hangup()
    return Response(str(response), content_type="text/xml; charset=utf-8")


WEBHOOKS = ((NOTICE_PATH, duty_notice),)  # on the voice blueprint (ivr/app.py): signed POSTs only
