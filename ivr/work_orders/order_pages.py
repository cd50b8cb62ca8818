"""A work order's page (/work-orders/<number>) and the forms that move the order on.

The page shows its fields, customer, calls, due times and history; the forms move it on through the use cases
(accept, hand over, note, field result, answer, close, reopen) and click-to-call. A refused change shows its
message (4xx) and writes nothing. See docs/work-orders.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.telephony.base import TelephonyError
from ivr.web.current_hotline import hotline
from ivr.work_orders import cases, click_to_call
from ivr.work_orders.cases import Actor, InvalidInput, WorkOrderNotFound
from ivr.work_orders.deadline_versions import live_deadlines
from ivr.work_orders.desk_pages import ACTORS, READERS, now, refuse
from ivr.work_orders.desk_queue import urgency
from ivr.work_orders.lifecycle import TransitionRefused
from ivr.work_orders.order_record import order_record
from ivr.work_orders.page_labels import PAGE_LABELS

bp = Blueprint("order_pages", __name__, template_folder="templates")
bp.context_processor(lambda: PAGE_LABELS)

AUDITORS = ("quality", "supervisor", "admin")  # who opens a call's audit record (ivr/quality/pages.py)
Page = str | tuple[str, int]
Change = Callable[[Session, str, Actor], Any]


@bp.get("/work-orders/<number>")
@role_required(*READERS)
def order(number: str) -> Page:
    """The work order, its customer, calls, due times and history; its forms for the roles that act."""
    return _page(number)


@bp.post("/work-orders/<number>/accept")
@role_required(*ACTORS)
def accept(number: str) -> Response | Page:
    """The user accepts the hand-over and becomes the owner."""
    return _change(number, "已接单 / Accepted", lambda s, n, a: cases.accept(s, number=n, actor=a, now=now()))


@bp.post("/work-orders/<number>/hand-over")
@role_required(*ACTORS)
def hand_over(number: str) -> Response | Page:
    """Hand the order to a desk of the deadline rules, with a reason."""
    desk, reason = _field("desk"), _field("reason")

    def change(session: Session, number: str, actor: Actor) -> Any:
        return cases.hand_over(session, number=number, desk=desk, reason=reason, actor=actor, now=now())

    return _change(number, f"已转派 / Handed over to {desk}", change)


@bp.post("/work-orders/<number>/note")
@role_required(*ACTORS)
def note(number: str) -> Response | Page:
    """Add a note to the history."""
    text = _field("note")
    return _change(
        number,
        "已添加备注 / Note added",
        lambda s, n, a: cases.add_note(s, number=n, note=text, actor=a, now=now()),
    )


@bp.post("/work-orders/<number>/field-result")
@role_required(*ACTORS)
def field_result(number: str) -> Response | Page:
    """Record what the field crew (or the desk) did: the order is handled."""
    result = _field("result")
    return _change(
        number,
        "已记录处理结果 / Field result recorded",
        lambda s, n, a: cases.record_field_result(s, number=n, result=result, actor=a, now=now()),
    )


@bp.post("/work-orders/<number>/answer")
@role_required(*ACTORS)
def answer(number: str) -> Response | Page:
    """Record the answer given to the customer and by which channel."""
    channel, text = _field("channel"), _field("answer")
    return _change(
        number,
        "已记录答复 / Answer recorded",
        lambda s, n, a: cases.record_answer(s, number=n, channel=channel, answer=text, actor=a, now=now()),
    )


@bp.post("/work-orders/<number>/close")
@role_required(*ACTORS)
def close(number: str) -> Response | Page:
    """Close an answered order."""
    reason = _field("reason")
    return _change(
        number, "已关闭 / Closed", lambda s, n, a: cases.close(s, number=n, actor=a, reason=reason, now=now())
    )


@bp.post("/work-orders/<number>/reopen")
@role_required(*ACTORS)
def reopen(number: str) -> Response | Page:
    """Reopen an answered or closed order, saying why."""
    reason = _field("reason")
    return _change(
        number,
        "已重开 / Reopened",
        lambda s, n, a: cases.reopen(s, number=n, actor=a, reason=reason, now=now()),
    )


@bp.post("/work-orders/<number>/call")
@role_required(*ACTORS)
def call_customer(number: str) -> Response | Page:
    """Click-to-call: ring the user's phone, then the customer; the call is kept with the order."""
    h = hotline()
    telephony = h.telephony
    base = h.settings.public_base_url or request.host_url.rstrip("/")

    def change(session: Session, number: str, actor: Actor) -> Any:
        if telephony is None:
            raise TelephonyError("no telephony is configured (IVR_TELEPHONY)")
        return click_to_call.place_answer_call(
            session,
            number=number,
            actor=actor,
            telephony=telephony,
            base_url=base,
            from_number=h.settings.hotline_number,
            language=h.settings.default_language,
            now=now(),
        )

    return _change(
        number,
        "正在呼叫您的电话，接听后将接通客户 / Your phone rings; answer it to reach the customer",
        change,
    )


def _change(number: str, done: str, change: Change) -> Response | Page:
    """Run one use case in one transaction; a refusal shows the page with its message, nothing written."""
    who = person()
    actor = Actor(who.username, who.id)
    try:
        with unit_of_work(hotline().sessions) as session:
            change(session, number, actor)
    except WorkOrderNotFound:
        refuse(404, f"没有这个工单 / There is no work order {number}")
    except TransitionRefused as refused:  # also a closed order edited
        return _page(number, str(refused), 409)
    except InvalidInput as invalid:
        return _page(number, str(invalid), 422)
    except TelephonyError as failed:
        return _page(number, f"电话未能拨出 / The call could not be placed: {failed}", 503)
    flash(done, "info")
    return redirect(url_for("order_pages.order", number=number))


def _page(number: str, problem: str = "", code: int = 200) -> Page:
    with hotline().sessions() as session:
        record = order_record(session, number)
        if record is None:
            refuse(404, f"没有这个工单 / There is no work order {number}")
        desks = list(live_deadlines(session).desks)
        user_phone = click_to_call.phone_of_user(session, person().id)
        page = render_template(
            "work_orders/order.html",
            record=record,
            desks=desks,
            problem=problem,
            now=now(),
            urgency=urgency(record.order.due_at, record.order.warn_at, now()),
            can_act=person().role in ACTORS,
            can_open_audit=person().role in AUDITORS,
            user_phone=user_phone,
            no_phone=click_to_call.NO_PHONE,
            channels=cases.ANSWER_CHANNELS,
        )
    return (page, code) if code != 200 else page


def _field(name: str) -> str:
    return request.form.get(name, "").strip()
