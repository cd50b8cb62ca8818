"""The wallboard: a page for a wall screen, and the supervisors' form for the limits that colour it.

The page is full-screen (1920x1080), with its JSON, refreshed by wallboard.js. See docs/console-floor.md,
"Wallboard"."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse

from ivr.db.models import utcnow
from ivr.db.session import unit_of_work
from ivr.people.auth import person, role_required
from ivr.queueing.agent_states import STATES
from ivr.queueing.board import queue_names
from ivr.queueing.floor_pages import QUEUE_LABELS
from ivr.queueing.wallboard import wallboard
from ivr.queueing.wallboard_levels import ALL_QUEUES, BUILT_IN, FIELD_WORDS, LIMIT_FIELDS, limits_for
from ivr.queueing.wallboard_thresholds import ThresholdsRefused, save_limits, stored_limits
from ivr.web.current_hotline import hotline
from ivr.web.labels import STATE_LABELS, label

bp = Blueprint("wallboard", __name__, template_folder="templates")

WALL_ROLES = ("admin", "supervisor", "shift_lead")  # who runs the floor watches the wall
LIMIT_ROLES = ("admin", "supervisor")  # who sets the limits that colour it

LIMIT_LABELS = {
    "waiting_amber": "等待 ≥ 黄 / Waiting ≥ amber",
    "waiting_red": "等待 ≥ 红 / Waiting ≥ red",
    "longest_wait_amber": "最长等待 ≥ 黄（秒）/ Longest wait ≥ amber (s)",
    "longest_wait_red": "最长等待 ≥ 红（秒）/ Longest wait ≥ red (s)",
    "service_level_amber": "服务水平 < 黄（%）/ Service level < amber (%)",
    "service_level_red": "服务水平 < 红（%）/ Service level < red (%)",
}
Typed = dict[str, dict[str, str]]  # the form's fields as typed, per scope
MAX_LIMIT = 100_000  # no queue waits a day; a larger number is a typing slip
_CONFLICT = "另一位主管同时保存了阈值，请重新保存 / someone else saved limits at the same moment: save again"


def _wallboard() -> dict[str, Any]:
    h = hotline()
    with h.sessions() as session, session.begin():
        board = wallboard(session, rules=h.rules.live(), timezone=h.settings.local_timezone, now=utcnow())
    return board.as_json()


@bp.get("/wallboard")
@role_required(*WALL_ROLES)
def page() -> str:
    """The wall screen: no navigation, very large figures, redrawn from /wallboard/data every 3 s."""
    return render_template(
        "wallboard/wallboard.html",
        data=_wallboard(),
        labels={"queues": QUEUE_LABELS, "states": {s: label(STATE_LABELS, s) for s in STATES}},
    )


@bp.get("/wallboard/data")
@role_required(*WALL_ROLES)
def data() -> Response:
    """The wallboard's figures and levels as JSON (what wallboard.js polls)."""
    response = jsonify(_wallboard())
    response.headers["Cache-Control"] = "no-store"
    return response


def _queues(stored: dict[str, Any]) -> list[str]:
    """The live rules' queues, then any queue that still has limits stored (a group since removed)."""
    return queue_names(hotline().rules.live(), (scope for scope in stored if scope != ALL_QUEUES))


def _scope_label(scope: str) -> str:
    return "全部队列（默认）/ Every queue (default)" if scope == ALL_QUEUES else label(QUEUE_LABELS, scope)


def _thresholds_page(given: Typed | None = None, problems: list[str] | None = None) -> str:
    with hotline().sessions() as session:
        stored = stored_limits(session)
    queues = _queues(stored)
    shown = given or {
        scope: {name: "" if values.get(name) is None else str(values[name]) for name in LIMIT_FIELDS}
        for scope, values in stored.items()
    }
    return render_template(
        "wallboard/thresholds.html",
        scopes=[ALL_QUEUES, *queues],
        queue_label=_scope_label,
        fields=LIMIT_FIELDS,
        field_labels=LIMIT_LABELS,
        shown=shown,
        effective={scope: limits_for(scope, stored) for scope in [ALL_QUEUES, *queues]},
        built_in=BUILT_IN,
        problems=problems or [],
    )


@bp.get("/wallboard/thresholds")
@role_required(*LIMIT_ROLES)
def thresholds() -> str:
    """The limits per queue (an empty field takes every queue's limit, or the built-in one)."""
    return _thresholds_page()


def _read_form() -> tuple[Typed, dict[str, dict[str, int | None]], list[str]]:
    """The posted fields as typed (to show them again) and as numbers, with what could not be read."""
    with hotline().sessions() as session:
        scopes = [ALL_QUEUES, *_queues(stored_limits(session))]
    typed: Typed = {}
    numbers: dict[str, dict[str, int | None]] = {}
    problems = []
    for scope in scopes:
        typed[scope], numbers[scope] = {}, {}
        for name in LIMIT_FIELDS:
            text = request.form.get(f"{scope}.{name}", "").strip()
            typed[scope][name] = text
            if not text:
                numbers[scope][name] = None
            elif text.isdigit() and int(text) <= MAX_LIMIT:
                numbers[scope][name] = int(text)
            else:
                numbers[scope][name] = None
                problems.append(
                    f"{_scope_label(scope)} · {FIELD_WORDS[name]}: {text!r} 不是整数 / is not a whole number"
                    f" from 0 to {MAX_LIMIT}"
                )
    return typed, numbers, problems


@bp.post("/wallboard/thresholds")
@role_required(*LIMIT_ROLES)
def save_thresholds() -> BaseResponse | tuple[str, int]:
    """Save the limits; refused with every problem listed (nothing saved) if any queue's would be unusable."""
    typed, numbers, problems = _read_form()
    if problems:
        return _thresholds_page(typed, problems), 400
    try:
        with unit_of_work(hotline().sessions) as session:
            changed = save_limits(
                session, given=numbers, queues=[s for s in numbers if s != ALL_QUEUES], by=person().username
            )
    except ThresholdsRefused as refused:
        return _thresholds_page(typed, refused.problems), 400
    except IntegrityError:  # another supervisor stored the same queue's first limits at the same moment
        return _thresholds_page(typed, [_CONFLICT]), 409
    if changed:
        flash(f"已保存 / Saved: {', '.join(changed)}", "ok")
    else:
        flash("没有改动 / Nothing changed", "ok")
    return redirect(url_for("wallboard.thresholds"))
