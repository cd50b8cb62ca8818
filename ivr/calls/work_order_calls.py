"""Webhooks of a work order's click-to-call (ivr/work_orders/click_to_call.py).

The user answered their phone, so dial the customer; the dial ended; the call's status. Each status is kept
with the work order.

On the `voice` blueprint (ivr/calls/routes.py), so the same signature check and rescue handler apply.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, request
from twilio.twiml.voice_response import Dial, VoiceResponse

from ivr.calls import twiml
from ivr.calls.flow import Said
from ivr.calls.inputs import whole_number
from ivr.calls.menu_actions import spell
from ivr.calls.webhook import Webhooks, language_arg, xml
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.web.current_hotline import hotline
from ivr.work_orders import click_to_call

CUSTOMER_RING_SECONDS = 30


def user_answered() -> Response:
    """The user picked up: tell them which order, then dial the customer with the hotline's number."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    number, call_sid = request.args.get("o", "")[:20], request.form.get("CallSid", "")[:64]

    def read() -> str | None:
        with h.sessions() as session:
            found = click_to_call.placed_call(session, number=number, call_sid=call_sid)
            return found[1] if found else None

    customer = bounded(read)
    if not customer:  # not a call this order placed: say nothing that could reach a stranger
        return xml(twiml.speak_and_hang_up(h.voice, [Said("work_order_call_unknown", language)]))
    response = VoiceResponse()
    h.voice.add(response, [Said("work_order_call_connecting", language, (("number", spell(number)),))])
    base = h.settings.public_base_url or request.host_url.rstrip("/")
    query = urlencode({"o": number, "l": language})
    dial = Dial(
        action=f"{base}{click_to_call.CUSTOMER_LEG_PATH}?{query}",
        method="POST",
        timeout=CUSTOMER_RING_SECONDS,
        caller_id=h.settings.hotline_number,  # the customer sees the hotline, not the user's own phone
    )
    dial.number(customer)
    response.append(dial)
    return xml(response)


def customer_dialled() -> Response:
    """The dial to the customer ended: keep how it went; tell the user if the customer did not answer."""
    h = hotline()
    language = language_arg(h, request.args.get("l"))
    status = request.form.get("DialCallStatus", "")
    _record("customer", status, request.form.get("DialCallDuration"))
    if status == "completed":
        response = VoiceResponse()
        response.hangup()
        return xml(response)
    return xml(twiml.speak_and_hang_up(h.voice, [Said("work_order_call_no_answer", language)]))


def call_status() -> Response:
    """The click-to-call's status callback: its status is kept with the order."""
    _record("user", request.form.get("CallStatus", ""), request.form.get("CallDuration"))
    return xml(VoiceResponse())


def _record(leg: str, status: str, duration: str | None) -> None:
    h = hotline()
    number, call_sid = request.args.get("o", "")[:20], request.form.get("CallSid", "")[:64]
    seconds = whole_number(duration, 0)

    def write() -> None:
        with unit_of_work(h.sessions) as session:
            click_to_call.record_call_status(
                session, number=number, call_sid=call_sid, leg=leg, status=status, duration=seconds
            )

    if status:
        bounded(write)


WEBHOOKS: Webhooks = (
    (click_to_call.USER_LEG_PATH.removeprefix("/voice"), user_answered),
    (click_to_call.CUSTOMER_LEG_PATH.removeprefix("/voice"), customer_dialled),
    (click_to_call.STATUS_PATH.removeprefix("/voice"), call_status),
)
